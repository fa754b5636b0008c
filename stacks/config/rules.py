"""Rules that span config sections, each a named function: what one section's value demands of
another's. The section readers check their own keys; these run on what they read.

The transport plan (`components.dynamo.transport.TransportPlan`) is the one place that says which
services Dynamo's planes need; the two rules here are its consequences for config (a needed service
cannot be turned off; a service nothing needs is deployed only with a warning), and the operator's
wiring asserts the same plan when it is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from components.dynamo.capacity import WorkerDemand, check_capacity, order_warnings
from components.dynamo.releases import RELEASES, DynamoRelease
from components.dynamo.spec import GraphSpec
from components.dynamo.transport import TransportPlan
from components.kit.quantity import quantity_bytes
from components.kit.secret import SecretValue
from components.nodes.allocatable import allocatable
from components.nodes.shape import PoolShape
from components.observability.receivers import ReceiverKind
from components.observability.settings import ObservabilitySettings
from components.operator.values import OperatorSettings, gang_scheduling_on
from components.storage.cache import CacheKind, FsxLustre, ModelCacheSettings, cache_fit
from components.storage.downloads import download_plans, is_commit, plans_by_graph
from stacks.config.aws import AwsConfig
from stacks.config.common import cpu_millis
from stacks.config.keys import dynamo as dynamo_keys
from stacks.config.keys import etcd as etcd_keys
from stacks.config.keys import nats as nats_keys
from stacks.config.keys import observability as observability_keys
from stacks.config.reader import Node


# -- the transport plan and the services it needs --------------------------------------------------
def check_transport_services(root: Node, plan: TransportPlan, *, nats_enabled: bool, etcd_enabled: bool) -> None:
    """A plane on NATS needs NATS deployed; etcd discovery needs etcd deployed."""
    if plan.uses_nats and not nats_enabled:
        root.problems.add(nats_keys.ENABLED.path, f"is false, but {plan.nats_reason()}",
                          "true (or unset), or dynamo.eventPlane and dynamo.requestPlane that do not use nats")
    if plan.uses_etcd and not etcd_enabled:
        root.problems.add(etcd_keys.ENABLED.path, f"is false, but {dynamo_keys.DISCOVERY.path} is etcd",
                          f"true (or unset), or {dynamo_keys.DISCOVERY.path} kubernetes")


def discovery_warnings(plan: TransportPlan) -> list[str]:
    """etcd discovery is upstream's legacy backend on Kubernetes: Dynamo's service discovery guide (1.4,
    docs/fern/kubernetes/service-discovery.md) makes Kubernetes discovery the default, "Recommended for
    all Kubernetes deployments", and lists etcd for "Legacy deployments"."""
    if not plan.uses_etcd:
        return []
    return [f"{dynamo_keys.DISCOVERY.path} is etcd, upstream's legacy discovery backend: on Kubernetes, Dynamo's "
            "service discovery guide makes Kubernetes discovery the default and recommends it for every deployment, "
            "and etcd is one more stateful service the graphs depend on; the way out is "
            f"`{dynamo_keys.DISCOVERY.path}: kubernetes` (no etcd deployed)"]


def transport_warnings(plan: TransportPlan, *, nats_deployed: bool, etcd_deployed: bool) -> list[str]:
    """Services deployed although no plane uses them."""
    out: list[str] = []
    if nats_deployed and not plan.uses_nats:
        out.append(f"{nats_keys.ENABLED.path} is true but {plan.nats_reason()}: NATS is deployed and wired to nothing")
    if etcd_deployed and not plan.uses_etcd:
        out.append(f"{etcd_keys.ENABLED.path} is true but {plan.etcd_reason()}: etcd is deployed and wired to nothing")
    return out


