"""TensorRT-LLM (`python3 -m dynamo.trtllm`): Dynamo's worker around TensorRT-LLM's PyTorch engine.

Facts: the wrapper takes the model, the served name and an engine configuration file
(`--extra-engine-args`, YAML of TensorRT-LLM's LLM API options), plus `--disaggregation-mode`; KV
events and the engine's metrics are published with `--publish-kv-events` and `--publish-metrics`
(1.6; the 1.6.1 wheel's trtllm/backend_args.py), and with `--publish-kv-events` alone before (1.4's
examples write `--publish-events-and-metrics`, which the 1.4.2 wheel's parser already calls a
deprecated alias of it; a release's `BackendRelease` says which).
Multi-GPU engines launch with MPI (which refuses root without `OMPI_ALLOW_RUN_AS_ROOT`), and the
operator replaces the command of a worker that spans nodes with mpirun, so that worker cannot run
under the library-path shell wrapper; on EFA it gets LD_LIBRARY_PATH as a whole env value instead:
the EFA directories, then `efa_image_library_path` (`components.dynamo.datapath`). Those are the
directories the runtime image's own build files name for its libraries, read in ai-dynamo/dynamo at
cdf9267d (main of 2026-07-30, before the 1.4.0 cut; the v1.4.2 tree was not available):
`container/templates/trtllm_runtime.Dockerfile` registers `/usr/local/tensorrt/lib`,
`/usr/local/cuda/lib64`, `/usr/local/ucx/lib` and `/opt/nvidia/nvda_nixl/lib64` with ldconfig (and
an arch-qualified NIXL directory, left out: the `-efa` stage, `container/templates/aws.Dockerfile`,
preloads NIXL from `lib64`), and TensorRT-LLM's own libraries are in
`/usr/local/lib/python3.12/dist-packages/tensorrt_llm/libs` (NVIDIA/TensorRT-LLM
`docker/Dockerfile.multi` registers that directory with ldconfig; the python3.12 site is the one the
Dynamo Dockerfile preloads from). The LD_LIBRARY_PATH of the base image
(nvcr.io/nvidia/tensorrt-llm/release, `container/context.yaml`) is documented nowhere we read, so
none of it is listed. On EFA the cache transceiver is NIXL, whose backend
`TRTLLM_NIXL_KVCACHE_BACKEND` selects (TensorRT-LLM's DEFAULT transceiver is UCX since
NVIDIA/TensorRT-LLM PR 9352, which that variable does not reach).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.dynamo.backends.base import (
    ENGINE_CONFIG_DIR,
    LIBFABRIC,
    Backend,
    GroupChoices,
    Problem,
    TransferMetrics,
    Worker,
    engine_config_file,
)

# Where the -efa image's libraries are, after the EFA directories (the module docstring's sources).
IMAGE_LIBRARY_PATH = ("/usr/local/tensorrt/lib", "/usr/local/cuda/lib64", "/usr/local/ucx/lib",
                      "/opt/nvidia/nvda_nixl/lib64", "/usr/local/lib/python3.12/dist-packages/tensorrt_llm/libs")


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(
            out.get(key), Mapping) else value
    return out


class Trtllm(Backend):
    name = "trtllm"
    title = "TensorRT-LLM"
    module = "dynamo.trtllm"
    image_repository = "tensorrtllm-runtime"
    framework = "trtllm"
    transfer_metrics = TransferMetrics(
        exporter="TensorRT-LLM KV transfer (TensorRT-LLM workers that publish KV events and metrics)",
        source="ai-dynamo/dynamo docs/backends/trtllm/prometheus.md (\"KV Cache Transfer Metrics\": types and "
               "labels); names in D14 lib/runtime/src/metrics/prometheus_names.rs:775-806",
        bytes="trtllm_kv_transfer_bytes", latency="trtllm_kv_transfer_latency_seconds",
        latency_title="KV transfer latency", counters=("trtllm_kv_transfer_success_total",),
        labels="`model_name`, `disaggregation_mode`, `engine_type`; recorded on transfers only", with_kv_events=True)
    efa_image_library_path = IMAGE_LIBRARY_PATH

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--model-path", worker.model, "--served-model-name", worker.served_model_name,
                "--extra-engine-args", f"{ENGINE_CONFIG_DIR}/{engine_config_file(worker.role)}"]
        args += worker.release.worker_args
        if worker.disaggregated:
            args += ["--disaggregation-mode", worker.role]
        if worker.kv_events:
            args += self.kv_events_args(worker)
        return args

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        # 1.6 splits what --publish-kv-events did before: KV events, and the engine's metrics
        # (the KV transfer series the dashboards read among them).
        return ["--publish-kv-events", "--publish-metrics"]

    def wraps_command(self, multinode: bool) -> bool:
        return not multinode

    def graph_env(self) -> dict[str, str]:
        # Multi-GPU engines are launched with MPI, which refuses to run as root by default.
        return {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}

    def engine_config(self, worker: Worker) -> dict[str, Any]:
        """Parallelism from the group, sane defaults, then the group's `engineConfig` overrides. On
        an EFA pool the cache transceiver is NIXL."""
        base: dict[str, Any] = {
            "backend": "pytorch",
            "tensor_parallel_size": worker.tensor_parallel,
            "pipeline_parallel_size": worker.pipeline_parallel,
            "moe_expert_parallel_size": worker.expert_parallel,
            "enable_attention_dp": False,
            "trust_remote_code": worker.trust_remote_code,
            "max_num_tokens": 8192,
            "enable_chunked_prefill": True,
            "kv_cache_config": {"free_gpu_memory_fraction": 0.8},
        }
        if worker.disaggregated:
            base["cache_transceiver_config"] = {"backend": "NIXL" if worker.efa else "DEFAULT"}
            # The overlap scheduler is not supported by prefill-only workers.
            base["disable_overlap_scheduler"] = worker.role == "prefill"
        return _merge(base, worker.engine_config)

    def nixl_backend_env(self) -> dict[str, str]:
        return {"TRTLLM_NIXL_KVCACHE_BACKEND": LIBFABRIC}

    def nixl_switch(self) -> str:
        return "TRTLLM_NIXL_KVCACHE_BACKEND, with NIXL as TensorRT-LLM's cache transceiver"

    def switch_overrides(self, group: GroupChoices) -> list[str]:
        out = super().switch_overrides(group)
        if group.role in ("prefill", "decode"):
            engine = group.engine_config if isinstance(group.engine_config, Mapping) else {}
            config = self.engine_config(Worker(role=group.role, model="", served_model_name="", efa=True,
                                               engine_config=engine))
            transceiver = config.get("cache_transceiver_config", {})
            if transceiver.get("backend") != "NIXL":
                out.append(f"the group's engineConfig sets cache_transceiver_config.backend to "
                           f"{transceiver.get('backend')}, not NIXL")
        return out

    def problems(self, group: GroupChoices) -> list[Problem]:
        if group.engine_config is not None and not isinstance(group.engine_config, Mapping):
            return [Problem("engineConfig", "expected an object", "an object of TensorRT-LLM engine settings")]
        return []


TRTLLM = Trtllm()
