"""A deployed stack's outputs, as `StackOutputs` builds them: what verify tests read back."""

from __future__ import annotations

from stacks.outputs import (
    DynamoOutputs,
    EtcdOutputs,
    FrontendOutputs,
    NamespaceOutputs,
    NatsOutputs,
    NodePoolOutputs,
    ObservabilityOutputs,
    StackOutputs,
)


def prod_outputs() -> StackOutputs[str]:
    """Outputs of a prod stack whose transport plan runs three NATS servers and three etcd members."""
    return StackOutputs(
        environment="prod",
        kubernetes_context="kind-dynamo",
        namespaces=NamespaceOutputs(platform="dynamo-system", monitoring="monitoring", workloads="dynamo"),
        node_pools={"h100-efa": NodePoolOutputs(node_selector={"dynamo-cluster/pool": "h100-efa"}, gpus_per_node=8,
                                                gpu_model="H100", max_nodes=10, efa_interfaces=32,
                                                node_group_name="h100-efa-node-group")},
        gpu_operator_namespace="gpu-operator",
        nats=NatsOutputs(client_url="nats://nats.dynamo-system.svc.cluster.local:4222", auth_secret_name="nats-auth",
                         namespace="dynamo-system", service="nats", replicas=3, max_payload=15 * 2**20,
                         verify_secret_name="nats-verify-auth"),
        etcd=EtcdOutputs(client_endpoints="https://etcd.dynamo-system.svc.cluster.local:2379",
                         namespace="dynamo-system", members=("etcd-0", "etcd-1", "etcd-2"), replicas=3,
                         client_secret_name="etcd-client-tls"),
        dynamo=DynamoOutputs(version="1.4.2", discovery="etcd", event_plane="nats", request_plane="tcp",
                             operator_release="dynamo-platform", operator_namespace="dynamo-system",
                             graphs={"vllm-disagg": "vllm-disagg"}, graph_namespace="dynamo",
                             frontends={"vllm-disagg": FrontendOutputs(
                                 url="http://vllm-disagg-frontend.dynamo.svc.cluster.local:8000",
                                 model="meta-llama/Llama-3.1-8B-Instruct")}),
        observability=ObservabilityOutputs(
            prometheus_url="http://kps-prometheus.monitoring.svc.cluster.local:9090",
            alertmanager_url="http://kps-alertmanager.monitoring.svc.cluster.local:9093",
            otlp_grpc_endpoint="http://otel-collector.monitoring.svc.cluster.local:4317",
            otlp_http_endpoint="http://otel-collector.monitoring.svc.cluster.local:4318", grafana_service="grafana",
            grafana_url="http://grafana.monitoring.svc.cluster.local:80", grafana_admin_secret="grafana-admin",
            loki_url="http://loki.monitoring.svc.cluster.local:3100"),
    )