# -- graphs and node pools -------------------------------------------------------------------------
def worker_demands(graphs: Sequence[GraphSpec], pools: Mapping[str, PoolShape]) -> list[WorkerDemand]:
    """What each worker group asks of its pool, for the capacity plan. Groups on a pool that does not
    exist are left out: reading the graph already reported that pool."""
    return [WorkerDemand(graph=g.name, group=group.role, key=f"graphs[{i}].{group.role}", pool=group.pool,
                         replicas=group.replicas, nodes_per_replica=group.nodes, gpus_per_node=group.gpus_per_node,
                         tensor_parallel=group.tensor_parallel, pipeline_parallel=group.pipeline_parallel,
                         check_parallelism=g.check_parallelism)
            for i, g in enumerate(graphs) for group in g.groups if group.pool in pools]


def check_graph_capacity(root: Node, graphs: Sequence[GraphSpec], pools: Mapping[str, PoolShape]) -> None:
    """The GPU capacity plan over every graph: each problem becomes a config problem."""
    for problem in check_capacity(pools, worker_demands(graphs, pools)):
        root.problems.add(problem.key, problem.wrong, problem.allowed)


def capacity_warnings(graphs: Sequence[GraphSpec], pools: Mapping[str, PoolShape]) -> list[str]:
    """Plans the capacity check lays out but a scheduler may not place in every creation order."""
    return order_warnings(pools, worker_demands(graphs, pools))


def check_pod_resources(root: Node, graphs: Sequence[GraphSpec], pools: Mapping[str, PoolShape]) -> None:
    """Each worker pod's CPU and memory requests fit one node of its pool, where the pool's instance
    type is known (`components.nodes.allocatable`); a pod that fits no node would stay Pending."""
    for index, graph in enumerate(graphs):
        for group in graph.groups:
            pool = pools.get(group.pool)
            room = allocatable(pool.instance_type) if pool is not None else None
            if pool is None or room is None:
                continue
            key = f"graphs[{index}].{group.role}.resources"
            cpu, memory = cpu_millis(group.resources.cpu), quantity_bytes(group.resources.memory) // 2**20
            if cpu > room.millicores:
                root.problems.add(f"{key}.cpu", f"is {group.resources.cpu}, more than a {pool.instance_type} node of "
                                  f"pool '{pool.name}' leaves to pods (about {room.millicores}m)",
                                  f"at most {room.millicores // 1000} CPUs")
            if memory > room.mebibytes:
                root.problems.add(f"{key}.memory", f"is {group.resources.memory}, more than a {pool.instance_type} "
                                  f"node of pool '{pool.name}' leaves to pods (about {room.mebibytes}Mi)",
                                  f"at most {room.mebibytes // 1024}Gi")


# -- AWS keys other sections need ------------------------------------------------------------------
def _require(aws_node: Node, needed: Sequence[tuple[str, str | None, str]], by: str) -> None:
    reported = {p.key for p in aws_node.problems.found}
    for key, value, allowed in needed:
        if value is None and aws_node.key(key) not in reported:  # another section may have asked for it
            aws_node.problem(key, f"is required by {by}", allowed)


def require_aws_for_pools(aws: AwsConfig, aws_node: Node, *, efa: bool) -> None:
    """eks node pools join an EKS cluster of a region; EFA pools add security groups in its VPC."""
    _require(aws_node, [("region", aws.region, "an AWS region such as us-east-1"),
                        ("clusterName", aws.cluster_name, "the name of the EKS cluster the node groups join")],
             "the eks node pools")
    if efa:
        _require(aws_node, [("vpcId", aws.vpc_id, "the cluster's VPC id, for the EFA security group"),
                            ("clusterSecurityGroupId", aws.cluster_security_group_id,
                             "the cluster security group id: EFA interfaces carry it so nodes can join")],
                 "the eks node pools with EFA")


def require_aws_for_load_balancer(aws: AwsConfig, aws_node: Node, *, install: bool, by: str) -> None:
    """Load balancers live in the cluster's region; a controller the stack installs also needs the
    cluster (its Pod Identity association and `--cluster-name`) and the VPC (its permissions)."""
    needed = [("region", aws.region, "an AWS region such as us-east-1")]
    if install:
        needed += [("clusterName", aws.cluster_name, "the EKS cluster the controller runs in"),
                   ("vpcId", aws.vpc_id, "the cluster's VPC id: the controller may change security groups there")]
    _require(aws_node, needed, by)


