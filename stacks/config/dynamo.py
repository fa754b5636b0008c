"""The Dynamo sections: the transport plan (`dynamo`), the operator chart and the Dynamo release it
picks (`operator`), and the graph deployments (`graphs`), on the shared model storage that
`stacks.config.model_cache` reads (`modelCache`)."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, replace

from components.dynamo import backends
from components.dynamo.backends.base import Backend, GroupChoices
from components.dynamo.backends.mocker import MOCKER
from components.dynamo.backends.vllm import VLLM
from components.dynamo.datapath import EFA_SHARED_MEMORY
from components.dynamo.releases import DEFAULT_RELEASE, DEFAULT_VERSION, RELEASES, DynamoRelease
from components.dynamo.spec import FrontendSpec, GraphSpec, Slo, WorkerGroupSpec
from components.dynamo.transport import TransportPlan
from components.dynamo.words import (
    ROLES,
    ROLES_BY_MODE,
    LoadFormat,
    Mode,
    Role,
)
from components.kit.quantity import quantity_bytes
from components.kit.resources import Resources
from components.nodes.shape import PoolShape
from components.operator.values import OperatorSettings
from components.storage.cache import ModelCacheSettings
from components.storage.downloads import is_commit, is_repo_id, snapshot_path
from stacks.config.common import read_resources
from stacks.config.defaults import EnvironmentDefaults
from stacks.config.endpoints import read_endpoint
from stacks.config.keys import dynamo as keys
from stacks.config.keys import graphs as G
from stacks.config.limits import (
    HELM_RELEASE_TEXT,
    MUTABLE_TAG_TEXT,
    check_env_names,
    helm_release_problem,
    image_tag_problem,
)
from stacks.config.model_cache import CacheConfig
from stacks.config.reader import Node, describe
from stacks.outputs import NATS_RELEASE

NGC_REGISTRY = "nvcr.io"
PULL_SECRET_NAME = "nvcr-pull"
HF_SECRET_NAME = "hf-token"

# Helm releases the stack installs in the platform namespace besides the operator's.
PLATFORM_RELEASES = (NATS_RELEASE,)


@dataclass(frozen=True)
class DynamoConfig:
    transport: TransportPlan
    operator: OperatorSettings
    model_cache: ModelCacheSettings | None
    graphs: tuple[GraphSpec, ...]
    pull_secret_name: str
    hf_secret_name: str
    registry: str

    @property
    def release(self) -> DynamoRelease:
        return self.operator.release


def read_transport(root: Node) -> TransportPlan:
    """The ``dynamo`` section: how Dynamo's components find each other and talk."""
    node = root.child("dynamo")
    plan = TransportPlan(
        discovery=node.read(keys.DISCOVERY),
        event_plane=node.read(keys.EVENT_PLANE),
        request_plane=node.read(keys.REQUEST_PLANE),
    )
    node.close()
    return plan


def _release(node: Node) -> DynamoRelease:
    raw = node.read(keys.VERSION)
    if isinstance(raw, str) and raw in RELEASES:
        return RELEASES[raw]
    known = " or ".join(f"{v} (the default)" if v == DEFAULT_VERSION else v for v in RELEASES)
    wrong = f"is {raw!r}, a Dynamo release this project has no entry for" if isinstance(raw, str) else \
        f"expected a version string, got {describe(raw)}"
    node.problem("version", wrong, f"{known}; to move an install of another release (1.1 included) to one "
                                   "of these, follow docs/upgrade.md")
    return DEFAULT_RELEASE


def _release_name(node: Node) -> str:
    """The operator's Helm release: a name Helm takes, that no other release of the stack has in the
    platform namespace (the NATS release is there too)."""
    name = node.read(keys.RELEASE_NAME)
    if (wrong := helm_release_problem(name)) is not None:
        node.problem("releaseName", wrong, HELM_RELEASE_TEXT)
    elif name in PLATFORM_RELEASES:
        node.problem("releaseName", f"is {name!r}, the name of another Helm release in the platform namespace",
                     "a release name other than " + ", ".join(PLATFORM_RELEASES))
    return name


