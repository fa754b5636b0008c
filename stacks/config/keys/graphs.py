"""The ``graphs`` keys: each item one DynamoGraphDeployment; its worker groups are declared once, as
``graphs[].worker``, and read under ``prefill`` and ``decode`` too."""

from __future__ import annotations

from typing import Any

from components.dynamo import backends
from components.dynamo.words import LOAD_FORMATS, MODES, NIXL_TELEMETRY_MODES, ROUTER_MODES
from stacks.config.keys.common import resources
from stacks.config.schema import (
    Derived,
    Fixed,
    Flag,
    Free,
    Integer,
    Key,
    Kind,
    Node,
    Required,
    Size,
    StringList,
    Text,
    Unset,
    Word,
)

IMAGE_PATTERN = r"^[a-z0-9.\-/:_]+(:[A-Za-z0-9_.\-]+|@sha256:[a-f0-9]{64})$"
IMAGE_TEXT = "an image pinned by tag or digest (registry/repository:tag), never :latest"
GRAPH_NAME = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"


class BackendName(Kind[str]):
    """A backend's name: one of the backends registered when the key is read (a test may add one)."""

    def text(self) -> str:
        return " \\| ".join(f"`{name}`" for name in backends.names())

    def read(self, node: Node, name: str, default: str | None) -> str:
        return node.choice(name, backends.names(), default) or ""


