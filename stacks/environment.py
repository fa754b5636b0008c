"""One environment: the only place that knows every component and wires their typed outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.monitoring import Monitoring
from components.namespaces import Namespaces
from components.observability import Observability
from stacks.config import StackConfig


@dataclass(frozen=True)
class Environment:
    config: StackConfig
    provider: k8s.Provider
    namespaces: Namespaces
    observability: Observability | None

    @property
    def monitoring(self) -> Monitoring | None:
        """What components that publish metrics take (`monitoring=`); None when observability is off."""
        return self.observability

    def outputs(self) -> dict[str, Any]:
        """The stack outputs `verify` and operators read."""
        return {
            "environment": self.config.environment,
            "kubernetesContext": self.config.kubernetes.context,
            "namespaces": {
                "platform": self.namespaces.platform,
                "monitoring": self.namespaces.monitoring,
                "workloads": self.namespaces.workloads,
            },
            **self._observability_outputs(),
        }

    def _observability_outputs(self) -> dict[str, Any]:
        obs = self.observability
        if obs is None:
            return {}
        return {"observability": {"prometheusUrl": obs.prometheus_url, "otlpGrpcEndpoint": obs.otlp_grpc_endpoint,
                                  "otlpHttpEndpoint": obs.otlp_http_endpoint, "grafanaService": obs.grafana_service,
                                  "grafanaUrl": obs.grafana_url}}


def kubernetes_provider(config: StackConfig) -> k8s.Provider:
    """The explicit provider every Kubernetes resource uses; nothing falls back to the ambient
    KUBECONFIG, because the kubeconfig is always given."""
    kube = config.kubernetes
    kubeconfig: pulumi.Input[str]
    if kube.kubeconfig is not None:
        kubeconfig = pulumi.Output.secret(kube.kubeconfig.value)
    else:
        assert kube.kubeconfig_path is not None  # parse_config guarantees one of the two
        kubeconfig = os.path.expanduser(kube.kubeconfig_path)
    return k8s.Provider(
        "kubernetes",
        kubeconfig=kubeconfig,
        context=kube.context,
        enable_server_side_apply=True,
        delete_unreachable=False,
    )


def build_environment(config: StackConfig) -> Environment:
    provider = kubernetes_provider(config)
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
    namespaces = Namespaces("namespaces", config.namespaces, on_cluster, retain=config.retain_data)
    observability = (Observability("observability", config.observability, namespaces.monitoring, on_cluster)
                     if config.observability is not None else None)
    return Environment(config=config, provider=provider, namespaces=namespaces, observability=observability)
