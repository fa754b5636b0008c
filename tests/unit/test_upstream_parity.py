"""Our graphs against Dynamo 1.4's v1beta1 examples (agg, agg_router, disagg, disagg_router,
disagg-multinode, per backend), as expectations written down here from reading them: component
types, GPUs per pod, nodes per replica, and the engine flags that decide disaggregation, KV transfer
and KV events. The examples themselves are not part of the project; the deliberate differences are
listed in docs/decisions.md (component names, component types of disagg_router, which follows 1.5,
`--kv-transfer-config` on vLLM's decode side, which 1.4's multi-node example and 1.5 also set,
SGLang's `--page-size 16` on multi-node workers too, which only the multi-node example leaves out,
and `GLOO_SOCKET_IFNAME` on the multi-node workers' container rather than the graph's `env`)."""

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from components.dynamo.dgd import GraphWiring, dgd_manifest
from components.dynamo.words import Mode
from tests.graph_fixtures import POOLS, engine_args, graph

WIRING = GraphWiring(namespace="dynamo")


@dataclass(frozen=True)
class Example:
    """One upstream example, as we read it."""

    backend: str
    topology: str  # agg, agg_router, disagg, disagg_router, disagg-multinode
    types: tuple[str, ...]  # component types after the frontend
    gpus: str = "1"  # nvidia.com/gpu limit of each worker pod
    nodes: int = 1  # multinode.nodeCount
    flags: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> flag -> value (None: present)
    absent: dict[str, tuple[str, ...]] = field(default_factory=dict)  # type -> flags it does not have
    env: dict[str, str] = field(default_factory=dict)  # env every worker gets (upstream: the graph's env)

    @property
    def mode(self) -> Mode:
        return "agg" if self.topology.startswith("agg") else "disagg"

    @property
    def router(self) -> str:
        return "kv" if self.topology.endswith("router") else "round-robin"


