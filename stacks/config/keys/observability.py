"""The ``observability`` keys: Prometheus, Alertmanager and its receivers, Grafana, Tempo, Loki, the
OpenTelemetry collector and the alert thresholds; and the three receivers' secret keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.kit.charts import KUBE_PROMETHEUS_STACK, LOKI, OPENTELEMETRY_COLLECTOR, TEMPO
from components.observability.loki import INDEX_PERIOD_HOURS
from components.observability.receivers import SEVERITIES, ReceiverKind
from stacks.config.keys.common import NO_LIMIT, chart_version, resources, storage
from stacks.config.schema import Fixed, Flag, Free, Integer, Key, PerEnv, StringList, Text, Unset

# Prometheus accepts y, w, d, h, m, s, ms; Tempo's block retention is a Go duration (no days).
PROMETHEUS_DURATION = r"^[1-9][0-9]*(ms|s|m|h|d|w|y)$"
GO_HOURS = r"^[1-9][0-9]*(m|h)$"
# A Kubernetes label key: an optional DNS-subdomain prefix and a name of at most 63 characters.
LABEL_KEY = Text(
    "label key",
    r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$",
    "a Kubernetes label key such as dynamo-cluster/pool",
)
LOKI_RETENTION_ALLOWED = f"whole days in hours, at least {INDEX_PERIOD_HOURS}h, such as 24h, 168h or 720h"
SLACK_CHANNEL_PATTERN = r"^[#@][^\s]{1,80}$"
SEVERITY_LIST = StringList("list of " + ", ".join(f"`{s}`" for s in SEVERITIES))
SEVERITIES_ALLOWED = "a non-empty list of " + ", ".join(SEVERITIES) + ", each once"

ENABLED = Key(
    "observability.enabled",
    Flag(),
    Fixed(True),
    "`false`",
    "Installs the stack. When false, no monitoring objects are created and components create no "
    "ServiceMonitors or PodMonitors.",
)
PERSISTENCE = Key(
    "observability.persistence",
    Flag(),
    PerEnv(lambda d: d.observability.persistence),
    "`true`",
    "Keeps Prometheus, Alertmanager, Grafana, Tempo and Loki data on persistent volumes.",
)
MANAGED_CONTROL_PLANE = Key(
    "observability.managedControlPlane",
    Flag(),
    PerEnv(lambda d: d.observability.managed_control_plane),
    "`true`",
    "The control plane is managed (EKS): the controller-manager, scheduler, etcd and kube-proxy "
    "scrapers and their default rules are turned off, since their metrics cannot be reached.",
)
GPU_POOL_LABEL = Key(
    "observability.gpuPoolLabel",
    LABEL_KEY,
    Fixed("dynamo-cluster/pool"),
    "`eks.amazonaws.com/nodegroup`",
    "The node label whose value names a GPU node's pool; kube-state-metrics exports it so the GPU "
    "dashboard can group per pool. Must match the label the node pools carry.",
)
PROMETHEUS_RETENTION = Key(
    "observability.prometheus.retention",
    Text("duration", PROMETHEUS_DURATION, "a Prometheus duration such as 2d, 15d or 12h"),
    PerEnv(lambda d: d.observability.prometheus_retention),
    "`30d`",
    "How long Prometheus keeps samples (Prometheus units: s, m, h, d, w, y). With persistence, data "
    "also ages out at 85% of the volume.",
)
PROMETHEUS_REPLICAS = Key(
    "observability.prometheus.replicas",
    Integer(1, 3),
    PerEnv(lambda d: d.observability.prometheus_replicas),
    "`2`",
    "Prometheus servers; each scrapes every target and keeps a full copy.",
)
ALERTMANAGER_ENABLED = Key(
    "observability.alertmanager.enabled",
    Flag(),
    Fixed(True),
    "`false`",
    "Runs Alertmanager. Without a receiver (below) alerts are only shown, and the plan warns.",
)
ALERTMANAGER_REPLICAS = Key(
    "observability.alertmanager.replicas",
    Integer(1, 5),
    PerEnv(lambda d: d.observability.alertmanager_replicas),
    "`3`",
    "Alertmanager replicas; they form one cluster and deduplicate notifications.",
)
SLACK_SEVERITIES = Key(
    "observability.alertmanager.receivers.slack.severities",
    SEVERITY_LIST,
    Fixed(["critical", "warning"]),
    "`[critical]`",
    "The alert severities sent to Slack. The Slack receiver is on exactly when `slackWebhookUrl` is "
    "set; this section without that secret is an error.",
)
SLACK_CHANNEL = Key(
    "observability.alertmanager.receivers.slack.channel",
    Text("Slack channel", SLACK_CHANNEL_PATTERN, "a Slack channel such as #alerts, or @user"),
    Unset("the webhook's own channel"),
    '`"#dynamo-alerts"`',
    "The channel (`#name`) or user (`@name`) to post to.",
)
PAGERDUTY_SEVERITIES = Key(
    "observability.alertmanager.receivers.pagerduty.severities",
    SEVERITY_LIST,
    Fixed(["critical"]),
    "`[critical, warning]`",
    "The alert severities sent to PagerDuty (Events API v2). On exactly when `pagerdutyRoutingKey` is set.",
)
WEBHOOK_SEVERITIES = Key(
    "observability.alertmanager.receivers.webhook.severities",
    SEVERITY_LIST,
    Fixed(["critical", "warning"]),
    "`[critical]`",
    "The alert severities posted to the generic webhook (Alertmanager's webhook payload). On exactly "
    "when `alertWebhookUrl` is set.",
)
SLACK_WEBHOOK_URL = Key(
    "slackWebhookUrl",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:slackWebhookUrl https://hooks.slack.com/services/...`",
    "Slack incoming-webhook URL of the Slack receiver. Kept in the Secret `alertmanager-receivers` of"
    " the monitoring namespace, mounted into Alertmanager and read from a file; never in Helm values "
    "or the Alertmanager configuration. Refused when stored in plain text.",
    secret=True,
)
PAGERDUTY_ROUTING_KEY = Key(
    "pagerdutyRoutingKey",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:pagerdutyRoutingKey ...`",
    "PagerDuty Events API v2 routing (integration) key of the PagerDuty receiver; kept like `slackWebhookUrl`.",
    secret=True,
)
ALERT_WEBHOOK_URL = Key(
    "alertWebhookUrl",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:alertWebhookUrl https://...`",
    "URL the generic webhook receiver posts alerts to (it may carry a token); kept like `slackWebhookUrl`.",
    secret=True,
)
GRAFANA_ADMIN_USER = Key(
    "observability.grafana.adminUser",
    Text("string", r"^[A-Za-z0-9_.@-]{1,64}$", "a user name: letters, digits and _ . @ -"),
    Fixed("admin"),
    "`platform-admin`",
    "Grafana's admin user. Its password is generated (pulumi-random), kept in the Secret "
    "`grafana-admin` of the monitoring namespace and never in values or state in plain text: `kubectl"
    " -n monitoring get secret grafana-admin -o jsonpath='{.data.admin-password}' \\| base64 -d`.",
)
TEMPO_RETENTION = Key(
    "observability.tempo.retention",
    Text("hours or minutes", GO_HOURS, "hours or minutes such as 24h or 336h (Tempo takes no days)"),
    PerEnv(lambda d: d.observability.tempo_retention),
    "`720h`",
    "How long Tempo keeps traces (a Go duration: no days).",
)
TEMPO_METRICS_GENERATOR = Key(
    "observability.tempo.metricsGenerator",
    Flag(),
    Fixed(False),
    "`true`",
    "Tempo's metrics generator: span metrics and the service graph (Grafana's trace-to-metrics links "
    "and service map) written into Prometheus, which then turns on its remote-write receiver. Off, "
    "Prometheus accepts no pushed samples.",
)
LOKI_RETENTION = Key(
    "observability.loki.retention",
    Text("whole days, in hours", r"^[1-9][0-9]*h$", LOKI_RETENTION_ALLOWED),
    PerEnv(lambda d: d.observability.loki_retention),
    "`720h`",
    "How long Loki keeps log lines: a multiple of 24h (Loki's index period), at least 24h.",
)
COLLECTOR_REPLICAS = Key(
    "observability.collector.replicas",
    Integer(1, 5),
    PerEnv(lambda d: d.observability.collector_replicas),
    "`3`",
    "OpenTelemetry collector replicas behind one Service; with more than one, a PodDisruptionBudget keeps one running.",
)
TTFT_P95 = Key(
    "observability.alerts.ttftP95Milliseconds",
    Integer(10, 600_000),
    Fixed(2000),
    "`800`",
    "The frontend's time-to-first-token SLO: the alert fires when the p95 per model stays above it "
    "for 10 minutes; the frontend dashboard draws it.",
)
ERROR_RATE = Key(
    "observability.alerts.errorRatePercent",
    Integer(1, 100),
    Fixed(5),
    "`1`",
    "The share of failed frontend requests per model, in percent, above which the error-rate alert "
    "fires (after 10 minutes).",
)
GPU_TEMPERATURE = Key(
    "observability.alerts.gpuTemperatureCelsius",
    Integer(50, 110),
    Fixed(85),
    "`80`",
    "GPU temperature above which the temperature alert fires (after 5 minutes).",
)


PROMETHEUS_RESOURCES = resources(
    "observability.prometheus.resources",
    cpu=PerEnv(lambda d: d.observability.prometheus_resources.cpu),
    memory=PerEnv(lambda d: d.observability.prometheus_resources.memory),
    cpu_limit=PerEnv(lambda d: d.observability.prometheus_resources.cpu_limit),
    examples=("`2`", "`16Gi`", "`4`"),
    docs=(
        "CPU request of each Prometheus server.",
        "Memory request and limit of each Prometheus server; grows with the number of series.",
        "CPU limit of each Prometheus server (unset: no limit).",
    ),
)
PROMETHEUS_STORAGE = storage(
    "observability.prometheus.storage",
    size=PerEnv(lambda d: d.observability.prometheus_size),
    minimum="5Gi",
    examples=("`gp3`", "`500Gi`"),
    docs=("StorageClass of each Prometheus volume.", "Size of each Prometheus volume."),
)
ALERTMANAGER_RESOURCES = resources(
    "observability.alertmanager.resources",
    cpu=Fixed("50m"),
    memory=Fixed("128Mi"),
    cpu_limit=NO_LIMIT,
    examples=("`100m`", "`256Mi`", "`500m`"),
    docs=(
        "CPU request of each Alertmanager.",
        "Memory request and limit of each Alertmanager.",
        "CPU limit of each Alertmanager.",
    ),
)
ALERTMANAGER_STORAGE = storage(
    "observability.alertmanager.storage",
    size=Fixed("2Gi"),
    minimum="1Gi",
    examples=("`gp3`", "`5Gi`"),
    docs=(
        "StorageClass of the Alertmanager volumes (silences and notification state).",
        "Size of each Alertmanager volume.",
    ),
)
GRAFANA_RESOURCES = resources(
    "observability.grafana.resources",
    cpu=Fixed("100m"),
    memory=Fixed("512Mi"),
    cpu_limit=NO_LIMIT,
    examples=("`250m`", "`1Gi`", "`1`"),
    docs=("CPU request of Grafana.", "Memory request and limit of Grafana.", "CPU limit of Grafana."),
)
GRAFANA_STORAGE = storage(
    "observability.grafana.storage",
    size=Fixed("10Gi"),
    minimum="1Gi",
    examples=("`gp3`", "`20Gi`"),
    docs=(
        "StorageClass of Grafana's volume.",
        "Size of Grafana's volume (dashboards are provisioned from ConfigMaps; the volume keeps users' own changes).",
    ),
)
TEMPO_RESOURCES = resources(
    "observability.tempo.resources",
    cpu=PerEnv(lambda d: d.observability.tempo_resources.cpu),
    memory=PerEnv(lambda d: d.observability.tempo_resources.memory),
    cpu_limit=PerEnv(lambda d: d.observability.tempo_resources.cpu_limit),
    examples=("`1`", "`8Gi`", "`4`"),
    docs=("CPU request of Tempo.", "Memory request and limit of Tempo.", "CPU limit of Tempo."),
)
TEMPO_STORAGE = storage(
    "observability.tempo.storage",
    size=PerEnv(lambda d: d.observability.tempo_size),
    minimum="1Gi",
    examples=("`gp3`", "`200Gi`"),
    docs=("StorageClass of Tempo's trace volume.", "Size of Tempo's trace volume."),
)
LOKI_RESOURCES = resources(
    "observability.loki.resources",
    cpu=PerEnv(lambda d: d.observability.loki_resources.cpu),
    memory=PerEnv(lambda d: d.observability.loki_resources.memory),
    cpu_limit=PerEnv(lambda d: d.observability.loki_resources.cpu_limit),
    examples=("`1`", "`8Gi`", "`4`"),
    docs=("CPU request of Loki.", "Memory request and limit of Loki.", "CPU limit of Loki."),
)
LOKI_STORAGE = storage(
    "observability.loki.storage",
    size=PerEnv(lambda d: d.observability.loki_size),
    minimum="1Gi",
    examples=("`gp3`", "`500Gi`"),
    docs=("StorageClass of Loki's volume (chunks, index, compactor).", "Size of Loki's volume."),
)
COLLECTOR_RESOURCES = resources(
    "observability.collector.resources",
    cpu=PerEnv(lambda d: d.observability.collector_resources.cpu),
    memory=PerEnv(lambda d: d.observability.collector_resources.memory),
    cpu_limit=PerEnv(lambda d: d.observability.collector_resources.cpu_limit),
    examples=("`1`", "`2Gi`", "`2`"),
    docs=(
        "CPU request of each collector.",
        "Memory request and limit of each collector; it refuses data above 80% of it.",
        "CPU limit of each collector.",
    ),
)
KUBE_PROMETHEUS_STACK_VERSION = chart_version(
    "observability.kubePrometheusStackVersion",
    Fixed(KUBE_PROMETHEUS_STACK.version),
    "`88.6.0`",
    'The kube-prometheus-stack chart. Upgrading it needs its CRDs applied first (docs/operations.md, "Upgrade").',
)
TEMPO_VERSION = chart_version(
    "observability.tempoVersion", Fixed(TEMPO.version), "`2.2.5`", "The single-binary Tempo chart (grafana-community)."
)
LOKI_VERSION = chart_version(
    "observability.lokiVersion",
    Fixed(LOKI.version),
    "`18.12.0`",
    "The Loki chart (grafana-community), run as one binary.",
)
COLLECTOR_VERSION = chart_version(
    "observability.collectorVersion",
    Fixed(OPENTELEMETRY_COLLECTOR.version),
    "`0.171.0`",
    "The OpenTelemetry collector chart (open-telemetry). The collector image stays "
    "`otel/opentelemetry-collector-k8s:0.158.0`, the appVersion of the pinned chart.",
)

RECEIVER_SEVERITIES: Mapping[ReceiverKind, Key[list[str]]] = {
    "slack": SLACK_SEVERITIES,
    "pagerduty": PAGERDUTY_SEVERITIES,
    "webhook": WEBHOOK_SEVERITIES,
}
RECEIVER_SECRET_KEYS: Mapping[ReceiverKind, Key[Any]] = {
    "slack": SLACK_WEBHOOK_URL,
    "pagerduty": PAGERDUTY_ROUTING_KEY,
    "webhook": ALERT_WEBHOOK_URL,
}

KEYS: tuple[Key[Any], ...] = (
    ENABLED,
    PERSISTENCE,
    MANAGED_CONTROL_PLANE,
    KUBE_PROMETHEUS_STACK_VERSION,
    TEMPO_VERSION,
    LOKI_VERSION,
    COLLECTOR_VERSION,
    GPU_POOL_LABEL,
    PROMETHEUS_RETENTION,
    PROMETHEUS_REPLICAS,
    *PROMETHEUS_RESOURCES.keys,
    *PROMETHEUS_STORAGE.keys,
    ALERTMANAGER_ENABLED,
    ALERTMANAGER_REPLICAS,
    *ALERTMANAGER_RESOURCES.keys,
    *ALERTMANAGER_STORAGE.keys,
    SLACK_SEVERITIES,
    SLACK_CHANNEL,
    PAGERDUTY_SEVERITIES,
    WEBHOOK_SEVERITIES,
    SLACK_WEBHOOK_URL,
    PAGERDUTY_ROUTING_KEY,
    ALERT_WEBHOOK_URL,
    GRAFANA_ADMIN_USER,
    *GRAFANA_RESOURCES.keys,
    *GRAFANA_STORAGE.keys,
    TEMPO_RETENTION,
    *TEMPO_RESOURCES.keys,
    *TEMPO_STORAGE.keys,
    LOKI_RETENTION,
    *LOKI_RESOURCES.keys,
    *LOKI_STORAGE.keys,
    COLLECTOR_REPLICAS,
    *COLLECTOR_RESOURCES.keys,
    TEMPO_METRICS_GENERATOR,
    TTFT_P95,
    ERROR_RATE,
    GPU_TEMPERATURE,
)
