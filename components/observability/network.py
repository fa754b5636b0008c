"""Ingress NetworkPolicies for Prometheus and Tempo in the monitoring namespace.

Each admits every pod of the monitoring namespace (Grafana queries both, Prometheus scrapes both,
Tempo's metrics generator writes to Prometheus) and, from the namespaces whose pods use them (the
platform and workloads namespaces: the Dynamo operator and planner query Prometheus, Dynamo's pods
send traces to Tempo), only the ports they use. Everything else is refused: Prometheus' HTTP API and
its remote-write endpoint, and Tempo's other receivers (the chart's Jaeger defaults), are not
reachable from other namespaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.kit.kube import labels
from components.kit.netpol import NAMESPACE_NAME_LABEL
from components.kit.ref import Ref
from components.observability.settings import (
    OTLP_GRPC_PORT,
    OTLP_HTTP_PORT,
    PROMETHEUS_POD_LABELS,
    PROMETHEUS_PORT,
    TEMPO_SERVICE,
)

# The Tempo chart's selector labels: app.kubernetes.io/name is the chart's name, instance the release's
# (grafana-community/helm-charts charts/tempo/templates/_helpers.tpl, `tempo.selectorLabels`).
TEMPO_POD_LABELS = {"app.kubernetes.io/name": "tempo", "app.kubernetes.io/instance": TEMPO_SERVICE}


def _policy(name: str, namespace: Ref, pods: Mapping[str, str],
            client_namespaces: Sequence[Ref], client_ports: Sequence[int]) -> dict[str, Any]:
    ingress: list[dict[str, Any]] = [
        {"from": [{"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: namespace}}}]}]
    if client_namespaces:
        ingress.append({
            "from": [{"namespaceSelector": {"matchExpressions": [
                {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(client_namespaces)}]}}],
            "ports": [{"protocol": "TCP", "port": port} for port in client_ports],
        })
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "observability")},
        "spec": {"podSelector": {"matchLabels": dict(pods)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }


def prometheus_policy(namespace: Ref, client_namespaces: Sequence[Ref]) -> dict[str, Any]:
    return _policy("prometheus", namespace, PROMETHEUS_POD_LABELS, client_namespaces, [PROMETHEUS_PORT])


def tempo_policy(namespace: Ref, client_namespaces: Sequence[Ref]) -> dict[str, Any]:
    return _policy("tempo", namespace, TEMPO_POD_LABELS, client_namespaces, [OTLP_GRPC_PORT, OTLP_HTTP_PORT])
