"""The Dynamo part of an environment: the operator, the model storage, the pull secret and the graphs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from components.dynamo.component import DynamoGraph
from components.dynamo.dgd import GraphWiring
from components.etcd.component import EtcdCluster
from components.kit.secret import SecretValue
from components.namespaces.component import Namespaces
from components.nats.component import NatsJetStream
from components.nodes.component import GpuNodePool
from components.observability.component import Observability
from components.operator.component import DynamoOperator, PullSecret
from components.operator.values import OperatorWiring
from components.storage.component import ModelStorage
from components.storage.downloads import download_plans
from stacks.config.stack import StackConfig


@dataclass(frozen=True)
class Dynamo:
    """The Dynamo part of an environment: operator, shared storage and the graphs."""

    operator: DynamoOperator
    storage: ModelStorage
    pull_secret: PullSecret | None
    graphs: tuple[DynamoGraph, ...]


def _secret(value: SecretValue | None) -> pulumi.Output[str] | None:
    return None if value is None else pulumi.Output.secret(value.value)


def transport_wiring(config: StackConfig, nats: NatsJetStream | None, etcd: EtcdCluster | None, *,
                     observability: Observability | None,
                     pull_secret: pulumi.Input[str] | None) -> tuple[OperatorWiring, list[dict[str, Any]]]:
    """What the transport plan wires, in one place: the operator's NATS and etcd addresses and
    discovery backend, and the env every graph pod gets beyond the planes themselves (the NATS
    credentials when a plane uses NATS; etcd's CA and a client certificate when discovery is etcd,
    which the operator gets too). A server deployed but used by no plane is wired to nothing."""
    plan = config.transport
    if plan.uses_nats and nats is None:
        raise ValueError(f"the transport plan needs NATS ({plan.nats_reason()}), but none is deployed")
    if plan.uses_etcd and etcd is None:
        raise ValueError("the transport plan needs etcd (discovery is etcd), but none is deployed")
    wiring = OperatorWiring(
        transport=plan,
        nats_url=nats.client_url if plan.uses_nats and nats is not None else None,
        etcd_url=etcd.client_endpoints if plan.uses_etcd and etcd is not None else None,
        prometheus_url=observability.prometheus_url if observability is not None else None,
        pull_secret=pull_secret,
        etcd_env=tuple(etcd.client_env()) if plan.uses_etcd and etcd is not None else ())
    env = nats.client_env() if plan.uses_nats and nats is not None else []
    if plan.uses_etcd and etcd is not None:
        env += etcd.client_env()
    return wiring, env


# Dynamo's switches: JSONL log lines (with trace_id and span_id) and OTLP export of traces and logs.
TRACING_SWITCHES = {"DYN_LOGGING_JSONL": "true", "OTEL_EXPORT_ENABLED": "true", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}


def tracing_env(observability: Observability | None) -> list[dict[str, Any]]:
    """What every graph pod needs to follow a request: Dynamo 1.4 builds an OTLP exporter for traces
    and one for logs when `OTEL_EXPORT_ENABLED` is on, and the logs endpoint does not fall back to
    the traces endpoint, so the generic endpoint is set: the OpenTelemetry collector, which sends
    traces to Tempo and logs to Loki. Each component names itself with `OTEL_SERVICE_NAME` (the
    graph builder sets ``<graph>-<role>``)."""
    if observability is None:
        return []
    env: list[dict[str, Any]] = [{"name": name, "value": value} for name, value in TRACING_SWITCHES.items()]
    env.append({"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": observability.otlp_grpc_endpoint})
    return env


def build_dynamo(config: StackConfig, on_cluster: pulumi.ResourceOptions, *, namespaces: Namespaces,
                 nats: NatsJetStream | None, etcd: EtcdCluster | None, observability: Observability | None,
                 pools: tuple[GpuNodePool, ...], on_aws: pulumi.ProviderResource | None = None,
                 controller_ready: pulumi.Resource | None = None) -> Dynamo:
    """The operator wired as the transport plan says and to Prometheus; the model storage (its file
    system on AWS through `on_aws`, and one download Job per model the graphs need); and one
    DynamoGraph per graph, after the operator and on the pools it names (and its endpoint after the
    load balancer controller, `controller_ready`, when the stack installs one)."""
    settings = config.dynamo
    cache = settings.model_cache
    storage_opts = on_cluster if on_aws is None else pulumi.ResourceOptions.merge(
        on_cluster, pulumi.ResourceOptions(providers={"aws": on_aws}))
    plans = download_plans(settings.graphs) if cache is not None and cache.download.enabled else []
    storage = ModelStorage("model-storage", namespace=namespaces.workloads, cache=cache,
                           hf_token=_secret(config.hf_token), hf_secret_name=settings.hf_secret_name, opts=storage_opts,
                           namespace_name=config.namespaces.workloads, stack=config.stack, plans=plans)
    ngc_key = _secret(config.ngc_api_key)
    pull = None if ngc_key is None else PullSecret(
        "nvcr-pull", secret_name=settings.pull_secret_name, registry=settings.registry, password=ngc_key,
        namespaces={"platform": namespaces.platform, "workloads": namespaces.workloads}, opts=on_cluster)
    operator_wiring, transport_env = transport_wiring(
        config, nats, etcd, observability=observability,
        pull_secret=pull.names["platform"] if pull is not None else None)
    operator = DynamoOperator(
        "dynamo-operator", settings.operator, namespace=namespaces.platform, wiring=operator_wiring,
        gpu_pools=[p.shape for p in pools if p.shape.gpus_per_node > 0],
        any_multinode=any(g.multinode for g in settings.graphs), monitoring=observability, opts=on_cluster)
    wiring = GraphWiring(
        namespace=namespaces.workloads,
        env=[*transport_env, *tracing_env(observability)],
        hf_token_secret=storage.hf_token_secret,
        pull_secret=pull.names["workloads"] if pull is not None else None,
        model_cache_claim=storage.claim_name,
        model_cache_path=cache.mount_path if cache is not None else "/models",
        model_wait_seconds=cache.download.timeout_seconds if plans and cache is not None else None)
    graphs = tuple(
        DynamoGraph(f"graph-{spec.name}", spec, pools=[p for p in pools if p.shape.name in spec.pools],
                    wiring=wiring, crds_ready=operator.crds_ready, opts=on_cluster, monitoring=observability,
                    load_balancer=config.load_balancer, controller_ready=controller_ready)
        for spec in settings.graphs)
    return Dynamo(operator=operator, storage=storage, pull_secret=pull, graphs=graphs)
