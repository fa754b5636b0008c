"""A fifth backend, whole in this one module: what adding an engine to the project takes
(docs/contributing.md, "Adding a backend"). `tests/unit/test_fake_backend.py` registers it and plans
a stack that runs it."""

from __future__ import annotations

from components.dynamo.backends.base import Backend, GroupChoices, Problem, TransferMetrics, Worker


class Fake(Backend):
    name = "fake"
    title = "FakeLLM"
    module = "dynamo.fake"
    image_repository = "fake-runtime"
    framework = "fake"
    transfer_metrics = TransferMetrics(exporter="FakeLLM workers", source="tests/fake_backend.py (made up)",
                                       bytes="fake_kv_bytes", latency="fake_kv_seconds",
                                       latency_title="KV hand-over time", failed="fake_kv_failed_total")

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--weights", worker.model, "--name", worker.served_model_name, "--shards", str(worker.tensor_parallel)]
        if worker.disaggregated:
            args += ["--role", worker.role]
        if worker.kv_events:
            args += self.kv_events_args(worker)
        return args

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        return ["--emit-kv-events"]

    def nixl_backend_env(self) -> dict[str, str]:
        return {"FAKE_NIXL_BACKEND": "LIBFABRIC"}

    def problems(self, group: GroupChoices) -> list[Problem]:
        out = super().problems(group)
        if group.tensor_parallel % 2:
            out.append(Problem("tensorParallel", f"is {group.tensor_parallel}", "an even number for FakeLLM"))
        return out


FAKE = Fake()
