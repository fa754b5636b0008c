"""The summary's sections about Dynamo: the release the stack deploys, its transport plan (which
servers it runs, and why), each graph's data path, and the model storage (the cache, the download
Job of each model and the graphs that wait for it) and each graph's endpoint, as pure functions of the
config."""

from __future__ import annotations

from typing import assert_never

from components.dynamo.commands import publishes_kv_events, worker
from components.dynamo.datapath import data_path
from components.dynamo.dgd import efa_per_pod
from components.dynamo.releases import REGISTRY
from components.ingress.settings import ClusterOnly, GatewayRoute, LoadBalancer, kind_of
from components.storage import lustre
from components.storage.cache import Efs, ExistingClass, FsxLustre, ModelCacheSettings, cache_fit
from components.storage.downloads import download_plans, is_repo_id
from stacks.config.stack import StackConfig


def release_lines(config: StackConfig) -> list[str]:
    release = config.dynamo.release
    operator = config.dynamo.operator
    return [
        f"- Dynamo {release.version}: chart {operator.chart.name} {operator.chart.version} from "
        f"{operator.chart.repository}, graphs as `{release.api_version}` DynamoGraphDeployments (the CRD stores "
        f"{release.crd_storage_version}), " + (
            f"bundled Grove {release.grove_version} and KAI scheduler {release.kai_version}"
            if release.grove_version and release.kai_version else
            "bundled Grove and KAI scheduler (versions not known)") + " (installed when a graph spans nodes).",
        f"- Runtime images `{release.image_tag}` (`{release.efa_image_tag}` on EFA pools) of "
        f"`{REGISTRY}`"
        + ("" if release.artifacts_confirmed else "; not read from a published artifact list (see Warnings)") + ".",
    ]


def transport_lines(config: StackConfig) -> list[str]:
    plan = config.transport
    nats, etcd = config.nats, config.etcd
    lines = [
        f"- Discovery **{plan.discovery}**, event plane **{plan.event_plane}**, request plane "
        f"**{plan.request_plane}** (`dynamo.*`).",
        "- NATS JetStream: " + (
            f"deployed, {nats.replicas} server{'s' if nats.replicas > 1 else ''}, because {plan.nats_reason()}"
            if nats is not None and plan.uses_nats else
            f"deployed (nats.enabled) but wired to nothing: {plan.nats_reason()}" if nats is not None else
            f"not deployed: {plan.nats_reason()}") + ".",
        "- etcd: " + (
            f"deployed, {etcd.replicas} member{'s' if etcd.replicas > 1 else ''}, because {plan.etcd_reason()}"
            if etcd is not None and plan.uses_etcd else
            f"deployed (etcd.enabled) but wired to nothing: {plan.etcd_reason()}" if etcd is not None else
            f"not deployed: {plan.etcd_reason()}") + ".",
    ]
    for graph in config.dynamo.graphs:
        publishers = [g.role for g in graph.groups if publishes_kv_events(graph, g)]
        if graph.frontend.router_mode != "kv":
            routing = f"routes {graph.frontend.router_mode}; no KV events"
        elif not plan.kv_events:
            routing = "routes by KV prediction (`--no-router-kv-events`): the event plane carries no KV events"
        elif publishers:
            routing = f"routes by KV events that its {' and '.join(publishers)} workers publish over {plan.event_plane}"
        else:
            routing = f"routes by KV events the {graph.backend.name} workers emit without a flag"
        lines.append(f"- Graph `{graph.name}` {routing}.")
    return lines


def data_path_lines(config: StackConfig) -> list[str]:
    """Per graph and worker group: how KV caches move, whether over RDMA (and why not), the image,
    and what the EFA recipe gives the pods."""
    graphs = config.dynamo.graphs
    if not graphs:
        return ["No graphs."]
    shapes = config.pool_shapes
    lines: list[str] = []
    for graph in graphs:
        lines.append(f"- Graph `{graph.name}` ({graph.backend.name}, {graph.mode}):")
        for group in graph.groups:
            pool = shapes.get(group.pool)
            if pool is None:
                continue
            path = data_path(graph, group, pool)
            rdma = "RDMA" if path.rdma else f"no RDMA: {path.reason}"
            parts = [f"{path.transfer}, {rdma}", f"image `{path.image}`"]
            if path.efa:
                efa = efa_per_pod(group, pool)
                parts.append(f"{efa} EFA interface{'s' if efa != 1 else ''} per pod, privileged, "
                             f"/dev/shm {group.shared_memory}, huge pages "
                             + (f"{path.huge_pages} per pod" if path.huge_pages else
                                f"off (pool {pool.name} provides {pool.huge_pages_2mi} per node)"))
                if group.multinode:
                    parts.append("tensors across nodes over NCCL on EFA (aws-ofi-nccl), NCCL transport logged")
            if group.role in ("prefill", "decode") and graph.backend.moves_kv:
                parts.append(f"NIXL telemetry {'on' if path.nixl_telemetry else 'off'} ({path.telemetry_note})")
            lines.append(f"  - {group.role} on `{pool.name}`: " + "; ".join(parts) + ".")
    return lines