def require_aws_for_cache(aws: AwsConfig, aws_node: Node, *, kind: CacheKind, installs_driver: bool) -> None:
    """A file system the stack creates lives in the cluster's VPC and admits its nodes; the CSI driver
    add-on goes onto the cluster."""
    needed = [("region", aws.region, "an AWS region such as us-east-1"),
              ("vpcId", aws.vpc_id, "the cluster's VPC id, where the file system's security group is created"),
              ("clusterSecurityGroupId", aws.cluster_security_group_id,
               "the cluster security group id: the file system admits the nodes that carry it")]
    if installs_driver:
        needed.append(("clusterName", aws.cluster_name, "the EKS cluster the CSI driver add-on is installed on"))
    _require(aws_node, needed, f"modelCache.kind {kind}")


# -- warnings: valid config a reviewer should still see --------------------------------------------
def data_loss_warnings(*, keeps_data: bool, allow_data_loss: bool) -> list[str]:
    if keeps_data and allow_data_loss:
        return ["allowDataLoss is true: `pulumi destroy` and replacements delete data volumes"]
    return []


def release_warnings(release: DynamoRelease) -> list[str]:
    """What the release table could not read from the release's own artifacts (`Evidence`)."""
    out: list[str] = []
    if not release.evidence.images:
        out.append(f"Dynamo {release.version}: its image tags ({release.image_tag}, {release.efa_image_tag}) follow "
                   "the naming of earlier releases but were not read from a published artifact list; check that they "
                   "exist before `pulumi up` (docs/upgrade.md)")
    rest = [text for text in release.evidence.unconfirmed() if "image" not in text]
    if rest:
        out.append(f"Dynamo {release.version}: {' and '.join(rest)} were not read from the release's own chart or "
                   "CRD and follow the previous release's; compare `helm show values` of the chart with "
                   "docs/upgrade.md before `pulumi up`")
    return out


# Grove releases with which a multi-node graph scaled up from zero replicas keeps its pods
# SchedulingGated (ai-dynamo/grove#809, "Scale up DGD from zero stopped working with alpha.12", first
# reported as ai-dynamo/dynamo#14278); Dynamo 1.4.2's chart bundles the release candidate.
GROVE_SCALE_FROM_ZERO_BROKEN = frozenset({"v0.1.0-alpha.12-rc1", "v0.1.0-alpha.12"})


def grove_fixed_release() -> DynamoRelease | None:
    """The newest patch of the first minor release in the table whose bundled Grove is known and scales
    up from zero (the step an upgrade takes next, one minor at a time)."""
    fixed = [r for r in RELEASES.values()
             if r.grove_version is not None and r.grove_version not in GROVE_SCALE_FROM_ZERO_BROKEN]
    if not fixed:
        return None
    first = min(r.minor for r in fixed)
    return max((r for r in fixed if r.minor == first), key=lambda r: tuple(int(p) for p in r.version.split(".")))


def grove_warnings(operator: OperatorSettings, graphs: Sequence[GraphSpec]) -> list[str]:
    """A release whose bundled Grove cannot scale multi-node graphs up from zero, where Grove is installed
    (gang scheduling on)."""
    release = operator.release
    multinode = [g.name for g in graphs if g.multinode]
    if release.grove_version not in GROVE_SCALE_FROM_ZERO_BROKEN or not gang_scheduling_on(operator, bool(multinode)):
        return []
    which = f" ({', '.join(multinode)})" if multinode else ""  # none yet with operator.gangScheduling grove
    fixed = grove_fixed_release()
    move = "" if fixed is None else (f"move to the {fixed.version} release entry (`{dynamo_keys.VERSION.path}: "
                                     f"{fixed.version}`, whose chart bundles Grove {fixed.grove_version}; "
                                     "docs/upgrade.md), or ")
    return [f"Dynamo {release.version} bundles Grove {release.grove_version}, with which multi-node graphs{which} "
            "scaled up from zero replicas keep their pods SchedulingGated (ai-dynamo/dynamo#14278, "
            f"ai-dynamo/grove#809): {move}never scale those graphs to zero"]


