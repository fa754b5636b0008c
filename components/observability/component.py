"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), single-binary Tempo,
the project's dashboards and alert rules.

Satisfies `components.kit.monitoring.Monitoring`: components that publish metrics take this object
and make their ServiceMonitors, PodMonitors and PrometheusRules depend on `crds_ready`.

Ordering: the Grafana admin Secret comes before the kube-prometheus-stack release that names it;
Tempo and the PrometheusRule wait for that release (they need its monitoring CRDs); the dashboard
ConfigMaps wait for nothing but the namespace (Grafana's sidecar picks them up whenever it runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_random

from components.kit.helm import helm_release
from components.kit.kube import KubeObject
from components.observability import values as v
from components.observability.alert_rules import prometheus_rule
from components.observability.dashboards import build_dashboards, dashboard_configmap
from components.observability.network import prometheus_policy, tempo_policy
from components.observability.values import (
    ObservabilitySettings,
    cluster_url,
    grafana_admin_secret,
)

TYPE = "dynamo-cluster:components:Observability"


class Observability(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana and Tempo in `namespace`, with dashboards and rules."""

    namespace: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    otlp_grpc_endpoint: pulumi.Output[str]
    otlp_http_endpoint: pulumi.Output[str]
    grafana_service: pulumi.Output[str]
    grafana_url: pulumi.Output[str]

    def __init__(self, name: str, settings: ObservabilitySettings, namespace: pulumi.Output[str],
                 opts: pulumi.ResourceOptions, *, client_namespaces: Sequence[pulumi.Input[str]] = ()) -> None:
        """`client_namespaces`: where the pods that query Prometheus or send traces to Tempo run."""
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.settings = settings

        password = pulumi_random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=child)
        secret = KubeObject(f"{name}-grafana-admin",
                            grafana_admin_secret(settings.grafana_admin_user, password.result, namespace), child)

        stack = helm_release(
            f"{name}-kube-prometheus-stack", chart=settings.kube_prometheus_stack_chart,
            release_name="kube-prometheus-stack",
            namespace=namespace, timeout_seconds=900, opts=child,
            values=v.kube_prometheus_stack_values(
                prometheus=settings.prometheus, alertmanager=settings.alertmanager, grafana=settings.grafana,
                admin_secret=secret.name, managed_control_plane=settings.managed_control_plane,
                gpu_pool_label=settings.observed.gpu_pool_label, namespace=namespace,
                remote_write_receiver=settings.tempo.metrics_generator))
        self._crds_ready: pulumi.Resource = stack
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[stack])

        helm_release(f"{name}-tempo", chart=settings.tempo_chart, release_name="tempo", namespace=namespace,
                     opts=after_crds,
                     values=v.tempo_values(settings.tempo, settings.prometheus.replicas))
        KubeObject(f"{name}-alert-rules", prometheus_rule(settings.observed, settings.thresholds, namespace),
                   after_crds)
        KubeObject(f"{name}-prometheus-ingress", prometheus_policy(namespace, client_namespaces), child)
        KubeObject(f"{name}-tempo-ingress", tempo_policy(namespace, client_namespaces), child)
        for dashboard in build_dashboards(settings.observed, settings.thresholds):
            KubeObject(f"{name}-dashboard-{dashboard.uid}", dashboard_configmap(dashboard, namespace), child)

        self.namespace = namespace
        self.prometheus_url = namespace.apply(lambda ns: cluster_url(v.PROMETHEUS_SERVICE, ns, v.PROMETHEUS_PORT))
        self.otlp_grpc_endpoint = namespace.apply(lambda ns: cluster_url(v.TEMPO_SERVICE, ns, v.OTLP_GRPC_PORT))
        self.otlp_http_endpoint = namespace.apply(lambda ns: cluster_url(v.TEMPO_SERVICE, ns, v.OTLP_HTTP_PORT))
        self.grafana_service = namespace.apply(lambda _: v.GRAFANA_SERVICE)
        self.grafana_url = namespace.apply(lambda ns: cluster_url(v.GRAFANA_SERVICE, ns, v.GRAFANA_PORT))
        self.register_outputs({
            "namespace": self.namespace,
            "prometheusUrl": self.prometheus_url,
            "otlpGrpcEndpoint": self.otlp_grpc_endpoint,
            "otlpHttpEndpoint": self.otlp_http_endpoint,
            "grafanaService": self.grafana_service,
            "grafanaUrl": self.grafana_url,
        })

    @property
    def crds_ready(self) -> pulumi.Resource:
        """The kube-prometheus-stack release: once it is ready, the monitoring.coreos.com CRDs exist."""
        return self._crds_ready

    @property
    def prometheus_pod_labels(self) -> Mapping[str, str]:
        return dict(v.PROMETHEUS_POD_LABELS)