def _cache_line(cache: ModelCacheSettings) -> list[str]:
    kept = "kept on `pulumi destroy`" if cache.retain else "deleted on `pulumi destroy` (allowDataLoss, or dev)"
    mount = f"claim `{cache.claim_name}` mounted at `{cache.mount_path}` (`HF_HOME`)"
    match cache.store:
        case FsxLustre(lustre=fs, volume_name=volume_name):
            lines = _lustre_lines(cache, fs, volume_name, mount, kept)
        case Efs(efs=fs_efs):
            lines = [f"- Cache: **EFS** (`modelCache.kind: efs`), encrypted, {fs_efs.throughput_mode} throughput, "
                     f"mount targets in {', '.join(fs_efs.subnet_ids)}; its security group admits the cluster "
                     f"security group {fs_efs.client_security_group_id} on TCP 2049; StorageClass "
                     f"`{fs_efs.storage_class_name}` (access points); {mount}; {kept}."]
        case ExistingClass(storage=storage):
            lines = [f"- Cache: StorageClass `{storage.storage_class}` of the cluster (`modelCache.kind: existing`), "
                     f"{storage.size}; {mount}; {kept}."]
        case _:
            assert_never(cache.store)
    if cache.csi is not None:
        driver = cache.csi.driver
        lines.append(f"- CSI driver {driver.driver}: " + (
            f"EKS add-on `{driver.addon}` {cache.csi.version} on cluster {cache.csi.cluster_name}"
            + (" (its controller's IAM role through EKS Pod Identity)" if driver.policy else "")
            if cache.csi.install else "the cluster's own (`modelCache.csiDriver.install: false`)") + ".")
    return lines


def _lustre_lines(cache: ModelCacheSettings, fs: lustre.LustreSettings, volume_name: str, mount: str,
                  kept: str) -> list[str]:
    throughput = (f" at {fs.throughput_per_tib} MB/s/TiB (about {fs.throughput_mbps:.0f} MB/s)"
                  if fs.throughput_mbps is not None else "")
    ports = " and ".join(str(a) if a == b else f"{a}-{b}" for a, b in lustre.LUSTRE_PORTS)
    lines = [f"- Cache: **FSx for Lustre** (`modelCache.kind: fsx-lustre`), {fs.deployment_type}, "
             f"{fs.storage_capacity_gib} GiB{throughput}, Lustre {fs.lustre_version}, in subnet {fs.subnet_id}"
             + (f" ({fs.availability_zone})" if fs.availability_zone else "") + f" of pool `{fs.pool}`; its "
             f"security group admits the cluster security group {fs.client_security_group_id} on TCP {ports}; "
             f"{mount}, bound to PersistentVolume `{volume_name}`; {kept}."]
    if fs.s3 is not None:
        lines.append(f"- S3: `{fs.s3.path}` appears at `{cache.mount_path}{fs.s3.file_system_path}` (a data "
                     "repository association: listings imported and kept current, contents loaded on first read).")
    return lines