def _image_tag(node: Node) -> str | None:
    tag = node.read_optional(keys.IMAGE_TAG)
    if tag is not None and (wrong := image_tag_problem(tag)) is not None:
        node.problem("imageTag", wrong, MUTABLE_TAG_TEXT)
    return tag


def read_operator(root: Node) -> OperatorSettings:
    node = root.child("operator")
    release = _release(node)
    repository = node.read(keys.REPOSITORY, release.chart.repository)
    settings = OperatorSettings(
        release=release,
        chart=replace(release.chart, repository=repository),
        release_name=_release_name(node),
        image_tag=_image_tag(node),
        gang_scheduling=node.read(keys.GANG_SCHEDULING_KEY),
        resources=read_resources(node, keys.RESOURCES),
        timeout_seconds=node.read(keys.TIMEOUT_SECONDS),
    )
    node.close()
    return settings


def _refuse_moving_tag(node: Node, key: str, image: str) -> None:
    if (wrong := image_tag_problem(image)) is not None:
        node.problem(key, f"is {image!r}, which {wrong}", MUTABLE_TAG_TEXT)


def _images(node: Node, backend: Backend | None, release: DynamoRelease, efa_pools: list[str]) -> tuple[str, str]:
    """(image, efaImage) of a graph. Workers on EFA pools run `efaImage`, an image with the EFA
    installer: by default the release's `-efa` runtime image; when `image` is set, `efaImage` must be
    too, since a custom image without the EFA libraries falls back to TCP without an error."""
    chosen = backend or VLLM
    image = node.read(G.IMAGE, release.runtime_image(chosen))
    _refuse_moving_tag(node, "image", image)
    efa_image = node.read_optional(G.EFA_IMAGE)
    if efa_image is not None:
        _refuse_moving_tag(node, "efaImage", efa_image)
        return image, efa_image
    if not efa_pools:
        return image, ""
    if node.has("image"):
        node.problem("efaImage", f"is not set, but image is and workers run on EFA pool(s) {', '.join(efa_pools)}",
                     f"an image with the EFA installer for them, such as {release.runtime_image(chosen, efa=True)} "
                     "(or one built with --make-efa and `docker build --target aws`)")
    return image, release.runtime_image(chosen, efa=True)


def _trust_remote_code(node: Node, backend: Backend | None) -> bool:
    """`trustRemoteCode`: off unless the graph says so, since it runs the model repository's code."""
    trust = node.read(G.TRUST_REMOTE_CODE)
    if trust and backend is not None and not backend.loads_model_code:
        node.problem("trustRemoteCode", f"is true for the {backend.name}, which loads no model code", "false")
        return False
    return trust


def _cpu_backends() -> str:
    """The backends that run on CPUs, as messages name them."""
    return " and ".join(b.name for b in backends.BACKENDS.values() if not b.gpus)


def _frontend(node: Node, mode: Mode) -> FrontendSpec:
    front = node.child("frontend")
    spec = FrontendSpec(
        replicas=front.read(G.FRONTEND_REPLICAS),
        router_mode=front.read(G.FRONTEND_ROUTER_MODE, "kv" if mode == "disagg" else "round-robin"),
        http_port=front.read(G.FRONTEND_HTTP_PORT),
        resources=read_resources(front, G.FRONTEND_RESOURCES),
    )
    front.close()
    return spec


def _pool(g: Node, backend: Backend | None, pools: Mapping[str, PoolShape], broken: Set[str]) -> PoolShape | None:
    """The pool a worker group names. A pool that is declared but has problems of its own (`broken`)
    is not reported again here; the group is then left out of the capacity plan."""
    gpu = backend is not None and backend.gpus
    declared = sorted({*pools, *broken})
    name = g.string(G.POOL.name, pattern_text="one of " + ", ".join(declared) if declared
                    else "a pool declared in nodePools (none is configured)")
    if name in broken or not name:
        return None
    pool = pools.get(name)
    if pool is None:
        g.problem("pool", f"is {name!r}", "one of " + ", ".join(declared) if declared
                  else "a pool declared in nodePools (none is configured)")
    elif gpu and backend is not None and pool.gpus_per_node == 0:
        g.problem("pool", f"is {name!r}, a pool without GPUs, but the {backend.name} backend needs GPUs",
                  f"a pool with gpusPerNode > 0 (only the {_cpu_backends()} runs on CPU-only pools)")
    elif not gpu and backend is not None and pool.gpus_per_node > 0:
        g.problem("pool", f"is {name!r}, a GPU pool, but the {backend.name} runs on CPUs",
                  "a pool without GPUs (GPU nodes are tainted for workloads that ask for GPUs)")
    return pool


