"""The command line of each backend's worker, and TensorRT-LLM's engine configuration.

Pure functions of a graph's settings. The flags are those of Dynamo's backend entry points
(`python3 -m dynamo.vllm | dynamo.sglang | dynamo.trtllm | dynamo.mocker`) and the engines behind
them; multi-node rank and address flags are not here because the Dynamo operator injects them
into each pod of a multi-node replica.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from components.dynamo.datapath import vllm_kv_transfer_config
from components.dynamo.spec import WORKER_MODULE, GraphSpec, WorkerGroupSpec
from components.dynamo.words import DISAGG_ROLES

# Where an engine publishes its KV events: a ZMQ socket inside the pod, which the Dynamo worker
# reads and relays over the stack's event plane (`DYN_EVENT_PLANE`) to the router. The ports are
# those of upstream's *_router examples; nothing outside the pod connects to them.
VLLM_KV_EVENTS = json.dumps({"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:20080",
                             "enable_kv_cache_events": True}, separators=(",", ":"))
SGLANG_KV_EVENTS = json.dumps({"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"},
                              separators=(",", ":"))
# SGLang's prefill workers publish the KV cache handshake on this port; decode workers reach it.
SGLANG_BOOTSTRAP_PORT = 30001
# Where the TensorRT-LLM engine configuration ConfigMap is mounted in worker pods.
TRTLLM_CONFIG_DIR = "/etc/dynamo/engine"
WORKDIR = "/workspace"


def worker_command(spec: GraphSpec) -> list[str]:
    return ["python3", "-m", WORKER_MODULE[spec.backend]]


def worker_args(spec: GraphSpec, group: WorkerGroupSpec, *, efa: bool = False) -> list[str]:
    """The worker's arguments: the backend's own, then the group's extra ones from config. `efa`:
    the group runs on an EFA pool (vLLM then names NIXL's LIBFABRIC backend in its flag)."""
    if spec.backend == "vllm":
        return _vllm(spec, group, efa) + list(group.extra_args)
    builders = {"sglang": _sglang, "trtllm": _trtllm, "mocker": _mocker}
    return builders[spec.backend](spec, group) + list(group.extra_args)


def publishes_kv_events(spec: GraphSpec, group: WorkerGroupSpec) -> bool:
    """Whether the group's workers publish KV events: when the frontend routes by KV and the event
    plane carries them, the workers the router picks by cache overlap do (an aggregated graph's
    workers, a disaggregated graph's prefill workers), as upstream's *_router examples have it."""
    return (spec.frontend.router_mode == "kv" and spec.transport.kv_events and spec.backend != "mocker"
            and group.role in ("worker", "prefill"))


def loader_args(spec: GraphSpec) -> list[str]:
    """The engine's flags for the graph's weight loader (`graphs[].loader`): for vLLM's Run:ai Model
    Streamer, `--load-format runai_streamer` and, with a concurrency, `--model-loader-extra-config`."""
    if spec.load_format == "auto":
        return []
    args = ["--load-format", spec.load_format]
    if spec.loader_concurrency is not None:
        args += ["--model-loader-extra-config",
                 json.dumps({"concurrency": spec.loader_concurrency}, separators=(",", ":"))]
    return args


def _vllm(spec: GraphSpec, group: WorkerGroupSpec, efa: bool) -> list[str]:
    args = ["--model", spec.engine_model]
    if spec.served_model_name != spec.engine_model:
        args += ["--served-model-name", spec.served_model_name]
    args += ["--tensor-parallel-size", str(group.tensor_parallel)]
    if group.pipeline_parallel > 1:
        args += ["--pipeline-parallel-size", str(group.pipeline_parallel)]
    if group.expert_parallel > 1:
        args.append("--enable-expert-parallel")  # vLLM's expert-parallel size follows TP x DP
    if spec.trust_remote_code:
        args.append("--trust-remote-code")
    if group.role in DISAGG_ROLES:
        args += ["--disaggregation-mode", group.role, "--kv-transfer-config", vllm_kv_transfer_config(efa)]
    if publishes_kv_events(spec, group):
        args += ["--kv-events-config", VLLM_KV_EVENTS]
    return args + loader_args(spec)


def _sglang(spec: GraphSpec, group: WorkerGroupSpec) -> list[str]:
    args = ["--model-path", spec.engine_model, "--served-model-name", spec.served_model_name,
            "--tp-size", str(group.tensor_parallel)]
    if group.pipeline_parallel > 1:
        args += ["--pp-size", str(group.pipeline_parallel)]
    if group.expert_parallel > 1:
        args += ["--ep-size", str(group.expert_parallel)]
    if spec.trust_remote_code:
        args.append("--trust-remote-code")
    if spec.release.sglang_skip_tokenizer_init:
        # Dynamo's frontend tokenizes; the engine does not load a tokenizer of its own.
        args.append("--skip-tokenizer-init")
    if group.role in DISAGG_ROLES:
        args += ["--disaggregation-mode", group.role, "--disaggregation-transfer-backend", "nixl",
                 "--disaggregation-bootstrap-port", str(SGLANG_BOOTSTRAP_PORT)]
    if publishes_kv_events(spec, group):
        args += ["--kv-events-config", SGLANG_KV_EVENTS]
    args += ["--host", "0.0.0.0"]
    return args


def trtllm_config_file(group: WorkerGroupSpec) -> str:
    return f"{group.role}.yaml"


def _trtllm(spec: GraphSpec, group: WorkerGroupSpec) -> list[str]:
    args = ["--model-path", spec.engine_model, "--served-model-name", spec.served_model_name,
            "--extra-engine-args", f"{TRTLLM_CONFIG_DIR}/{trtllm_config_file(group)}"]
    if group.role in DISAGG_ROLES:
        args += ["--disaggregation-mode", group.role]
    if publishes_kv_events(spec, group):
        args.append(spec.release.trtllm_kv_events_flag)
    return args


def _mocker(spec: GraphSpec, group: WorkerGroupSpec) -> list[str]:
    args = ["--model-path", spec.engine_model, "--model-name", spec.served_model_name, "--speedup-ratio", "1.0"]
    if group.role in DISAGG_ROLES:
        args += ["--disaggregation-mode", group.role]
    return args


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(
            out.get(key), Mapping) else value
    return out


def trtllm_engine_config(group: WorkerGroupSpec, *, efa: bool = False,
                         trust_remote_code: bool = False) -> dict[str, Any]:
    """The TensorRT-LLM engine configuration of one worker group (the `--extra-engine-args` file):
    parallelism from the group, sane defaults, then the group's `engineConfig` overrides. On an EFA
    pool the cache transceiver is NIXL, whose backend `TRTLLM_NIXL_KVCACHE_BACKEND` then selects
    (TensorRT-LLM's DEFAULT transceiver is UCX since NVIDIA/TensorRT-LLM PR 9352, which that
    variable does not reach)."""
    base: dict[str, Any] = {
        "backend": "pytorch",
        "tensor_parallel_size": group.tensor_parallel,
        "pipeline_parallel_size": group.pipeline_parallel,
        "moe_expert_parallel_size": group.expert_parallel,
        "enable_attention_dp": False,
        "trust_remote_code": trust_remote_code,
        "max_num_tokens": 8192,
        "enable_chunked_prefill": True,
        "kv_cache_config": {"free_gpu_memory_fraction": 0.8},
    }
    if group.role in DISAGG_ROLES:
        base["cache_transceiver_config"] = {"backend": "NIXL" if efa else "DEFAULT"}
        # The overlap scheduler is not supported by prefill-only workers.
        base["disable_overlap_scheduler"] = group.role == "prefill"
    return _merge(base, group.engine_config)


def frontend_args(spec: GraphSpec) -> list[str]:
    """The frontend's HTTP port and router; a KV router with the event plane off routes on its own
    prediction of what each worker caches, and does not listen for KV events."""
    args = ["--http-port", str(spec.frontend.http_port), "--router-mode", spec.frontend.router_mode]
    if spec.frontend.router_mode == "kv" and not spec.transport.kv_events:
        args.append("--no-router-kv-events")
    return args
