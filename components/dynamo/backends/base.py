"""What a backend is: one typed profile per engine Dynamo runs (`Backend`), and what it is handed.

A backend module (`vllm`, `sglang`, `trtllm`, `mocker`) subclasses `Backend` once and says
everything this project knows of that engine: the Dynamo module its workers run, its runtime image,
whether it needs GPUs, spans nodes and moves KV caches between prefill and decode, its worker command
line (`worker_args`, from a `Worker`), how it publishes KV events, how NIXL is told to use LIBFABRIC
over EFA, its configuration checks, the KV-transfer metrics it publishes and what `verify` says
about it. Everything else (the graph builders, the config reader, the plan, the policy pack,
dashboards, alerts, verify) asks the profile, never a backend's name.

A Dynamo release that changes a backend's flags says so in a `BackendRelease` of its entry
(`components.dynamo.releases`), which the profile reads: the profile holds the newest release's
behaviour, and older entries carry what was different then.

Nothing here knows the graph settings (`components.dynamo.spec`): a backend sees the few values of
its own `Worker`, so the backends sit below the graph model and import nothing of it.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from components.dynamo.words import DISAGG_ROLES, LoadFormat, Role

LIBFABRIC = "LIBFABRIC"
# Where a worker finds its engine configuration file (`Backend.engine_config`), mounted from a
# ConfigMap of the graph with one key per worker group.
ENGINE_CONFIG_DIR = "/etc/dynamo/engine"


def engine_config_file(role: str) -> str:
    """The engine configuration file of a worker group, by its role (one key of the ConfigMap)."""
    return f"{role}.yaml"


@dataclass(frozen=True)
class BackendRelease:
    """What one Dynamo release changes of one backend's defaults (None or empty: nothing)."""

    # The worker flags that publish KV events for a KV router, instead of the backend's own.
    kv_events_args: tuple[str, ...] | None = None
    # Flags every worker of the backend gets on this release, after the backend's own.
    worker_args: tuple[str, ...] = ()


NO_CHANGES = BackendRelease()


@dataclass(frozen=True)
class Worker:
    """What a worker group's command line is made of: the model, its parallelism, its role in the
    graph, where it runs (`efa`: an EFA pool) and what the release changes."""

    role: Role
    model: str  # what the engine loads: a model id, or a commit's directory in the cache
    served_model_name: str
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    expert_parallel: int = 1
    multinode: bool = False
    efa: bool = False
    kv_events: bool = False  # publishes KV events for the graph's KV router
    kv_router: bool = False  # the graph's frontend routes by KV cache overlap
    trust_remote_code: bool = False
    load_format: LoadFormat = "auto"
    loader_concurrency: int | None = None
    engine_config: Mapping[str, Any] = field(default_factory=dict)  # the group's engineConfig
    release: BackendRelease = NO_CHANGES
    # The group's extraArgs, which follow the backend's flags: a default flag they set is left out.
    extra_args: tuple[str, ...] = ()

    @property
    def disaggregated(self) -> bool:
        return self.role in DISAGG_ROLES