def _group(node: Node, role: Role, backend: Backend | None, pools: Mapping[str, PoolShape],
           broken: Set[str] = frozenset()) -> WorkerGroupSpec | None:
    if not node.has(role):
        return None
    g = node.child(role)
    pool = _pool(g, backend, pools, broken)
    pool_name = str(g.value.get("pool", "")) if pool is None else pool.name
    gpu = backend is not None and backend.gpus
    nodes = g.read(G.NODES)
    default_gpus = (pool.gpus_per_node if pool else 1) if gpu else 0
    gpus = g.integer(G.GPUS_PER_NODE.name, default_gpus, minimum=1 if gpu else 0, maximum=64,
                     allowed="an integer >= 1 for GPU backends" if gpu else f"0: the {_cpu_backends()} runs on CPUs")
    if not gpu and gpus:
        g.problem("gpusPerNode", f"is {gpus}", f"0: the {_cpu_backends()} simulates an engine on CPUs")
    if nodes > 1 and backend is not None and not backend.spans_nodes:
        g.problem("nodes", f"is {nodes}, but the {backend.name} backend cannot span nodes",
                  "1 for " + backend.name + "; " + ", ".join(b.name for b in backends.BACKENDS.values()
                                                             if b.spans_nodes) + " can span nodes")
    tp = g.read(G.TENSOR_PARALLEL, max(1, nodes * gpus))
    pp = g.read(G.PIPELINE_PARALLEL)
    ep = g.read(G.EXPERT_PARALLEL)
    engine = g.raw(G.ENGINE_CONFIG.name)
    if backend is not None:
        found = backend.problems(GroupChoices(role=role, nodes=nodes, gpus_per_node=gpus, tensor_parallel=tp,
                                              expert_parallel=ep, engine_config=engine))
        for problem in found:
            g.problem(problem.key, problem.wrong, problem.allowed)
        if any(problem.key == "engineConfig" for problem in found):
            engine = None
    if not isinstance(engine, Mapping):
        engine = None
    small = not gpu
    plain_env, secret_env = g.string_map_with_secrets(G.ENV.name)
    check_env_names(g, G.ENV.name, {**plain_env, **dict.fromkeys(secret_env, "")})
    efa = gpu and pool is not None and pool.has_efa
    # /dev/shm is memory-backed and counts against the container's memory: on EFA pools, where the
    # guide sizes it at 80Gi, the default memory is the usual 64Gi plus that.
    default_resources = (Resources(cpu="500m", memory="1Gi") if small else
                         Resources(cpu="8", memory="144Gi") if efa else Resources(cpu="8", memory="64Gi"))
    resources = read_resources(g, G.WORKER_RESOURCES, default_resources)
    shared_memory = g.read(G.SHARED_MEMORY, "256Mi" if small else EFA_SHARED_MEMORY if efa else "16Gi")
    if quantity_bytes(shared_memory) > quantity_bytes(resources.memory):
        g.problem("sharedMemory", f"is {shared_memory}, more than resources.memory ({resources.memory})",
                  "at most resources.memory: /dev/shm is memory-backed and counts against the container's "
                  "memory limit, so a worker that fills it is OOM-killed first")
    extra_args: list[str] = g.read(G.EXTRA_ARGS)
    spec = WorkerGroupSpec(
        role=role,
        replicas=g.read(G.REPLICAS),
        pool=pool_name,
        nodes=nodes,
        gpus_per_node=gpus,
        tensor_parallel=tp,
        pipeline_parallel=pp,
        expert_parallel=ep,
        extra_args=tuple(extra_args),
        env=plain_env,
        secret_env=secret_env,
        resources=resources,
        shared_memory=shared_memory,
        engine_config=dict(engine or {}),
        termination_grace_seconds=g.read(G.TERMINATION_GRACE),
    )
    g.close()
    return spec