def credential_warnings(graphs: Sequence[GraphSpec], *, hf_token: SecretValue | None,
                        ngc_api_key: SecretValue | None, wants_pull_secret: bool) -> list[str]:
    out: list[str] = []
    if graphs and hf_token is None:
        out.append("no hfToken: graphs download models anonymously, and gated models will fail to download")
    if wants_pull_secret and ngc_api_key is None:
        out.append("no ngcApiKey: images are pulled from nvcr.io anonymously (no pull secret)")
    return out


def alerting_warnings(observability: ObservabilitySettings | None,
                      receiver_secrets: Mapping[ReceiverKind, SecretValue]) -> list[str]:
    out: list[str] = []
    receivers = ", ".join(key.path for key in observability_keys.RECEIVER_SECRET_KEYS.values())
    if observability is not None and observability.alertmanager.enabled and not observability.alertmanager.receivers:
        out.append(f"no Alertmanager receiver ({receivers} unset): alerts fire but notify nobody "
                   "(docs/observability.md, \"Receivers\")")
    if receiver_secrets and (observability is None or not observability.alertmanager.enabled):
        out.append("Alertmanager receiver secrets are set but Alertmanager is off: nobody is notified")
    return out


def model_cache_warnings(cache: ModelCacheSettings | None, graphs: Sequence[GraphSpec],
                         pools: Mapping[str, PoolShape] | None = None) -> list[str]:
    """What a reviewer should know about the cache and the downloads the graphs need."""
    out: list[str] = []
    if cache is not None and isinstance(cache.store, FsxLustre) and pools:
        zone = cache.store.lustre.availability_zone
        away = sorted({f"{g.name} ({group.pool}: {pools[group.pool].availability_zone})" for g in graphs
                       if g.use_model_cache for group in g.groups if group.pool in pools
                       and pools[group.pool].availability_zone not in (None, zone)})
        if zone and away:
            out.append(f"modelCache: the FSx for Lustre file system is in {zone}, but graphs load from it in other "
                       f"zones: {', '.join(away)}; they read across zones (slower loads, cross-zone transfer "
                       "charges): put those pools in its zone, or the file system in theirs (modelCache.fsx.pool)")
    gpu_graphs = [g.name for g in graphs if any(group.gpus_per_node for group in g.groups)]
    if gpu_graphs and cache is None:
        out.append("no modelCache: every worker of " + ", ".join(gpu_graphs) + " downloads the weights itself")
    plans = download_plans(graphs) if cache is not None and cache.download.enabled else []
    moving = sorted({f"{p.ref.repo} ({p.ref.revision})" for p in plans if not is_commit(p.ref.revision)})
    if moving:
        out.append("models downloaded at a moving revision, so a later download (a new cache, a replaced Job) may "
                   f"fetch other weights: {', '.join(moving)}; pin each with graphs[].modelRevision set to a commit")
    if cache is not None and plans:
        fit = cache_fit(cache, plans)
        if fit.fits is False:
            out.append(f"modelCache holds {fit.capacity_gib} GiB, but the models the graphs download take "
                       f"{fit.known_gib} GiB (graphs[].modelSizeGiB): the downloads fail when it is full")
        waits = plans_by_graph(plans)
        for graph in graphs:
            if graph.name in waits and graph.ready_timeout_minutes < cache.download.timeout_minutes:
                out.append(f"graph {graph.name}: `pulumi up` waits {graph.ready_timeout_minutes} minutes for it "
                           f"(readyTimeoutMinutes), but its model's download may take up to "
                           f"{cache.download.timeout_minutes} (modelCache.download.timeoutMinutes): a first `pulumi "
                           "up` may report the graph timed out while the download goes on; run it again once the "
                           "download Job completed")
    for graph in graphs:
        if graph.load_format == "runai_streamer":
            out.append(f"graph {graph.name} loads weights with vLLM's Run:ai Model Streamer: its image must carry "
                       "vllm[runai] (the runai-model-streamer package), which this project does not check")
    return out
