"""Each backend's worker command line and TensorRT-LLM's engine configuration."""

import json
from dataclasses import replace
from typing import Any

from components.dynamo import commands
from components.dynamo.backends.base import Worker
from components.dynamo.backends.mocker import MOCKER
from components.dynamo.backends.sglang import SGLANG
from components.dynamo.backends.trtllm import TRTLLM
from components.dynamo.backends.vllm import VLLM
from components.dynamo.releases import RELEASES
from components.dynamo.transport import TransportPlan
from components.dynamo.words import Mode, Role
from tests.graph_fixtures import graph, group_of, trtllm_engine_config


def args_of(backend: str, role: Role, **kw: object) -> list[str]:
    spec = graph(backend, **kw)  # type: ignore[arg-type]
    return commands.worker_args(spec, group_of(spec, role))


def pair(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_vllm_prefill_and_decode() -> None:
    prefill = args_of("vllm", "prefill", nodes=2, gpus=1)
    decode = args_of("vllm", "decode", nodes=2, gpus=1)
    assert prefill[:2] == ["--model", "Qwen/Qwen3-0.6B"]
    assert pair(prefill, "--tensor-parallel-size") == "2"
    assert pair(prefill, "--disaggregation-mode") == "prefill"
    assert pair(decode, "--disaggregation-mode") == "decode"
    assert "--is-decode-worker" not in decode  # removed upstream before 1.4
    for args in (prefill, decode):
        assert json.loads(pair(args, "--kv-transfer-config")) == {"kv_connector": "NixlConnector",
                                                                  "kv_role": "kv_both"}
    assert commands.worker_command(graph("vllm")) == ["python3", "-m", "dynamo.vllm"]


def test_vllm_agg_has_no_disaggregation_flags() -> None:
    args = args_of("vllm", "worker", mode="agg", nodes=1, gpus=1, router="round-robin")
    assert args == ["--model", "Qwen/Qwen3-0.6B", "--tensor-parallel-size", "1"]


def test_sglang_disaggregation_over_nixl() -> None:
    for role in ("prefill", "decode"):
        args = args_of("sglang", role, nodes=2, gpus=4, extra=("--mem-fraction-static", "0.82"))
        assert pair(args, "--model-path") == "Qwen/Qwen3-0.6B"
        assert pair(args, "--served-model-name") == "Qwen/Qwen3-0.6B"
        assert pair(args, "--tp-size") == "8"
        assert pair(args, "--disaggregation-mode") == role
        assert pair(args, "--disaggregation-transfer-backend") == "nixl"
        assert pair(args, "--disaggregation-bootstrap-port") == "30001"
        assert pair(args, "--host") == "0.0.0.0"
        assert "--skip-tokenizer-init" in args
        assert "--trust-remote-code" not in args  # only when the graph says trustRemoteCode
        assert args[-2:] == ["--mem-fraction-static", "0.82"]


def test_remote_code_runs_only_where_a_graph_trusts_it() -> None:
    for backend in ("vllm", "sglang"):
        spec = graph(backend)
        for trusted in (False, True):
            args = commands.worker_args(replace(spec, trust_remote_code=trusted), group_of(spec, "prefill"))
            assert ("--trust-remote-code" in args) is trusted, backend
    group = group_of(graph("trtllm"), "prefill")
    assert trtllm_engine_config(group)["trust_remote_code"] is False
    assert trtllm_engine_config(group, trust_remote_code=True)["trust_remote_code"] is True


def test_trtllm_passes_its_engine_file_and_mode() -> None:
    args = args_of("trtllm", "decode", nodes=2, gpus=4)
    assert pair(args, "--extra-engine-args") == "/etc/dynamo/engine/decode.yaml"
    assert pair(args, "--disaggregation-mode") == "decode"


def test_trtllm_engine_config_from_parallelism_with_overrides() -> None:
    spec = graph("trtllm", nodes=2, gpus=4)
    prefill = trtllm_engine_config(group_of(spec, "prefill"))
    decode = trtllm_engine_config(group_of(spec, "decode"))
    assert prefill["tensor_parallel_size"] == 8
    assert prefill["moe_expert_parallel_size"] == 1
    assert prefill["disable_overlap_scheduler"] is True
    assert decode["disable_overlap_scheduler"] is False
    assert prefill["cache_transceiver_config"] == {"backend": "DEFAULT"}
    from tests.graph_fixtures import group

    tuned = group("decode", nodes=2, gpus=4, engine={"kv_cache_config": {"free_gpu_memory_fraction": 0.9}})
    config = trtllm_engine_config(tuned)
    assert config["kv_cache_config"] == {"free_gpu_memory_fraction": 0.9}
    assert config["tensor_parallel_size"] == 8


def test_mocker_runs_the_simulated_engine() -> None:
    args = args_of("mocker", "prefill", nodes=1, gpus=0, pool="cpu")
    assert args == ["--model-path", "Qwen/Qwen3-0.6B", "--model-name", "Qwen/Qwen3-0.6B", "--speedup-ratio",
                    "1.0", "--disaggregation-mode", "prefill"]


def test_frontend_args() -> None:
    assert commands.frontend_args(graph("vllm")) == ["--http-port", "8000", "--router-mode", "kv"]


# --- KV events: the flag each backend needs, on the workers the KV router picks -------------------

VLLM_EVENTS = {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:20080", "enable_kv_cache_events": True}
SGLANG_EVENTS = {"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"}


def test_kv_routed_workers_publish_kv_events_with_their_backends_flag() -> None:
    """As upstream's *_router examples: an agg graph's workers and a disagg graph's prefill workers."""
    pairs: tuple[tuple[Mode, Role], ...] = (("agg", "worker"), ("disagg", "prefill"))
    for mode, role in pairs:
        vllm = args_of("vllm", role, mode=mode, nodes=1, gpus=1)
        assert json.loads(pair(vllm, "--kv-events-config")) == VLLM_EVENTS
        sglang = args_of("sglang", role, mode=mode, nodes=1, gpus=1)
        assert json.loads(pair(sglang, "--kv-events-config")) == SGLANG_EVENTS
        assert "--publish-kv-events" in args_of("trtllm", role, mode=mode, nodes=1, gpus=1)
    for backend in ("vllm", "sglang", "trtllm"):
        decode = args_of(backend, "decode", nodes=1, gpus=1)
        assert not {"--kv-events-config", "--publish-events-and-metrics", "--publish-kv-events"} & set(decode)


def test_1_6_splits_the_trtllm_flag_and_1_5_has_sglang_tokenize_itself() -> None:
    release = RELEASES["1.5.0"]
    assert "--publish-metrics" not in args_of("trtllm", "prefill", nodes=1, gpus=1, release=release)
    newest = args_of("trtllm", "prefill", nodes=1, gpus=1, release=RELEASES["1.6.1"])
    assert newest[newest.index("--publish-kv-events") + 1] == "--publish-metrics"
    assert "--skip-tokenizer-init" not in args_of("sglang", "prefill", nodes=1, gpus=1, release=release)
    assert "--skip-tokenizer-init" in args_of("sglang", "prefill", nodes=1, gpus=1)


def test_no_kv_events_without_a_kv_router_or_with_the_event_plane_off() -> None:
    flags = {"--kv-events-config", "--publish-kv-events", "--publish-metrics"}
    off = TransportPlan(event_plane="none")
    for backend in ("vllm", "sglang", "trtllm"):
        assert not flags & set(args_of(backend, "prefill", nodes=1, gpus=1, router="round-robin"))
        assert not flags & set(args_of(backend, "prefill", nodes=1, gpus=1, transport=off))
    assert commands.frontend_args(graph("vllm", transport=off)) == [
        "--http-port", "8000", "--router-mode", "kv", "--no-router-kv-events"]
    assert commands.frontend_args(graph("vllm")) == ["--http-port", "8000", "--router-mode", "kv"]
    # the event plane that carries the events is the stack's, whatever the engine's local socket
    assert "--kv-events-config" in args_of("vllm", "prefill", nodes=1, gpus=1, transport=TransportPlan(
        event_plane="nats"))


# --- SGLang's page size: upstream's 16 on every worker, unless the group sets its own --------------


def sglang_worker(**kw: Any) -> Worker:
    return Worker(role="prefill", model="Qwen/Qwen3-0.6B", served_model_name="Qwen/Qwen3-0.6B", **kw)


def test_sglang_workers_get_upstreams_page_size_whatever_the_router_and_topology() -> None:
    """Every upstream SGLang example but the multi-node one passes --page-size 16 (agg, agg_router,
    disagg), the round-robin ones included; it is the block size a KV router hashes by."""
    shapes: tuple[tuple[Mode, Role, int], ...] = (
        ("agg", "worker", 1), ("disagg", "prefill", 1), ("disagg", "decode", 1), ("disagg", "prefill", 2))
    for mode, role, nodes in shapes:
        for router in ("kv", "round-robin"):
            args = args_of("sglang", role, mode=mode, nodes=nodes, gpus=4, router=router)
            assert args.count("--page-size") == 1, (mode, role, nodes, router)
            assert pair(args, "--page-size") == "16"
            # where upstream puts it: after the model's names, before the parallelism
            assert args.index("--served-model-name") < args.index("--page-size") < args.index("--tp-size")


def test_a_page_size_in_extra_args_replaces_the_default() -> None:
    for extra in (("--page-size", "32"), ("--mem-fraction-static", "0.8", "--page-size=64")):
        args = SGLANG.worker_args(sglang_worker(extra_args=extra))
        assert not [a for a in args if a.startswith("--page-size")], extra
    assert pair(SGLANG.worker_args(sglang_worker(extra_args=("--mem-fraction-static", "0.8"))), "--page-size") == "16"


def test_only_sglang_sets_a_page_size() -> None:
    for backend in ("vllm", "trtllm"):
        assert "--page-size" not in args_of(backend, "prefill", nodes=1, gpus=1), backend
    assert "--page-size" not in args_of("mocker", "prefill", nodes=1, gpus=0, pool="cpu")


def test_sglang_workers_across_nodes_name_the_gloo_interface() -> None:
    assert SGLANG.worker_env(sglang_worker(multinode=True)) == {"GLOO_SOCKET_IFNAME": "eth0"}
    assert SGLANG.worker_env(sglang_worker(multinode=False)) == {}
    for other in (VLLM, TRTLLM, MOCKER):
        assert other.worker_env(sglang_worker(multinode=True)) == {}, other