NAME = Key(
    "graphs[].name",
    Text("DNS label", GRAPH_NAME, "a DNS label: lower-case letters, digits and '-' (it names the graph's pods)"),
    Required(),
    "`llama-disagg`",
    "Name of the DynamoGraphDeployment; unique in the stack. Its length is limited by the release's "
    "Grove budget: the graph's name, a component's name and, for a component that spans nodes, its "
    "longest clique name (`<component>-ldr`) fit 45 characters together. So at most 27 characters for"
    " a disaggregated graph whose prefill spans nodes, 29 when only decode does, 37 for single-node "
    "graphs; the error names the limit of the graph at hand.",
)
BACKEND = Key(
    "graphs[].backend",
    BackendName(),
    Required(),
    "`sglang`",
    "The engine. `mocker` simulates one on CPUs (dev, tests).",
)
MODE = Key(
    "graphs[].mode",
    Word(MODES),
    Fixed("disagg"),
    "`agg`",
    "Aggregated (one `worker` group) or disaggregated prefill/decode.",
)
MODEL = Key(
    "graphs[].model",
    Text("string", None, "a model id such as Qwen/Qwen3-0.6B"),
    Required(),
    "`Qwen/Qwen3-0.6B`",
    "Model id (Hugging Face) or path.",
)
SERVED_MODEL_NAME = Key(
    "graphs[].servedModelName", Text("string"), Derived("the model"), "`qwen3`", "Name clients use in the OpenAI API."
)
IMAGE = Key(
    "graphs[].image",
    Text("image reference", IMAGE_PATTERN, IMAGE_TEXT),
    Derived(
        "the release's runtime image of the backend (`nvcr.io/nvidia/ai-dynamo/<backend>-runtime:<version>`; "
        "the mocker runs in `dynamo-planner`)"
    ),
    "`nvcr.io/nvidia/ai-dynamo/sglang-runtime:1.4.2`",
    "Runtime image of the graph's frontend and workers, pinned by tag or digest; `:latest` is "
    "refused. A tag that is not a semantic version (or a digest) gets `runtimeVersionOverride` set to"
    " the release's version, which the operator's admission then requires.",
)
EFA_IMAGE = Key(
    "graphs[].efaImage",
    Text("image reference", IMAGE_PATTERN, IMAGE_TEXT),
    Unset(
        "unset `image`: the release's `-efa` runtime image of the backend "
        "(`nvcr.io/nvidia/ai-dynamo/<backend>-runtime:<version>-efa`); set `image`: required when workers run on "
        "an EFA pool"
    ),
    "`nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa`",
    "Image of the workers on EFA pools: it must carry the EFA installer's libraries (libfabric, "
    "aws-ofi-nccl), or NIXL falls back to TCP without an error. Frontends and workers elsewhere keep "
    "`image`. Its tag (`-efa` is no plain version) gets `runtimeVersionOverride`.",
)
NIXL_TELEMETRY = Key(
    "graphs[].nixlTelemetry",
    Word(NIXL_TELEMETRY_MODES),
    Fixed("auto"),
    "`on`",
    "NIXL's Prometheus exporter (`NIXL_TELEMETRY_*`, port 19090, scraped by the graph's PodMonitor "
    "when observability is on) on disaggregated workers. `auto`: on where a pod runs one NIXL agent "
    "(one GPU); off where several tensor-parallel ranks would each open port 19090, which NIXL up to "
    "1.4.0 turns into a failed agent (docs/decisions.md). `on` forces it, for an image whose NIXL has"
    " the fix.",
)
TRUST_REMOTE_CODE = Key(
    "graphs[].trustRemoteCode",
    Flag(),
    Fixed(False),
    "`true`",
    "Let the engine run Python code from the model's repository (custom model, configuration or "
    "tokenizer classes): vLLM and SGLang get `--trust-remote-code`, TensorRT-LLM `trust_remote_code: "
    "true` in its engine configuration. That code runs inside every worker with the worker's access "
    "(the model cache, the Hugging Face token, and on EFA pools a privileged container), so set it "
    "only for repositories you trust, ideally pinned to a revision. Not for the mocker.",
)
MODEL_CACHE = Key(
    "graphs[].modelCache",
    Flag(),
    Derived("true when `modelCache.enabled`"),
    "`false`",
    "Mount the shared model cache (and wait for the model's download Job).",
)
MODEL_REVISION = Key(
    "graphs[].modelRevision",
    Text("`main` or a 40-character commit", None, "main, or a 40-character commit"),
    Fixed("main"),
    "`a1b2c3...` (40 hex)",
    "The revision of `model` its download Job fetches; graphs of one model and revision share one "
    "Job, and a changed revision is a new Job. A commit pins the model: the engines are handed that "
    "commit's directory in the cache (`/models/hub/models--<org>--<name>/snapshots/<commit>`) as "
    "their model path, served under `servedModelName`. Needs the cache and its downloads.",
)
MODEL_SIZE_GIB = Key(
    "graphs[].modelSizeGiB",
    Integer(1, 1_000_000),
    Unset(),
    "`642`",
    "The model's size in the cache, for the capacity check (plan summary, warnings, `preflight`). "
    "Graphs of one model must agree. Unset: preflight reads it from the model's finished download.",
)
LOADER_FORMAT = Key(
    "graphs[].loader.format",
    Word(LOAD_FORMATS),
    Fixed("auto"),
    "`runai_streamer`",
    "How the engine reads its weights. `runai_streamer` (vLLM only): `--load-format runai_streamer`, "
    "vLLM's Run:ai Model Streamer, which reads safetensors with many threads at once (suits Lustre "
    "and EFS). Needs `vllm[runai]` (the `runai-model-streamer` package) in the image and safetensors "
    'weights. SGLang and TensorRT-LLM get no flag here (docs/decisions.md, "Model loading").',
)
LOADER_CONCURRENCY = Key(
    "graphs[].loader.concurrency",
    Integer(1, 1024),
    Unset("the streamer's default"),
    "`16`",
    "With `runai_streamer`: reader threads, as `--model-loader-extra-config '{\"concurrency\": N}'`.",
)
HF_TOKEN = Key(
    "graphs[].hfToken",
    Flag(),
    Derived("true when `hfToken` is set"),
    "`false`",
    "Expose the Hugging Face token to the graph's pods.",
)
CHECK_PARALLELISM = Key(
    "graphs[].checkParallelism",
    Flag(),
    Fixed(True),
    "`false`",
    "Require tensor x pipeline parallel to equal the GPUs a replica spans (nodes x GPUs per node).",
)
READY_TIMEOUT_MINUTES = Key(
    "graphs[].readyTimeoutMinutes",
    Integer(5, 1440),
    Derived(
        "dev: 20; prod: 60; plus `modelCache.download.timeoutMinutes` when the graph waits for its model's download Job"
    ),
    "`120`",
    "How long `pulumi up` waits for the operator to report the graph `successful` (model download and load).",
)
SLO_TTFT = Key(
    "graphs[].slo.ttftMilliseconds",
    Integer(1, 600_000),
    Fixed(2000),
    "`500`",
    "The graph's target for time to first token, at the 95th percentile: `python -m stacks bench` names the "
    "highest concurrency that meets it (with `slo.itlMilliseconds`) and draws it on its plots.",
)
SLO_ITL = Key(
    "graphs[].slo.itlMilliseconds",
    Integer(1, 60_000),
    Fixed(100),
    "`30`",
    "The graph's target for inter-token latency, at the 95th percentile (`python -m stacks bench`).",
)
SLO_INPUT = Key(
    "graphs[].slo.inputTokens",
    Integer(1, 1_000_000),
    Fixed(512),
    "`2048`",
    "The prompt length the targets are stated for: `bench` sends synthetic prompts of this many tokens.",
)
SLO_OUTPUT = Key(
    "graphs[].slo.outputTokens",
    Integer(1, 1_000_000),
    Fixed(128),
    "`256`",
    "The answer length the targets are stated for: `bench` asks for this many tokens (ignoring end of sequence).",
)
FRONTEND_REPLICAS = Key(
    "graphs[].frontend.replicas", Integer(1, 64), Fixed(1), "`2`", "Frontend (OpenAI-compatible HTTP) replicas."
)
FRONTEND_ROUTER_MODE = Key(
    "graphs[].frontend.routerMode",
    Word(ROUTER_MODES),
    Derived("disagg: `kv`; agg: `round-robin`"),
    "`kv`",
    "How the frontend picks a worker; `kv` routes by KV-cache overlap. With `kv` (and "
    "`dynamo.eventPlane` not `none`) the workers the router picks publish their KV events, as "
    "upstream's `*_router` examples do: an agg graph's workers, a disagg graph's prefill workers; "
    "vLLM and SGLang with `--kv-events-config` (the engine's local ZMQ publisher, relayed over the "
    "stack's event plane), TensorRT-LLM with the release's flag (`--publish-kv-events`, with "
    "`--publish-metrics` from 1.6).",
)
FRONTEND_HTTP_PORT = Key(
    "graphs[].frontend.httpPort", Integer(1024, 65535), Fixed(8000), "`8080`", "Frontend HTTP port."
)
FRONTEND_RESOURCES = resources(
    "graphs[].frontend.resources",
    cpu=Fixed("1"),
    memory=Fixed("2Gi"),
    examples=("`2`", "`4Gi`", "`4`"),
    docs=("Frontend CPU request.", "Frontend memory request and limit.", "Frontend CPU limit."),
)
POOL = Key(
    "graphs[].worker.pool",
    Text("pool name", None, "a pool declared in nodePools"),
    Required(),
    "`h100-efa`",
    "The `nodePools[].name` the group runs on; placement (node selector, tolerations, EFA) comes from it.",
)
REPLICAS = Key("graphs[].worker.replicas", Integer(1, 256), Fixed(1), "`2`", "Replicas of the group.")
NODES = Key(
    "graphs[].worker.nodes",
    Integer(1, 64),
    Fixed(1),
    "`2`",
    "Nodes one replica spans (multi-node engines; not the mocker).",
)
GPUS_PER_NODE = Key(
    "graphs[].worker.gpusPerNode",
    Integer(0, 64),
    Derived("GPU backends: the pool's GPUs per node; mocker: 0"),
    "`4`",
    "GPUs each pod of a replica asks for.",
)
TENSOR_PARALLEL = Key(
    "graphs[].worker.tensorParallel", Integer(1, 512), Derived("nodes x gpusPerNode"), "`8`", "Tensor-parallel size."
)
PIPELINE_PARALLEL = Key("graphs[].worker.pipelineParallel", Integer(1, 64), Fixed(1), "`2`", "Pipeline-parallel size.")
EXPERT_PARALLEL = Key(
    "graphs[].worker.expertParallel",
    Integer(1, 512),
    Fixed(1),
    "`8`",
    "Expert-parallel size (MoE models); for vLLM 1 or equal to tensorParallel.",
)
EXTRA_ARGS = Key(
    "graphs[].worker.extraArgs",
    StringList(),
    Fixed([]),
    '`["--mem-fraction-static", "0.82"]`',
    "Extra engine arguments, appended to the backend's own.",
)
ENV = Key(
    "graphs[].worker.env",
    Free("map of strings (a value may be a secret)"),
    Fixed({}),
    "`{NCCL_DEBUG: WARN}`",
    "Extra environment of the worker container. Names are letters, digits, `_`, `-` and `.`, not "
    "starting with a digit (what every supported Kubernetes accepts). A key set here replaces the "
    "data path's own (`FI_*`, `NCCL_DEBUG`, `NIXL_TELEMETRY_*` on EFA pools). A value that is a "
    "credential is set as a secret, `pulumi config set --secret --path "
    "'dynamo-cluster:graphs[0].prefill.env.API_KEY' ...`: it reaches the pods through the Secret "
    "`<graph>-<role>-env` (a `secretKeyRef`), never in the graph's spec, and a token written in plain"
    " text here is refused.",
)
WORKER_RESOURCES = resources(
    "graphs[].worker.resources",
    cpu=Derived("GPU: `8`; mocker: `500m`"),
    memory=Derived("GPU: `64Gi`, on an EFA pool `144Gi` (64Gi plus the 80Gi `/dev/shm`); mocker: `1Gi`"),
    examples=("`16`", "`256Gi`", "`32`"),
    docs=(
        "Worker CPU request.",
        "Worker memory request and limit. `/dev/shm` is memory-backed and counts against it.",
        "Worker CPU limit.",
    ),
)
SHARED_MEMORY = Key(
    "graphs[].worker.sharedMemory",
    Size(),
    Derived("GPU: `16Gi`, on an EFA pool `80Gi` (the EFA guide's size); mocker: `256Mi`"),
    "`64Gi`",
    "Size of `/dev/shm` (NCCL, engine IPC). At most `resources.memory`.",
)
ENGINE_CONFIG = Key(
    "graphs[].worker.engineConfig",
    Free("object"),
    Unset("`{}`"),
    "`{kv_cache_config: {free_gpu_memory_fraction: 0.9}}`",
    "TensorRT-LLM only: settings merged over the generated engine configuration (parallelism, cache transceiver).",
)
TERMINATION_GRACE = Key(
    "graphs[].worker.terminationGracePeriodSeconds",
    Integer(30, 7200),
    Fixed(600),
    "`900`",
    "Time a worker gets to drain in-flight requests on scale-in or update.",
)

