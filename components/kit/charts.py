"""Every Helm chart the project installs, pinned to one version in one repository.

A chart version changes here (the tested default) or in stack config (each section's ``*Version``
key); either way `pulumi preview` shows the release's version change. Where each pin was read:
shared/reference/charts/SOURCES.txt of the repository that steers this project, and the notes in
docs/decisions.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChartRef:
    """A chart pinned to one version in one repository (an HTTP index or an ``oci://`` registry)."""

    name: str
    version: str
    repository: str

    def __post_init__(self) -> None:
        if not self.version or self.version in ("latest", "*"):
            raise ValueError(f"chart {self.name}: a release needs a pinned version, got {self.version!r}")

    @property
    def oci(self) -> bool:
        return self.repository.startswith("oci://")


# NATS JetStream: the official chart of nats-io/k8s.
NATS = ChartRef("nats", "2.14.2", "https://nats-io.github.io/k8s/helm/charts/")
# Prometheus, Alertmanager, Grafana and the Prometheus operator.
KUBE_PROMETHEUS_STACK = ChartRef("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")
# Single-binary Tempo (the chart moved to grafana-community in 2026).
TEMPO = ChartRef("tempo", "2.2.4", "https://grafana-community.github.io/helm-charts")
# The OpenTelemetry collector (open-telemetry/opentelemetry-helm-charts): OTLP in from Dynamo, traces
# out to Tempo and logs out to Loki.
OPENTELEMETRY_COLLECTOR = ChartRef("opentelemetry-collector", "0.170.0",
                                   "https://open-telemetry.github.io/opentelemetry-helm-charts")
# Loki, run as one binary (the OSS chart moved to grafana-community in 2026, like Tempo's).
LOKI = ChartRef("loki", "18.11.0", "https://grafana-community.github.io/helm-charts")
# NVIDIA's GPU operator (device plugin, DCGM exporter, feature discovery).
GPU_OPERATOR = ChartRef("gpu-operator", "v26.7.0", "https://helm.ngc.nvidia.com/nvidia")
# The AWS EFA device plugin.
EFA_DEVICE_PLUGIN = ChartRef("aws-efa-k8s-device-plugin", "v0.5.30", "https://aws.github.io/eks-charts")
# The AWS Load Balancer Controller (aws/eks-charts stable/aws-load-balancer-controller, chart 3.5.0 =
# controller v3.5.0, August 2026): turns the graphs' Ingresses into Application Load Balancers.
AWS_LOAD_BALANCER_CONTROLLER = ChartRef("aws-load-balancer-controller", "3.5.0", "https://aws.github.io/eks-charts")
# NVIDIA's dynamo-platform chart (the operator), one pin per Dynamo release this project deploys;
# `components/dynamo/releases.py` holds the rest of what differs between those releases.
DYNAMO_PLATFORM_REPOSITORY = "https://helm.ngc.nvidia.com/nvidia/ai-dynamo"
DYNAMO_PLATFORM = {version: ChartRef("dynamo-platform", version, DYNAMO_PLATFORM_REPOSITORY)
                   for version in ("1.4.2", "1.5.0", "1.5.1", "1.6.1")}