def model_storage_lines(config: StackConfig) -> list[str]:
    """The cache (kind, size, throughput), the CSI driver, and per model its download Job and the
    graphs that wait on it; graphs that need no download; loaders."""
    cache = config.dynamo.model_cache
    graphs = config.dynamo.graphs
    if cache is None:
        return ["No model cache (`modelCache.enabled: false`): each worker downloads its model itself."]
    lines = _cache_line(cache)
    plans = download_plans(graphs) if cache.download.enabled else []
    if not cache.download.enabled:
        lines.append("- Downloads: off (`modelCache.download.enabled: false`): workers download into the cache "
                     "themselves.")
    elif plans:
        fit = cache_fit(cache, plans)
        lines += ["", f"One download Job per model ({cache.download.image}, {cache.download.workers} files at a time, "
                      f"at most {cache.download.timeout_minutes} minutes, {cache.download.backoff_limit} retries that "
                      "resume); the graphs' pods wait for its marker in an init container, then load offline "
                      "(`HF_HUB_OFFLINE=1`):", "",
                  "| model | revision | size | download Job | graphs waiting |", "|---|---|---|---|---|"]
        for plan in plans:
            size = f"{plan.size_gib} GiB" if plan.size_gib is not None else "unknown"
            lines.append(f"| {plan.ref.repo} | {plan.ref.revision} | {size} | `{plan.job_name}` | "
                         f"{', '.join(plan.graphs)} |")
        capacity = "grows as needed" if fit.capacity_gib is None else f"{fit.capacity_gib} GiB"
        verdict = {True: "fits", False: "does NOT fit", None: "fits as far as sizes are known"}[fit.fits]
        unknown = f"; size unknown: {', '.join(fit.unknown)}" if fit.unknown else ""
        lines += ["", f"- Known sizes {fit.known_gib} GiB, cache {capacity}: {verdict}{unknown}."]
    others = [g for g in graphs if not (g.use_model_cache and is_repo_id(g.model))]
    for graph in others:
        why = "mounts no cache" if not graph.use_model_cache else f"its model is a path, `{graph.model}`"
        lines.append(f"- Graph `{graph.name}`: no download Job; {why}.")
    for graph in graphs:
        if graph.model_source:
            lines.append(f"- Graph `{graph.name}` is pinned to commit {graph.model_revision}: its engines load "
                         f"`{graph.model_source}`.")
        if graph.load_format != "auto":
            lines.append(f"- Graph `{graph.name}` loads weights with {graph.load_format}: "
                         f"`{' '.join(graph.backend.loader_args(worker(graph, graph.groups[0])))}`.")
    return lines


def endpoint_lines(config: StackConfig) -> list[str]:
    """How each graph's frontend is reached, and who its NetworkPolicy admits."""
    namespace = config.namespaces.workloads
    rows = ["| graph | endpoint | reached at | admitted |", "|---|---|---|---|"]

    def others(namespaces: tuple[str, ...]) -> str:
        scrapers = ", Prometheus" if config.observability is not None else ""
        listed = f", namespaces {', '.join(namespaces)}" if namespaces else ""
        return f"{scrapers}, bench pods{listed}"

    for graph in config.dynamo.graphs:
        endpoint = graph.endpoint
        service = f"`{graph.frontend_service}.{namespace}:{graph.frontend.http_port}`"
        match endpoint:
            case ClusterOnly():
                rows.append(f"| {graph.name} | cluster | {service} (`open frontend`) | any pod (no policy) |")
            case LoadBalancer(scheme=scheme, hostname=hostname, source_ranges=ranges):
                where = f"https://{hostname}" if hostname else "https://<the load balancer's name>"
                lb = config.load_balancer
                subnets = ", ".join(s.cidr for s in lb.subnets) if lb is not None else ""
                facing = f"{scheme}, from {', '.join(ranges)}" if ranges else scheme
                rows.append(f"| {graph.name} | {kind_of(endpoint)}: ALB ({facing}) | {where} | load balancer "
                            f"subnets {subnets}{others(endpoint.client_namespaces)} |")
            case GatewayRoute(gateway_namespace=gateway_ns, gateway_name=name, hostname=hostname):
                rows.append(f"| {graph.name} | gateway {gateway_ns}/{name} | https://{hostname} | namespace "
                            f"{gateway_ns}{others(endpoint.client_namespaces)} |")
    lines = rows
    lb = config.load_balancer
    if lb is not None:
        installed = (f"installed by the stack (chart {lb.chart.version}, {lb.replicas} replica(s), IAM role through "
                     "EKS Pod Identity)" if lb.install else "the cluster's own (`loadBalancer.install: false`)")
        lines = [*rows, "", f"AWS Load Balancer Controller: {installed}; TLS policy {lb.ssl_policy}, idle timeout "
                            f"{lb.idle_timeout_seconds} s."]
    return lines
