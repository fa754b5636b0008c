"""One environment: the only place that knows every component and wires their typed outputs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.dynamo.dgd import GraphWiring
from components.dynamo.graph import DynamoGraph
from components.dynamo.operator import DynamoOperator, PullSecret
from components.dynamo.operator_values import OperatorWiring
from components.dynamo.storage import ModelStorage
from components.etcd.component import EtcdCluster
from components.kit.monitoring import Monitoring
from components.namespaces import Namespaces
from components.nats.component import NatsJetStream
from components.nodes.gpu_platform import GpuPlatform
from components.nodes.pools import GpuNodePool
from components.observability.component import Observability
from stacks.config import SecretValue, StackConfig

if TYPE_CHECKING:
    import pulumi_aws as aws

# The NATS release (and component) name: its client Secret is `components.nats.values.auth_secret_name` of it.
NATS_RELEASE = "nats"


@dataclass(frozen=True)
class Dynamo:
    """The Dynamo part of an environment: operator, shared storage and the graphs."""

    operator: DynamoOperator
    storage: ModelStorage
    pull_secret: PullSecret | None
    graphs: tuple[DynamoGraph, ...]


@dataclass(frozen=True)
class Environment:
    config: StackConfig
    provider: k8s.Provider
    namespaces: Namespaces
    nats: NatsJetStream
    etcd: EtcdCluster | None
    observability: Observability | None
    aws_provider: aws.Provider | None
    node_pools: tuple[GpuNodePool, ...]
    gpu_platform: GpuPlatform | None
    dynamo: Dynamo

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
            "nodePools": {pool.shape.name: {
                "nodeSelector": pool.node_selector, "gpusPerNode": pool.gpus_per_node,
                "gpuModel": pool.gpu_model, "maxNodes": pool.max_nodes, "efaInterfaces": pool.efa_interfaces,
                "nodeGroupName": pool.node_group_name,
            } for pool in self.node_pools},
            "gpuOperatorNamespace": self.gpu_platform.namespace if self.gpu_platform is not None else None,
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
            "dynamo": {
                "operatorRelease": self.dynamo.operator.release_name,
                "operatorNamespace": self.dynamo.operator.namespace,
                "graphs": {g.spec.name: g.name_output for g in self.dynamo.graphs},
                "graphNamespace": self.namespaces.workloads,
            },
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


def aws_provider(config: StackConfig) -> aws.Provider:
    """The explicit provider every AWS resource uses: region (and profile, and the one account the
    credentials may belong to) from stack config, and tags that name the stack on every resource.
    Imported here: stacks without eks pools do not load the AWS SDK."""
    import pulumi_aws as aws

    settings = config.aws
    return aws.Provider(
        "aws",
        region=settings.region,
        profile=settings.profile,
        allowed_account_ids=[settings.account_id] if settings.account_id else None,
        default_tags={"tags": {"dynamo-cluster:stack": config.stack, "dynamo-cluster:managed-by": "pulumi"}},
    )


def build_environment(config: StackConfig) -> Environment:
    provider = kubernetes_provider(config)
    on_cluster = pulumi.ResourceOptions(providers={"kubernetes": provider})
    namespaces = Namespaces("namespaces", config.namespaces, on_cluster, retain=config.retain_data)
    observability = (Observability("observability", config.observability, namespaces.monitoring, on_cluster)
                     if config.observability is not None else None)
    clients = [namespaces.platform, namespaces.workloads]
    nats = NatsJetStream(NATS_RELEASE, config.nats, namespace=namespaces.platform, client_namespaces=clients,
                         monitoring=observability, opts=on_cluster)
    etcd = None if config.etcd is None else EtcdCluster(
        "etcd", config.etcd, namespace=namespaces.platform, client_namespaces=clients, monitoring=observability,
        opts=on_cluster)
    on_aws = aws_provider(config) if config.uses_aws else None
    pools = tuple(
        GpuNodePool(pool.name, pool, pulumi.ResourceOptions(
            providers={"aws": on_aws} if pool.eks is not None and on_aws is not None else None))
        for pool in config.node_pools)
    gpu_platform = None
    if config.gpu_platform is not None:
        gpu_platform = GpuPlatform("gpu-platform", config.gpu_platform, pools=[p.shape for p in pools],
                                   monitoring=observability, opts=on_cluster)
    dynamo = build_dynamo(config, on_cluster, namespaces=namespaces, nats=nats, etcd=etcd,
                          observability=observability, pools=pools)
    return Environment(config=config, provider=provider, namespaces=namespaces, observability=observability,
                       nats=nats, etcd=etcd, aws_provider=on_aws, node_pools=pools, gpu_platform=gpu_platform,
                       dynamo=dynamo)


def _secret(value: SecretValue | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value.value)


def tracing_env(observability: Observability | None) -> list[dict[str, Any]]:
    """Dynamo exports OpenTelemetry traces when told where to (the OTLP/gRPC receiver of Tempo)."""
    if observability is None:
        return []
    return [{"name": "OTEL_EXPORT_ENABLED", "value": "true"},
            {"name": "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "value": observability.otlp_grpc_endpoint}]


def build_dynamo(config: StackConfig, on_cluster: pulumi.ResourceOptions, *, namespaces: Namespaces,
                 nats: NatsJetStream, etcd: EtcdCluster | None, observability: Observability | None,
                 pools: tuple[GpuNodePool, ...]) -> Dynamo:
    """The operator wired to NATS, etcd (or Kubernetes discovery) and Prometheus; the model storage;
    and one DynamoGraph per graph, after the operator and on the pools it names."""
    settings = config.dynamo
    storage = ModelStorage("model-storage", namespace=namespaces.workloads, cache=settings.model_cache,
                           hf_token=_secret(config.hf_token), hf_secret_name=settings.hf_secret_name, opts=on_cluster)
    ngc_key = _secret(config.ngc_api_key)
    pull = None if ngc_key is None else PullSecret(
        "nvcr-pull", secret_name=settings.pull_secret_name, registry=settings.registry, password=ngc_key,
        namespaces={"platform": namespaces.platform, "workloads": namespaces.workloads}, opts=on_cluster)
    shapes = {p.shape.name: p.shape for p in pools}
    operator = DynamoOperator(
        "dynamo-operator", settings.operator, namespace=namespaces.platform,
        wiring=OperatorWiring(
            nats_url=nats.client_url,
            etcd_url=etcd.client_endpoints if etcd is not None else None,
            prometheus_url=observability.prometheus_url if observability is not None else None,
            pull_secret=pull.names["platform"] if pull is not None else None),
        gpu_pools=[s for s in shapes.values() if s.gpus_per_node > 0],
        any_multinode=any(g.multinode for g in settings.graphs), monitoring=observability, opts=on_cluster)
    wiring = GraphWiring(
        namespace=namespaces.workloads,
        env=[*nats.client_env(), *tracing_env(observability)],
        hf_token_secret=storage.hf_token_secret,
        pull_secret=pull.names["workloads"] if pull is not None else None,
        model_cache_claim=storage.claim_name,
        model_cache_path=settings.model_cache.mount_path if settings.model_cache is not None else "/models")
    by_name: dict[str, pulumi.Resource] = {p.shape.name: p for p in pools}
    graphs = tuple(
        DynamoGraph(f"graph-{spec.name}", spec, pools=shapes, wiring=wiring, crds_ready=operator.crds_ready,
                    nodes_ready=[by_name[name] for name in sorted({g.pool for g in spec.groups})], opts=on_cluster)
        for spec in settings.graphs)
    return Dynamo(operator=operator, storage=storage, pull_secret=pull, graphs=graphs)