@dataclass(frozen=True)
class GroupChoices:
    """What a worker group's config chose, as a backend's checks see it (`Backend.problems`)."""

    role: Role
    nodes: int
    gpus_per_node: int
    tensor_parallel: int
    expert_parallel: int
    engine_config: object  # as written (None: not set)
    extra_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A config key (relative to the worker group) and what is wrong with it, and what is allowed."""

    key: str
    wrong: str
    allowed: str


@dataclass(frozen=True)
class TransferMetrics:
    """The KV-transfer series an engine's workers publish on their system port, whatever NIXL's own
    telemetry does. They join the metric catalog (`components.observability.metrics_catalog`) as one
    group: `exporter` says who publishes them, `source` where the names were read, `labels` what
    queries may rely on."""

    exporter: str
    source: str
    bytes: str  # a histogram of bytes per transfer: `_sum` is bytes moved, `_count` transfers
    latency: str  # a histogram of seconds per transfer
    latency_title: str  # what the engine calls that time
    failed: str | None = None  # a counter of failed transfers, where the engine has one
    counters: tuple[str, ...] = ()  # other counters it exposes
    labels: str = ""
    # Published only by workers that publish KV events (TensorRT-LLM's flag turns both on).
    with_kv_events: bool = False
    # `verify --dataplane` reads them: the EFA guide's verification names them (docs/decisions.md).
    verified: bool = False

    @property
    def bytes_sum(self) -> str:
        return f"{self.bytes}_sum"

    @property
    def transfers(self) -> str:
        return f"{self.bytes}_count"


class Backend(ABC):
    """One engine's profile. Subclasses set the class attributes and `worker_args`; the defaults of
    everything else fit an engine that needs nothing special."""

    name: ClassVar[str]  # the config word (graphs[].backend)
    title: ClassVar[str]  # how people write it (vLLM)
    module: ClassVar[str]  # the worker runs `python3 -m <module>`
    image_repository: ClassVar[str]  # under the release's registry
    # spec.backendFramework of its DynamoGraphDeployments (None: not set)
    framework: ClassVar[str | None] = None
    gpus: ClassVar[bool] = True  # its workers need GPUs (else they run on CPU-only pools)
    spans_nodes: ClassVar[bool] = True  # one replica may span nodes
    efa_image: ClassVar[bool] = True  # the release has a `-efa` variant of its image
    moves_kv: ClassVar[bool] = True  # disaggregated workers move KV caches with NIXL
    loads_model_code: ClassVar[bool] = True  # `trustRemoteCode` means something to it
    # Loaders other than `auto` it takes (graphs[].loader.format)
    streaming_loaders: ClassVar[tuple[LoadFormat, ...]] = ()
    # Its workers publish KV events without a flag; the KV router hears them as soon as it listens.
    kv_events_without_flag: ClassVar[bool] = False
    transfer_metrics: ClassVar[TransferMetrics | None] = None
    # Decode workers log the share of prompt tokens whose KV came from prefill (`verify --dataplane`).
    logs_decode_hits: ClassVar[bool] = False
    # The library directories its `-efa` image needs after the EFA ones, for a worker that cannot run
    # under the library-path wrapper (`wraps_command`) and so gets LD_LIBRARY_PATH as a whole env value.
    efa_image_library_path: ClassVar[tuple[str, ...]] = ()
    # The engine's own server arguments its workers are given (the wrapper hands them to the engine):
    # the conformance suite checks every other flag against the release's wrapper parser, and these
    # only against this list, since the engine itself cannot be installed there.
    engine_flags: ClassVar[frozenset[str]] = frozenset()

    def __repr__(self) -> str:
        return f"<backend {self.name}>"

    def __str__(self) -> str:
        return self.name

    # -- the command line -----------------------------------------------------------------------
    def command(self) -> list[str]:
        return ["python3", "-m", self.module]

    @abstractmethod
    def worker_args(self, worker: Worker) -> list[str]:
        """The worker's flags, before the group's extraArgs."""

    def kv_events_args(self, worker: Worker) -> list[str]:
        """The flags that make the worker publish KV events (the release's, where it says)."""
        if worker.release.kv_events_args is not None:
            return list(worker.release.kv_events_args)
        return self.default_kv_events_args(worker)

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        return []

    def loader_args(self, worker: Worker) -> list[str]:
        """The flags of the worker's weight loader (graphs[].loader), for an engine with `streaming_loaders`."""
        return []

    def wraps_command(self, multinode: bool) -> bool:
        """Whether a worker's command may run under the library-path shell wrapper (the operator
        injects its multi-node flags into such a wrapper for most engines)."""
        return True

    def graph_env(self) -> dict[str, str]:
        """Env every pod of a graph of this backend gets."""
        return {}

    def worker_env(self, worker: Worker) -> dict[str, str]:
        """Env a worker group's pods get from their engine (the data path's and the group's own env
        come after it and win)."""
        return {}

    def engine_config(self, worker: Worker) -> dict[str, Any] | None:
        """The engine configuration file a worker reads (mounted from a ConfigMap), or None."""
        return None

    # -- the data path --------------------------------------------------------------------------
    def nixl_backend_env(self) -> dict[str, str]:
        """The env that tells the engine's NIXL to use LIBFABRIC on EFA pools (vLLM: in its flag)."""
        return {}

    def nixl_switch(self) -> str:
        """Where the LIBFABRIC switch of this engine is, as `verify --dataplane` names it."""
        return ", ".join(self.nixl_backend_env()) or "none"

    def switch_overrides(self, group: GroupChoices) -> list[str]:
        """What a group's own config does to the LIBFABRIC switch the recipe sets."""
        out = []
        for key, value in self.nixl_backend_env().items():
            if key in group.env and group.env[key] != value:
                out.append(f"the group's env sets {key}={group.env[key]} instead of {value}")
        return out

    def reports_kv_bytes(self, publishes_kv_events: bool) -> bool:
        """Whether its workers report the KV bytes they move (without NIXL's telemetry)."""
        metrics = self.transfer_metrics
        return metrics is not None and (publishes_kv_events or not metrics.with_kv_events)

    # -- config ---------------------------------------------------------------------------------
    def problems(self, group: GroupChoices) -> list[Problem]:
        """What is wrong with a worker group's config for this engine."""
        out = []
        if group.engine_config is not None:
            out.append(Problem("engineConfig", "is set",
                               f"unset: the {self.name} backend reads no engine configuration file"))
        return out


def sets_flag(args: Sequence[str], flag: str) -> bool:
    """Whether a command line sets `flag`, as `--flag value` or `--flag=value`."""
    return any(arg == flag or arg.startswith(f"{flag}=") for arg in args)


def compact_json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))