def _model_source(node: Node, model: str, revision: str, cache: CacheConfig, use_cache: bool) -> str:
    """What the engines load instead of the model id: for a revision pinned to a commit, that commit's
    directory in the cache (every engine takes a local path; none is handed a revision flag)."""
    if revision == "main":
        return ""
    wrong = None
    if not is_commit(revision):
        wrong = f"is {revision!r}"
    elif not is_repo_id(model):
        wrong = f"is set, but the model {model!r} is a path"
    elif not (use_cache and cache.enabled and cache.downloads):
        wrong = "is set, but the graph's model is not downloaded into the cache (modelCache, modelCache.download)"
    if wrong is not None:
        node.problem("modelRevision", wrong, "main, or a 40-character commit of a model the download Job puts in "
                                             "the shared cache (the engines then load that commit's directory)")
        return ""
    return snapshot_path(cache.mount_path, model, revision)


def _ready_default(defaults: EnvironmentDefaults, cache: CacheConfig, use_cache: bool, model: str) -> int:
    """How long `pulumi up` waits for a graph by default: the environment's time to load, plus the
    longest its model's download Job may take when the graph waits for one."""
    waits = use_cache and cache.enabled and cache.downloads and is_repo_id(model)
    return defaults.graph_ready_timeout_minutes + (cache.download_minutes if waits else 0)


def _loader(node: Node, backend: Backend | None) -> tuple[LoadFormat, int | None]:
    loader = node.child("loader")
    load_format = loader.read(G.LOADER_FORMAT)
    concurrency = loader.read_optional(G.LOADER_CONCURRENCY)
    if load_format != "auto" and backend is not None and load_format not in backend.streaming_loaders:
        takes = ", ".join(b.name for b in backends.BACKENDS.values() if load_format in b.streaming_loaders)
        loader.problem("format", f"is {load_format}, which the {backend.name} backend has no flag for here",
                       f"auto for {backend.name}; {takes} takes {load_format} (docs/decisions.md, \"Model loading\")")
        load_format = "auto"
    if concurrency is not None and load_format == "auto":
        loader.problem("concurrency", "is set with format auto", "unset, or format runai_streamer")
        concurrency = None
    loader.close()
    return load_format, concurrency


def _slo(node: Node) -> Slo:
    slo = node.child("slo")
    out = Slo(ttft_ms=slo.read(G.SLO_TTFT), itl_ms=slo.read(G.SLO_ITL), input_tokens=slo.read(G.SLO_INPUT),
              output_tokens=slo.read(G.SLO_OUTPUT))
    slo.close()
    return out


def read_graph(node: Node, *, pools: Mapping[str, PoolShape], release: DynamoRelease, transport: TransportPlan,
               cache: CacheConfig, hf_token: bool, defaults: EnvironmentDefaults,
               broken: Set[str] = frozenset(), on_eks: bool = False) -> GraphSpec:
    name = node.read(G.NAME)
    word = node.read(G.BACKEND)
    backend = backends.backend(word) if word else None
    mode = node.read(G.MODE)
    model = node.read(G.MODEL)
    groups: list[WorkerGroupSpec] = []
    expected = ROLES_BY_MODE[mode]
    for role in ROLES:
        group = _group(node, role, backend, pools, broken)
        if role in expected and group is None:
            node.problem(role, "is required but not set",
                         f"a worker group: {mode} graphs have " + " and ".join(expected))
        elif role not in expected and group is not None:
            node.problem(role, f"is set on a {mode} graph", f"only {' and '.join(expected)} for mode {mode}")
        elif group is not None:
            groups.append(group)
    use_cache = node.read(G.MODEL_CACHE, cache.enabled)
    if use_cache and not cache.enabled:
        node.problem("modelCache", "is true but the stack's modelCache is not enabled",
                     "false, or enable modelCache.enabled")
    revision = node.read(G.MODEL_REVISION)
    size = node.read_optional(G.MODEL_SIZE_GIB)
    load_format, loader_concurrency = _loader(node, backend)
    use_token = node.read(G.HF_TOKEN, hf_token)
    if use_token and not hf_token:
        node.problem("hfToken", "is true but the stack has no hfToken secret",
                     "false, or `pulumi config set --secret dynamo-cluster:hfToken ...`")
    efa_pools = sorted({g.pool for g in groups if backend is not None and backend.gpus and g.pool in pools
                        and pools[g.pool].has_efa})
    image, efa_image = _images(node, backend, release, efa_pools)
    spec = GraphSpec(
        name=name,
        backend=backend or MOCKER,  # a placeholder: an unknown backend is a problem already
        model=model,
        served_model_name=node.read(G.SERVED_MODEL_NAME, model or "model"),
        mode=mode,
        image=image,
        efa_image=efa_image,
        nixl_telemetry=node.read(G.NIXL_TELEMETRY),
        trust_remote_code=_trust_remote_code(node, backend),
        frontend=_frontend(node, mode),
        groups=tuple(groups),
        use_model_cache=use_cache,
        use_hf_token=use_token,
        check_parallelism=node.read(G.CHECK_PARALLELISM),
        ready_timeout_minutes=node.read(G.READY_TIMEOUT_MINUTES, _ready_default(defaults, cache, use_cache, model)),
        release=release,
        transport=transport,
        model_revision=revision,
        model_size_gib=size,
        model_source=_model_source(node, model, revision, cache, use_cache) if model else "",
        load_format=load_format,
        loader_concurrency=loader_concurrency,
        slo=_slo(node),
        endpoint=read_endpoint(node, defaults, on_eks=on_eks),
    )
    if name:
        for wrong, allowed in release.limits.problems(name, spec.components):
            node.problem("name", wrong, allowed)
    node.close()
    return spec