NIXL = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
VLLM_EVENTS = {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:20080", "enable_kv_cache_events": True}
SGLANG_EVENTS = {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"}
EVENT_FLAGS = ("--kv-events-config", "--publish-events-and-metrics", "--publish-kv-events")
# Upstream's 1.4 TensorRT-LLM examples write --publish-events-and-metrics; the 1.4.2 wheel's own parser
# calls it a deprecated alias of --publish-kv-events (tests/conformance/test_worker_flags.py runs it), so
# ours renders the flag it names instead (docs/decisions.md, "Dynamo 1.4").
TRTLLM_EVENTS = "--publish-kv-events"

EXAMPLES = [
    Example("vllm", "agg", ("worker",), absent={"worker": ("--disaggregation-mode", *EVENT_FLAGS)}),
    Example("vllm", "agg_router", ("worker",), flags={"worker": {"--kv-events-config": VLLM_EVENTS}}),
    Example("vllm", "disagg", ("prefill", "decode"),
            flags={"prefill": {"--disaggregation-mode": "prefill", "--kv-transfer-config": NIXL},
                   "decode": {"--disaggregation-mode": "decode"}},
            absent={"prefill": EVENT_FLAGS, "decode": EVENT_FLAGS}),
    Example("vllm", "disagg_router", ("prefill", "decode"),
            flags={"prefill": {"--disaggregation-mode": "prefill", "--kv-transfer-config": NIXL,
                               "--kv-events-config": VLLM_EVENTS},
                   "decode": {"--disaggregation-mode": "decode"}},
            absent={"decode": EVENT_FLAGS}),
    Example("vllm", "disagg-multinode", ("prefill", "decode"), nodes=2,
            flags={"prefill": {"--tensor-parallel-size": "2", "--disaggregation-mode": "prefill"},
                   "decode": {"--tensor-parallel-size": "2", "--disaggregation-mode": "decode"}}),
    Example("sglang", "agg", ("worker",), flags={"worker": {"--trust-remote-code": None,
                                                            "--skip-tokenizer-init": None, "--page-size": "16"}},
            absent={"worker": ("--disaggregation-mode", *EVENT_FLAGS)}),
    Example("sglang", "agg_router", ("worker",), flags={"worker": {"--kv-events-config": SGLANG_EVENTS,
                                                                   "--page-size": "16"}}),
    Example("sglang", "disagg", ("prefill", "decode"),
            flags={role: {"--disaggregation-mode": role, "--disaggregation-transfer-backend": "nixl",
                          "--host": "0.0.0.0", "--page-size": "16"} for role in ("prefill", "decode")}),
    Example("sglang", "disagg-multinode", ("prefill", "decode"), gpus="4", nodes=2,
            flags={role: {"--tp-size": "8", "--disaggregation-mode": role,
                          "--disaggregation-bootstrap-port": "30001"} for role in ("prefill", "decode")},
            env={"GLOO_SOCKET_IFNAME": "eth0"}),
    Example("trtllm", "agg", ("worker",), absent={"worker": ("--disaggregation-mode", *EVENT_FLAGS)}),
    Example("trtllm", "agg_router", ("worker",), flags={"worker": {TRTLLM_EVENTS: None}}),
    Example("trtllm", "disagg", ("prefill", "decode"),
            flags={role: {"--disaggregation-mode": role} for role in ("prefill", "decode")}),
    Example("trtllm", "disagg_router", ("prefill", "decode"),
            flags={"prefill": {"--disaggregation-mode": "prefill", TRTLLM_EVENTS: None},
                   "decode": {"--disaggregation-mode": "decode"}},
            absent={"decode": EVENT_FLAGS}),
    Example("trtllm", "disagg-multinode", ("prefill", "decode"), gpus="4", nodes=2,
            flags={role: {"--disaggregation-mode": role} for role in ("prefill", "decode")}),
    Example("mocker", "agg", ("worker",), gpus="", absent={"worker": ("--disaggregation-mode",)}),
    Example("mocker", "disagg", ("prefill", "decode"), gpus="",
            flags={role: {"--disaggregation-mode": role} for role in ("prefill", "decode")}),
]


def ours(example: Example) -> dict[str, Any]:
    gpus = int(example.gpus or 0)
    spec = graph(example.backend, mode=example.mode, nodes=example.nodes, gpus=gpus,
                 tp=max(1, gpus * example.nodes), pool="cpu" if example.backend == "mocker" else "h100",
                 router=example.router)  # type: ignore[arg-type]
    # Upstream's examples trust the model repository's code (SGLang's always, TensorRT-LLM's
    # multi-node one); ours only when a graph sets trustRemoteCode, as these do here.
    spec = replace(spec, trust_remote_code=example.backend != "mocker")
    return dgd_manifest(spec, POOLS, WIRING)


def value(args: list[str], flag: str) -> Any:
    following = args[args.index(flag) + 1] if args.index(flag) + 1 < len(args) else ""
    return json.loads(following) if following.startswith("{") else following


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e.backend}-{e.topology}")
def test_our_graph_matches_the_upstream_example(example: Example) -> None:
    manifest = ours(example)
    components = manifest["spec"]["components"]
    assert [c["type"] for c in components] == ["frontend", *example.types]
    args_by_type = {c["type"]: engine_args(c["podTemplate"]["spec"]["containers"][0]) for c in components}
    for component in components[1:]:
        container = component["podTemplate"]["spec"]["containers"][0]
        assert container["name"] == "main"
        assert container["resources"]["limits"].get("nvidia.com/gpu", "") == example.gpus
        assert component.get("multinode", {"nodeCount": 1})["nodeCount"] == example.nodes
    for kind, flags in example.flags.items():
        for flag, expected in flags.items():
            assert flag in args_by_type[kind], (kind, flag)
            if expected is not None:
                assert value(args_by_type[kind], flag) == expected, (kind, flag)
    for kind, missing in example.absent.items():
        assert not set(missing) & set(args_by_type[kind]), kind
    for component in components[1:]:
        env = {e["name"]: e.get("value") for e in component["podTemplate"]["spec"]["containers"][0]["env"]}
        assert {name: env.get(name) for name in example.env} == example.env, component["type"]
    frontend = args_by_type["frontend"]
    assert frontend[frontend.index("--router-mode") + 1] == example.router
