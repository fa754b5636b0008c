"""The mocker (`python3 -m dynamo.mocker`): Dynamo's simulated engine, on CPUs.

Facts: it speaks Dynamo's worker protocol with a simulated KV cache and timing (`--speedup-ratio`)
and publishes KV events and load metrics like a real worker, without a flag; disaggregated mockers
(`--disaggregation-mode prefill|decode`) simulate the hand-over, so nothing moves over NIXL. It needs
only the model's tokenizer and config (`--model-path`), runs in one pod per replica, and ships in
the planner image (upstream's mocker examples run it there; there is no mocker image).
"""

from __future__ import annotations

from components.dynamo.backends.base import Backend, Worker


class Mocker(Backend):
    name = "mocker"
    title = "mocker"
    module = "dynamo.mocker"
    image_repository = "dynamo-planner"
    gpus = False
    spans_nodes = False
    efa_image = False
    moves_kv = False
    loads_model_code = False
    kv_events_without_flag = True

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--model-path", worker.model, "--model-name", worker.served_model_name, "--speedup-ratio", "1.0"]
        args += worker.release.worker_args
        if worker.disaggregated:
            args += ["--disaggregation-mode", worker.role]
        return args


MOCKER = Mocker()
