"""One environment: the only place that knows every component and wires their typed outputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s

from components.dynamo.component import DynamoGraph
from components.etcd.component import EtcdCluster
from components.gpu_platform.component import GpuPlatform
from components.ingress.component import LoadBalancerController
from components.ingress.settings import ClusterOnly, GatewayRoute, LoadBalancer, kind_of
from components.namespaces.component import Namespaces
from components.nats.component import NatsJetStream
from components.nodes.component import GpuNodePool
from components.observability.component import Observability
from components.observability.receivers import ReceiverKind
from stacks.config.stack import StackConfig
from stacks.outputs import (
    ETCD_CLUSTER,
    NATS_RELEASE,
    DynamoOutputs,
    EtcdOutputs,
    FrontendOutputs,
    NamespaceOutputs,
    NatsOutputs,
    NodePoolOutputs,
    ObservabilityOutputs,
    StackOutputs,
)
from stacks.program.dynamo import Dynamo, build_dynamo
from stacks.program.providers import aws_provider, kubernetes_provider

if TYPE_CHECKING:
    import pulumi_aws as aws

Text = pulumi.Input[str]


@dataclass(frozen=True)
class Environment:
    config: StackConfig
    provider: k8s.Provider
    namespaces: Namespaces
    nats: NatsJetStream | None
    etcd: EtcdCluster | None
    observability: Observability | None
    aws_provider: aws.Provider | None
    node_pools: tuple[GpuNodePool, ...]
    gpu_platform: GpuPlatform | None
    dynamo: Dynamo

    def outputs(self) -> StackOutputs[Text]:
        """The stack outputs `verify` and operators read."""
        obs, nats, etcd = self.observability, self.nats, self.etcd
        return StackOutputs(
            environment=self.config.environment,
            kubernetes_context=self.config.kubernetes.context,
            namespaces=NamespaceOutputs(platform=self.namespaces.platform, monitoring=self.namespaces.monitoring,
                                        workloads=self.namespaces.workloads),
            observability=None if obs is None else ObservabilityOutputs(
                prometheus_url=obs.prometheus_url, alertmanager_url=obs.alertmanager_url,
                otlp_grpc_endpoint=obs.otlp_grpc_endpoint, otlp_http_endpoint=obs.otlp_http_endpoint,
                grafana_service=obs.grafana_service, grafana_url=obs.grafana_url,
                grafana_admin_secret=obs.grafana_admin_secret, loki_url=obs.loki_url),
            node_pools={pool.shape.name: NodePoolOutputs(
                node_selector=dict(pool.shape.node_selector), gpus_per_node=pool.shape.gpus_per_node,
                gpu_model=pool.shape.gpu_model, max_nodes=pool.shape.max_nodes,
                efa_interfaces=pool.shape.efa_interfaces, node_group_name=pool.node_group_name)
                for pool in self.node_pools},
            gpu_operator_namespace=self.gpu_platform.namespace if self.gpu_platform is not None else None,
            nats=None if nats is None else NatsOutputs(
                client_url=nats.client_url, auth_secret_name=nats.auth_secret_name, namespace=nats.namespace,
                service=nats.release_name, replicas=nats.replicas, max_payload=nats.max_payload,
                verify_secret_name=nats.verify_secret_name),
            etcd=None if etcd is None else EtcdOutputs(
                client_endpoints=etcd.client_endpoints, namespace=etcd.namespace, members=tuple(etcd.members),
                replicas=etcd.replicas, client_secret_name=etcd.client_secret_name),
            dynamo=DynamoOutputs(
                version=self.config.dynamo.release.version,
                discovery=self.config.transport.discovery,
                event_plane=self.config.transport.event_plane,
                request_plane=self.config.transport.request_plane,
                operator_release=self.dynamo.operator.release_name,
                operator_namespace=self.dynamo.operator.namespace,
                graphs={g.spec.name: g.name_output for g in self.dynamo.graphs},
                graph_namespace=self.namespaces.workloads,
                frontends={g.spec.name: frontend_outputs(g, self.config.namespaces.workloads)
                           for g in self.dynamo.graphs}),
        )


def frontend_outputs(graph: DynamoGraph, namespace: str) -> FrontendOutputs[Text]:
    """Where a graph's frontend answers: in the cluster, and through its endpoint."""
    spec = graph.spec
    endpoint = spec.endpoint
    balancer = graph.load_balancer_hostname
    external: Text | None = None
    match endpoint:
        case ClusterOnly():
            pass
        case LoadBalancer(hostname=hostname):
            external = (f"https://{hostname}" if hostname
                        else balancer.apply(lambda name: f"https://{name}") if balancer is not None else None)
        case GatewayRoute(hostname=hostname):
            external = f"https://{hostname}"
    return FrontendOutputs(url=spec.frontend_url(namespace), model=spec.served_model_name,
                           endpoint=kind_of(endpoint), external_url=external, load_balancer=balancer)


def receiver_credentials(config: StackConfig) -> dict[ReceiverKind, pulumi.Output[str]]:
    """The Alertmanager receivers' credentials, as secret outputs (none while Alertmanager is off)."""
    obs = config.observability
    if obs is None or not obs.alertmanager.enabled:
        return {}
    return {kind: pulumi.Output.secret(value.value) for kind, value in config.receiver_secrets.items()}


def build_environment(config: StackConfig) -> Environment:
    provider = kubernetes_provider(config)
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
    namespaces = Namespaces("namespaces", config.namespaces, on_cluster, retain=config.retain_data,
                            efa_workers=bool(config.efa_graphs))
    observability = (Observability("observability", config.observability, namespaces.monitoring, on_cluster,
                                   receiver_credentials=receiver_credentials(config),
                                   client_namespaces=[namespaces.platform, namespaces.workloads])
                     if config.observability is not None else None)
    clients = [namespaces.platform, namespaces.workloads]
    nats = None if config.nats is None else NatsJetStream(
        NATS_RELEASE, config.nats, namespace=namespaces.platform, client_namespaces=clients,
        monitoring=observability, opts=on_cluster)
    etcd = None if config.etcd is None else EtcdCluster(
        ETCD_CLUSTER, config.etcd, namespace=namespaces.platform, client_namespaces=clients,
        monitoring=observability, opts=on_cluster)
    on_aws = aws_provider(config) if config.uses_aws else None
    pools = tuple(
        GpuNodePool(pool.name, pool, pulumi.ResourceOptions(
            providers={"aws": on_aws} if pool.on_aws and on_aws is not None else None))
        for pool in config.node_pools)
    gpu_platform = None
    if config.gpu_platform is not None:
        gpu_platform = GpuPlatform("gpu-platform", config.gpu_platform, pools=[p.shape for p in pools],
                                   monitoring=observability, opts=on_cluster)
    controller = None
    if config.load_balancer is not None and config.load_balancer.install and on_aws is not None:
        controller = LoadBalancerController("load-balancer-controller", config.load_balancer,
                                            aws=pulumi.ResourceOptions(providers={"aws": on_aws}), cluster=on_cluster)
    dynamo = build_dynamo(config, on_cluster, namespaces=namespaces, nats=nats, etcd=etcd,
                          observability=observability, pools=pools, on_aws=on_aws,
                          controller_ready=controller.ready if controller is not None else None)
    return Environment(config=config, provider=provider, namespaces=namespaces, observability=observability,
                       nats=nats, etcd=etcd, aws_provider=on_aws, node_pools=pools, gpu_platform=gpu_platform,
                       dynamo=dynamo)
