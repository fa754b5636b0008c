"""Ingress NetworkPolicies for the platform's stateful services (NATS, etcd).

Each service admits three kinds of traffic and nothing else: its clients from named namespaces on
the client ports, its own pods on the peer ports (cluster routes, raft), and Prometheus on the
metrics ports. Namespaces are matched by the ``kubernetes.io/metadata.name`` label that the API
server sets on every namespace, so no extra labelling is needed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.kit.kube import labels
from components.kit.ref import Ref

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class ScrapeSource:
    """Where Prometheus runs: its namespace and the labels of its server pods."""

    namespace: Ref
    pod_labels: Mapping[str, str]


@dataclass(frozen=True)
class IngressRules:
    client_ports: Sequence[int]
    client_namespaces: Sequence[Ref]
    peer_ports: Sequence[int] = ()
    metrics_ports: Sequence[int] = ()
    scrapers: ScrapeSource | None = None


def from_namespaces(names: Sequence[Ref]) -> dict[str, Any]:
    """A NetworkPolicy peer: every pod of the namespaces `names`."""
    return {"namespaceSelector": {"matchExpressions": [
        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": list(names)}]}}


def from_scrapers(scrapers: ScrapeSource) -> dict[str, Any]:
    """A NetworkPolicy peer: the Prometheus server pods."""
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: scrapers.namespace}},
            "podSelector": {"matchLabels": dict(scrapers.pod_labels)}}


def _ports(ports: Sequence[int]) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def ingress_policy(name: str, namespace: Ref, pod_labels: Mapping[str, str], component: str,
                   rules: IngressRules) -> dict[str, Any]:
    """A NetworkPolicy that selects `pod_labels` and admits only what `rules` lists."""
    ingress: list[dict[str, Any]] = [{"from": [from_namespaces(rules.client_namespaces)],
                                      "ports": _ports(rules.client_ports)}]
    if rules.peer_ports:
        ingress.append({"from": [{"podSelector": {"matchLabels": dict(pod_labels)}}],
                        "ports": _ports(rules.peer_ports)})
    if rules.scrapers is not None and rules.metrics_ports:
        ingress.append({"from": [from_scrapers(rules.scrapers)], "ports": _ports(rules.metrics_ports)})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, component)},
        "spec": {"podSelector": {"matchLabels": dict(pod_labels)}, "policyTypes": ["Ingress"], "ingress": ingress},
    }