def read_graphs(root: Node, *, pools: Mapping[str, PoolShape], release: DynamoRelease, transport: TransportPlan,
                cache: CacheConfig, hf_token: bool, defaults: EnvironmentDefaults,
                broken: Set[str] = frozenset(), on_eks: bool = False) -> tuple[GraphSpec, ...]:
    graphs = tuple(read_graph(n, pools=pools, release=release, transport=transport, cache=cache,
                              hf_token=hf_token, defaults=defaults, broken=broken, on_eks=on_eks)
                   for n in root.objects("graphs"))
    seen: dict[str, int] = {}
    for index, graph in enumerate(graphs):
        if graph.name and graph.name in seen:
            root.problems.add(f"graphs[{index}].name", f"is {graph.name!r}, already used by graphs[{seen[graph.name]}]",
                              "a name unique among the stack's graphs")
        seen.setdefault(graph.name, index)
    _check_model_sizes(root, graphs)
    return graphs


def _check_model_sizes(root: Node, graphs: tuple[GraphSpec, ...]) -> None:
    """Graphs of one model and revision share its download and its place in the cache: the sizes
    they give must agree."""
    first: dict[tuple[str, str], tuple[int, int]] = {}
    for index, graph in enumerate(graphs):
        if graph.model_size_gib is None or not graph.model:
            continue
        key = (graph.model, graph.model_revision)
        if key in first and first[key][1] != graph.model_size_gib:
            other, size = first[key]
            root.problems.add(f"graphs[{index}].modelSizeGiB",
                              f"is {graph.model_size_gib}, but graphs[{other}] gives {size} for {graph.model} "
                              f"({graph.model_revision})", f"{size}, or unset: one model has one size")
        first.setdefault(key, (index, graph.model_size_gib))


def read_dynamo(root: Node, *, defaults: EnvironmentDefaults, cache: CacheConfig, pools: Mapping[str, PoolShape],
                hf_token: bool, broken_pools: Set[str] = frozenset(), on_eks: bool = False) -> DynamoConfig:
    """`broken_pools`: pools declared in nodePools that have problems of their own (and no shape).
    `cache`: the modelCache section, read before (it needs the node pools and the aws section)."""
    transport = read_transport(root)
    operator = read_operator(root)
    graphs = read_graphs(root, pools=pools, release=operator.release, transport=transport,
                         cache=cache, hf_token=hf_token, defaults=defaults, broken=broken_pools, on_eks=on_eks)
    return DynamoConfig(transport=transport, operator=operator, model_cache=cache.settings, graphs=graphs,
                        pull_secret_name=PULL_SECRET_NAME, hf_secret_name=HF_SECRET_NAME, registry=NGC_REGISTRY)
