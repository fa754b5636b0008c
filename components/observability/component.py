"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), single-binary Tempo and
Loki, the OpenTelemetry collector in front of them, the project's dashboards and alert rules.

Satisfies `components.register.monitoring.Monitoring`: components that publish metrics take this object
and make their ServiceMonitors, PodMonitors and PrometheusRules depend on `crds_ready`; programs
that send traces and logs point OTLP at `otlp_grpc_endpoint` (the collector).

Ordering: the Grafana admin Secret and the Alertmanager receivers' Secret come before the
kube-prometheus-stack release that names them; Tempo, the collector (its ServiceMonitor) and the
PrometheusRule wait for that release (they need its monitoring CRDs); Loki and the dashboard
ConfigMaps wait for nothing but the namespace (Grafana's sidecar picks the dashboards up whenever it
runs, and the collector retries until Loki answers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_random

from components.observability import collector as otel
from components.observability import loki
from components.observability import settings as s
from components.observability import values as v
from components.observability.alert_rules import prometheus_rule
from components.observability.dashboards import build_dashboards, dashboard_configmap
from components.observability.network import prometheus_policy, tempo_policy
from components.observability.receivers import ReceiverKind, receivers_secret
from components.observability.settings import ObservabilitySettings, cluster_url
from components.observability.values import grafana_admin_secret
from components.register.helm import helm_release
from components.register.kube import KubeObject

TYPE = "dynamo-cluster:components:Observability"


def _check_credentials(settings: ObservabilitySettings, credentials: Mapping[ReceiverKind, object]) -> None:
    wanted = {r.kind for r in settings.alertmanager.receivers} if settings.alertmanager.enabled else set()
    if wanted != set(credentials):
        raise ValueError(f"Alertmanager receivers {sorted(wanted)} need exactly their credentials, "
                         f"got credentials for {sorted(credentials)}")


class Observability(pulumi.ComponentResource):
    """Prometheus, Alertmanager, Grafana, Tempo, Loki and the OpenTelemetry collector in `namespace`,
    with dashboards and rules. `receiver_credentials` holds the secret of each Alertmanager receiver
    the settings name (`pulumi.Output.secret` values)."""

    namespace: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    alertmanager_url: pulumi.Output[str] | None
    otlp_grpc_endpoint: pulumi.Output[str]
    otlp_http_endpoint: pulumi.Output[str]
    grafana_service: pulumi.Output[str]
    grafana_url: pulumi.Output[str]
    grafana_admin_secret: pulumi.Output[str]
    loki_url: pulumi.Output[str]

    def __init__(self, name: str, settings: ObservabilitySettings, namespace: pulumi.Output[str],
                 opts: pulumi.ResourceOptions, *,
                 receiver_credentials: Mapping[ReceiverKind, pulumi.Input[str]] | None = None,
                 client_namespaces: Sequence[pulumi.Input[str]] = ()) -> None:
        """`client_namespaces`: where the pods that query Prometheus or send traces to Tempo run."""
        super().__init__(TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.settings = settings
        credentials = dict(receiver_credentials or {})
        _check_credentials(settings, credentials)

        password = pulumi_random.RandomPassword(f"{name}-grafana-admin", length=32, special=False, opts=child)
        secret = KubeObject(f"{name}-grafana-admin",
                            grafana_admin_secret(settings.grafana_admin_user, password.result, namespace), child)
        receivers = (KubeObject(f"{name}-alertmanager-receivers", receivers_secret(credentials, namespace), child)
                     if credentials else None)

        stack = helm_release(
            f"{name}-kube-prometheus-stack", chart=settings.kube_prometheus_stack_chart,
            release_name="kube-prometheus-stack",
            namespace=namespace, timeout_seconds=900, opts=child,
            values=v.kube_prometheus_stack_values(
                prometheus=settings.prometheus, alertmanager=settings.alertmanager, grafana=settings.grafana,
                admin_secret=secret.name, managed_control_plane=settings.managed_control_plane,
                gpu_pool_label=settings.observed.gpu_pool_label,
                pod_labels=(settings.observed.graph_label, settings.observed.role_label),
                receivers_secret=receivers.name if receivers is not None else None, namespace=namespace,
                remote_write_receiver=settings.tempo.metrics_generator))
        self._crds_ready: pulumi.Resource = stack
        after_crds = pulumi.ResourceOptions(parent=self, depends_on=[stack])

        helm_release(f"{name}-tempo", chart=settings.tempo_chart, release_name="tempo", namespace=namespace,
                     opts=after_crds,
                     values=v.tempo_values(settings.tempo, settings.prometheus.replicas))
        helm_release(f"{name}-loki", chart=settings.loki_chart, release_name="loki", namespace=namespace,
                     opts=child, values=loki.loki_values(settings.loki))
        helm_release(f"{name}-otel-collector", chart=settings.collector_chart, release_name="otel-collector",
                     namespace=namespace, opts=after_crds,
                     values=otel.collector_values(
                         settings.collector, tempo_otlp_grpc=f"{s.TEMPO_SERVICE}:{s.OTLP_GRPC_PORT}",
                         loki_otlp_http=f"http://{loki.LOKI_SERVICE}:{loki.LOKI_HTTP_PORT}{loki.OTLP_PATH}"))
        KubeObject(f"{name}-alert-rules", prometheus_rule(settings.observed, settings.thresholds, namespace),
                   after_crds)
        KubeObject(f"{name}-prometheus-ingress", prometheus_policy(namespace, client_namespaces), child)
        KubeObject(f"{name}-tempo-ingress", tempo_policy(namespace, client_namespaces), child)
        for dashboard in build_dashboards(settings.observed, settings.thresholds):
            KubeObject(f"{name}-dashboard-{dashboard.uid}", dashboard_configmap(dashboard, namespace), child)

        self.namespace = namespace
        self.prometheus_url = namespace.apply(lambda ns: cluster_url(s.PROMETHEUS_SERVICE, ns, s.PROMETHEUS_PORT))
        self.alertmanager_url = (namespace.apply(lambda ns: cluster_url(s.ALERTMANAGER_SERVICE, ns,
                                                                        s.ALERTMANAGER_PORT))
                                 if settings.alertmanager.enabled else None)
        self.otlp_grpc_endpoint = namespace.apply(
            lambda ns: cluster_url(otel.COLLECTOR_SERVICE, ns, otel.OTLP_GRPC_PORT))
        self.otlp_http_endpoint = namespace.apply(
            lambda ns: cluster_url(otel.COLLECTOR_SERVICE, ns, otel.OTLP_HTTP_PORT))
        self.grafana_service = namespace.apply(lambda _: s.GRAFANA_SERVICE)
        self.grafana_url = namespace.apply(lambda ns: cluster_url(s.GRAFANA_SERVICE, ns, s.GRAFANA_PORT))
        self.grafana_admin_secret = secret.name
        self.loki_url = namespace.apply(lambda ns: cluster_url(loki.LOKI_SERVICE, ns, loki.LOKI_HTTP_PORT))
        self.register_outputs({
            "namespace": self.namespace,
            "prometheusUrl": self.prometheus_url,
            "alertmanagerUrl": self.alertmanager_url,
            "otlpGrpcEndpoint": self.otlp_grpc_endpoint,
            "otlpHttpEndpoint": self.otlp_http_endpoint,
            "grafanaService": self.grafana_service,
            "grafanaUrl": self.grafana_url,
            "grafanaAdminSecret": self.grafana_admin_secret,
            "lokiUrl": self.loki_url,
        })

    @property
    def crds_ready(self) -> pulumi.Resource:
        """The kube-prometheus-stack release: once it is ready, the monitoring.coreos.com CRDs exist."""
        return self._crds_ready

    @property
    def prometheus_pod_labels(self) -> Mapping[str, str]:
        return dict(s.PROMETHEUS_POD_LABELS)
