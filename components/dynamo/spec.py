"""What a Dynamo graph deployment is, as settings: the frozen dataclasses the stack config is parsed
into and the DGD builders read. No Pulumi here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.dynamo.backends.base import Backend, GroupChoices
from components.dynamo.releases import DEFAULT_RELEASE, DynamoRelease
from components.dynamo.transport import UPSTREAM_DEFAULTS, TransportPlan
from components.dynamo.words import LoadFormat, Mode, NixlTelemetry, Role, RouterMode
from components.ingress.settings import ClusterOnly, Endpoint
from components.kit.resources import Resources
from components.kit.secret import SecretValue

# The name of the frontend component of every graph; worker components are named after their role.
FRONTEND = "frontend"


@dataclass(frozen=True)
class FrontendSpec:
    replicas: int
    router_mode: RouterMode
    http_port: int
    resources: Resources


@dataclass(frozen=True)
class WorkerGroupSpec:
    """One worker group (agg `worker`, or disagg `prefill` / `decode`)."""

    role: Role
    replicas: int
    pool: str
    nodes: int                      # nodes one replica spans
    gpus_per_node: int              # GPUs each pod of a replica asks for
    tensor_parallel: int
    pipeline_parallel: int
    expert_parallel: int
    extra_args: tuple[str, ...]
    env: Mapping[str, str]
    resources: Resources
    shared_memory: str
    engine_config: Mapping[str, Any] = field(default_factory=dict)   # TensorRT-LLM engine YAML overrides
    termination_grace_seconds: int = 600
    # env entries set as secrets: they reach the pods through a Secret of the graph, never in its spec
    secret_env: Mapping[str, SecretValue] = field(default_factory=dict)

    def choices(self) -> GroupChoices:
        """The group as its backend's checks see it."""
        return GroupChoices(role=self.role, nodes=self.nodes, gpus_per_node=self.gpus_per_node,
                            tensor_parallel=self.tensor_parallel, expert_parallel=self.expert_parallel,
                            engine_config=self.engine_config, extra_args=self.extra_args, env=self.env)

    @property
    def gpus_per_replica(self) -> int:
        return self.nodes * self.gpus_per_node

    @property
    def multinode(self) -> bool:
        return self.nodes > 1


@dataclass(frozen=True)
class Slo:
    """What a graph is meant to deliver, and for which requests: `python -m stacks bench` measures it
    (the 95th percentiles of time to first token and inter-token latency at each concurrency level)."""

    ttft_ms: int = 2000
    itl_ms: int = 100
    input_tokens: int = 512
    output_tokens: int = 128


@dataclass(frozen=True)
class GraphSpec:
    """One DynamoGraphDeployment, on the stack's Dynamo `release` and `transport` plan."""

    name: str
    backend: Backend  # its engine's profile (components.dynamo.backends)
    model: str
    served_model_name: str
    mode: Mode
    image: str
    frontend: FrontendSpec
    groups: tuple[WorkerGroupSpec, ...]
    use_model_cache: bool
    use_hf_token: bool
    check_parallelism: bool
    ready_timeout_minutes: int
    release: DynamoRelease = DEFAULT_RELEASE
    transport: TransportPlan = UPSTREAM_DEFAULTS
    # The image of workers on EFA pools, which carries the EFA installer ("": the release's -efa
    # runtime image of the backend).
    efa_image: str = ""
    nixl_telemetry: NixlTelemetry = "auto"
    # Run Python code shipped in the model's repository (custom model, config or tokenizer classes).
    trust_remote_code: bool = False
    # The model's revision in the shared cache ("main", or a commit), and its size when config says.
    model_revision: str = "main"
    model_size_gib: int | None = None
    # What the engines are handed instead of `model` ("": the model itself): the cache path of the
    # downloaded commit, for a graph pinned to one (`modelRevision`).
    model_source: str = ""
    load_format: LoadFormat = "auto"
    loader_concurrency: int | None = None  # the streaming loader's reader threads (None: its default)
    slo: Slo = Slo()
    endpoint: Endpoint = field(default_factory=ClusterOnly)  # how the frontend is reached beyond its ClusterIP Service

    @property
    def engine_model(self) -> str:
        """The model argument of the engines: the cache path of a pinned commit, or the model."""
        return self.model_source or self.model

    @property
    def frontend_service(self) -> str:
        """The Service the Dynamo operator creates for the graph's frontend: named after the graph and
        its frontend component (upstream's EKS guide port-forwards ``svc/<graph>-frontend``)."""
        return f"{self.name}-{FRONTEND}"

    def frontend_url(self, namespace: str) -> str:
        """The frontend's in-cluster base URL."""
        return f"http://{self.frontend_service}.{namespace}.svc.cluster.local:{self.frontend.http_port}"

    @property
    def components(self) -> tuple[tuple[str, bool], ...]:
        """(component name, spans nodes) of every component of the DynamoGraphDeployment, in order."""
        return ((FRONTEND, False), *((g.role, g.multinode) for g in self.groups))

    @property
    def pools(self) -> frozenset[str]:
        """The names of the pools the graph's worker groups run on."""
        return frozenset(g.pool for g in self.groups)

    @property
    def multinode(self) -> bool:
        return any(g.multinode for g in self.groups)
