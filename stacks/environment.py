"""One environment: the only place that knows every component and wires their typed outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.etcd import EtcdCluster
from components.namespaces import Namespaces
from components.nats import NatsJetStream
from stacks.config import StackConfig


@dataclass(frozen=True)
class Environment:
    config: StackConfig
    provider: k8s.Provider
    namespaces: Namespaces
    nats: NatsJetStream
    etcd: EtcdCluster | None

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
            "nats": {
                "clientUrl": self.nats.client_url,
                "authSecretName": self.nats.auth_secret_name,
                "namespace": self.nats.namespace,
                "service": self.nats.release_name,
                "replicas": self.nats.replicas,
                "maxPayload": self.nats.max_payload,
            },
            "etcd": None if self.etcd is None else {
                "clientEndpoints": self.etcd.client_endpoints,
                "namespace": self.etcd.namespace,
                "members": self.etcd.members,
                "replicas": self.etcd.replicas,
            },
        }


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


def keep_platform_namespace(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Deleting a namespace deletes its PersistentVolumeClaims, and the NATS and etcd data volumes
    are claimed in the platform namespace: when data must survive, `pulumi destroy` (and a
    replacement) leaves that namespace in place (docs/data-safety.md: adopting it again)."""
    metadata = args.props.get("metadata")
    role = metadata.get("labels", {}).get("dynamo-cluster/role") if isinstance(metadata, dict) else None
    if args.type_ != "kubernetes:core/v1:Namespace" or role != "platform":
        return None
    return pulumi.ResourceTransformationResult(
        args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(retain_on_delete=True)))


def build_environment(config: StackConfig) -> Environment:
    provider = kubernetes_provider(config)
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
    keep_data = config.is_prod and not config.allow_data_loss
    namespaces = Namespaces("namespaces", config.namespaces, pulumi.ResourceOptions.merge(
        on_cluster, pulumi.ResourceOptions(transformations=[keep_platform_namespace] if keep_data else [])))
    clients = [namespaces.platform, namespaces.workloads]
    nats = NatsJetStream("nats", config.nats, namespace=namespaces.platform, client_namespaces=clients,
                         monitoring=None, opts=on_cluster)
    etcd = None if config.etcd is None else EtcdCluster(
        "etcd", config.etcd, namespace=namespaces.platform, client_namespaces=clients, monitoring=None, opts=on_cluster)
    return Environment(config=config, provider=provider, namespaces=namespaces, nats=nats, etcd=etcd)
