"""vLLM (`python3 -m dynamo.vllm`): Dynamo's worker around vLLM's engine.

Facts: the flags are vLLM's engine arguments, which Dynamo's wrapper passes through, and the
wrapper's own (`--disaggregation-mode`, `--kv-events-config`; the 1.4 and 1.5 examples, the 1.6.1
wheel's argument parser). KV caches move with vLLM's NIXL connector (`--kv-transfer-config`), whose
`kv_connector_extra_config.backends` is where NIXL's LIBFABRIC backend is chosen (Dynamo's EFA guide).
The connector publishes its own transfer metrics (`vllm:nixl_*`); the engine publishes KV events on
a ZMQ socket in the pod (`--kv-events-config`), which the Dynamo worker relays to the router.
"""

from __future__ import annotations

from components.dynamo.backends.base import (
    LIBFABRIC,
    Backend,
    GroupChoices,
    Problem,
    TransferMetrics,
    Worker,
    compact_json,
)

# The engine's KV events: a ZMQ socket inside the pod (the port of upstream's *_router examples).
KV_EVENTS = compact_json({"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:20080",
                          "enable_kv_cache_events": True})


def kv_transfer_config(efa: bool) -> str:
    """`--kv-transfer-config`: NIXL on both sides; over EFA, NIXL's LIBFABRIC backend. No `engine_id`:
    vLLM gives every engine its own, where a fixed one would be shared by all replicas of a group."""
    config: dict[str, object] = {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
    if efa:
        config["kv_connector_extra_config"] = {"backends": [LIBFABRIC]}
    return compact_json(config)


class Vllm(Backend):
    name = "vllm"
    title = "vLLM"
    module = "dynamo.vllm"
    # vLLM's engine arguments (vLLM's "Engine Arguments" reference, `vllm serve --help`) this profile renders.
    engine_flags = frozenset({"--model", "--served-model-name", "--tensor-parallel-size", "--pipeline-parallel-size",
                              "--enable-expert-parallel", "--kv-transfer-config", "--kv-events-config",
                              "--trust-remote-code", "--load-format", "--model-loader-extra-config"})
    image_repository = "vllm-runtime"
    framework = "vllm"
    streaming_loaders = ("runai_streamer",)
    transfer_metrics = TransferMetrics(
        exporter="vLLM NIXL connector (vLLM workers, passed through on the system port)",
        source="vllm-project/vllm vllm/distributed/kv_transfer/kv_connector/v1/nixl_connector.py "
               "(NixlPromMetrics) and the vLLM metrics docs, \"NIXL KV Connector Metrics\"; the counter is "
               "declared as vllm:nixl_num_failed_transfers and exposed with the `_total` suffix",
        bytes="vllm:nixl_bytes_transferred", latency="vllm:nixl_xfer_time_seconds", latency_title="KV transfer time",
        failed="vllm:nixl_num_failed_transfers_total", labels="`model_name`, `engine`", verified=True)
    logs_decode_hits = True

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--model", worker.model]
        if worker.served_model_name != worker.model:
            args += ["--served-model-name", worker.served_model_name]
        args += ["--tensor-parallel-size", str(worker.tensor_parallel)]
        if worker.pipeline_parallel > 1:
            args += ["--pipeline-parallel-size", str(worker.pipeline_parallel)]
        if worker.expert_parallel > 1:
            args.append("--enable-expert-parallel")  # vLLM's expert-parallel size follows TP x DP
        if worker.trust_remote_code:
            args.append("--trust-remote-code")
        args += worker.release.worker_args
        if worker.disaggregated:
            args += ["--disaggregation-mode", worker.role, "--kv-transfer-config", kv_transfer_config(worker.efa)]
        if worker.kv_events:
            args += self.kv_events_args(worker)
        return args + self.loader_args(worker)

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        return ["--kv-events-config", KV_EVENTS]

    def loader_args(self, worker: Worker) -> list[str]:
        """The Run:ai Model Streamer: `--load-format runai_streamer` and, with a concurrency,
        `--model-loader-extra-config`."""
        if worker.load_format == "auto":
            return []
        args = ["--load-format", worker.load_format]
        if worker.loader_concurrency is not None:
            args += ["--model-loader-extra-config", compact_json({"concurrency": worker.loader_concurrency})]
        return args

    def nixl_switch(self) -> str:
        return "`kv_connector_extra_config.backends` in vLLM's --kv-transfer-config"

    def switch_overrides(self, group: GroupChoices) -> list[str]:
        out = super().switch_overrides(group)
        if "--kv-transfer-config" in group.extra_args:
            out.insert(0, "the group's extraArgs pass a --kv-transfer-config of their own, after the recipe's, so "
                          "it wins")
        return out

    def problems(self, group: GroupChoices) -> list[Problem]:
        out = super().problems(group)
        if group.expert_parallel > 1 and group.expert_parallel != group.tensor_parallel:
            out.append(Problem("expertParallel", f"is {group.expert_parallel} with tensorParallel "
                                                 f"{group.tensor_parallel}",
                               "1, or equal to tensorParallel: vLLM's expert-parallel size is TP x DP"))
        return out


VLLM = Vllm()
