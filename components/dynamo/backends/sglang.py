"""SGLang (`python3 -m dynamo.sglang`): Dynamo's worker around SGLang's engine.

Facts: the flags are SGLang's server arguments, passed through by Dynamo's wrapper, and the
wrapper's own (the 1.4 and 1.5 examples, the 1.6.1 wheel's parser). Disaggregation hands the KV
cache over NIXL (`--disaggregation-transfer-backend nixl`), with a bootstrap port on prefill workers
that decode workers reach; NIXL's LIBFABRIC backend is chosen with the env var
`SGLANG_DISAGGREGATION_NIXL_BACKEND` (Dynamo's EFA guide). The engine publishes KV events on a ZMQ
socket in the pod (`--kv-events-config`). Its workers publish no KV-transfer metrics of their own.
"""

from __future__ import annotations

from components.dynamo.backends.base import LIBFABRIC, Backend, GroupChoices, Worker, compact_json

KV_EVENTS = compact_json({"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"})
# Prefill workers publish the KV cache handshake on this port; decode workers reach it.
BOOTSTRAP_PORT = 30001


class Sglang(Backend):
    name = "sglang"
    title = "SGLang"
    module = "dynamo.sglang"
    image_repository = "sglang-runtime"
    framework = "sglang"

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--model-path", worker.model, "--served-model-name", worker.served_model_name,
                "--tp-size", str(worker.tensor_parallel)]
        if worker.pipeline_parallel > 1:
            args += ["--pp-size", str(worker.pipeline_parallel)]
        if worker.expert_parallel > 1:
            args += ["--ep-size", str(worker.expert_parallel)]
        if worker.trust_remote_code:
            args.append("--trust-remote-code")
        args += worker.release.worker_args
        if worker.disaggregated:
            args += ["--disaggregation-mode", worker.role, "--disaggregation-transfer-backend", "nixl",
                     "--disaggregation-bootstrap-port", str(BOOTSTRAP_PORT)]
        if worker.kv_events:
            args += self.kv_events_args(worker)
        return [*args, "--host", "0.0.0.0"]

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        return ["--kv-events-config", KV_EVENTS]

    def nixl_backend_env(self) -> dict[str, str]:
        return {"SGLANG_DISAGGREGATION_NIXL_BACKEND": LIBFABRIC}

    def switch_overrides(self, group: GroupChoices) -> list[str]:
        out = super().switch_overrides(group)
        if "--disaggregation-transfer-backend" in group.extra_args:
            out.insert(0, "the group's extraArgs set --disaggregation-transfer-backend")
        return out


SGLANG = Sglang()