GRAPH_KEYS: tuple[Key[Any], ...] = (
    NAME,
    BACKEND,
    MODE,
    MODEL,
    SERVED_MODEL_NAME,
    IMAGE,
    EFA_IMAGE,
    NIXL_TELEMETRY,
    TRUST_REMOTE_CODE,
    MODEL_CACHE,
    MODEL_REVISION,
    MODEL_SIZE_GIB,
    LOADER_FORMAT,
    LOADER_CONCURRENCY,
    HF_TOKEN,
    CHECK_PARALLELISM,
    READY_TIMEOUT_MINUTES,
    SLO_TTFT,
    SLO_ITL,
    SLO_INPUT,
    SLO_OUTPUT,
    FRONTEND_REPLICAS,
    FRONTEND_ROUTER_MODE,
    FRONTEND_HTTP_PORT,
    *FRONTEND_RESOURCES.keys,
)
WORKER_KEYS: tuple[Key[Any], ...] = (
    POOL,
    REPLICAS,
    NODES,
    GPUS_PER_NODE,
    TENSOR_PARALLEL,
    PIPELINE_PARALLEL,
    EXPERT_PARALLEL,
    EXTRA_ARGS,
    ENV,
    *WORKER_RESOURCES.keys,
    SHARED_MEMORY,
    ENGINE_CONFIG,
    TERMINATION_GRACE,
)
KEYS: tuple[Key[Any], ...] = (*GRAPH_KEYS, *WORKER_KEYS)
