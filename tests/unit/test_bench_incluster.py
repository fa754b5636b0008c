"""`bench --in-cluster`: the Job it creates (valid, unprivileged, admitted by the frontend's
NetworkPolicy, running the pinned AIPerf at each level), and the runner that waits for it, reads its
summaries from its log and deletes it on every way out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.ingress.routes import BENCH_LABEL
from stacks.bench.aiperf import BenchError, Workload
from stacks.bench.command import job_name
from stacks.bench.incluster import run_job
from stacks.bench.job import MARKER, PYTHON_IMAGE, JobSpec, job_manifest, read_levels, script
from stacks.local.runtime import AIPERF, pins
from tests.harness import schema_problems

WORKLOAD = Workload(url="http://chat-frontend.dynamo.svc.cluster.local:8000", model="Qwen/Qwen3-0.6B",
                    tokenizer="Qwen/Qwen3-0.6B", input_tokens=512, output_tokens=128, requests_per_level=32)
SPEC = JobSpec(name="bench-chat-20261208-010000", namespace="dynamo", graph="chat", workload=WORKLOAD, levels=(1, 4),
               deadline_seconds=600)


def summary(concurrency: int) -> dict[str, Any]:
    """A summary with the fields and shape AIPerf 0.13 writes (the values are arbitrary test inputs)."""
    stats = {"avg": 1.0, "p50": 1.0, "p95": 2.0}
    return {"request_count": {"avg": 32}, "time_to_first_token": stats, "inter_token_latency": stats,
            "output_token_throughput": {"avg": 100.0 * concurrency}, "request_throughput": {"avg": 1.0},
            "error_summary": []}


def log_of(levels: tuple[int, ...]) -> str:
    lines = ["Installing...", "aiperf output"]
    for level in levels:
        lines += [f"{MARKER}{level}", json.dumps(summary(level))]
    return "\n".join(lines) + "\n"


def test_the_job_is_valid_unprivileged_and_labelled_for_the_frontends_network_policy() -> None:
    job = job_manifest(SPEC)
    assert schema_problems([job], "1.33") == []
    pod = job["spec"]["template"]
    assert pod["metadata"]["labels"][BENCH_LABEL] == "chat"
    spec = pod["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 600
    assert spec["securityContext"]["runAsNonRoot"] is True
    [container] = spec["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert container["image"] == PYTHON_IMAGE
    assert "@sha256:" in container["image"]
    assert not any("valueFrom" in e for e in container["env"])  # no HF token unless the graph uses one


def test_the_default_job_installs_the_pinned_aiperf_and_runs_each_level_against_the_service() -> None:
    text = script(SPEC, pins(AIPERF).read_text())
    assert pins(AIPERF).read_text().splitlines()[-1] in text
    assert "--no-deps -r /work/pins.txt" in text
    assert "aiperf==" in text
    for level, count in ((1, 32), (4, 32)):
        assert ("/work/venv/bin/aiperf profile --model Qwen/Qwen3-0.6B --url "
                "http://chat-frontend.dynamo.svc.cluster.local:8000 --endpoint-type chat --streaming") in text
        assert f"--concurrency {level} --request-count {count}" in text
        assert f"echo '{MARKER}{level}'" in text


def test_an_image_with_aiperf_runs_it_from_its_path_and_a_gated_model_gets_the_token() -> None:
    spec = JobSpec(**{**SPEC.__dict__, "image": "registry.example/aiperf:0.13.0", "hf_token_secret": "hf-token"})
    job = job_manifest(spec)
    [container] = job["spec"]["template"]["spec"]["containers"]
    text = container["command"][2]
    assert "pip install" not in text
    assert "\naiperf profile " in text
    assert container["image"] == "registry.example/aiperf:0.13.0"
    assert {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token", "key": "HF_TOKEN",
                                                               "optional": True}}} in container["env"]


def test_the_log_reads_back_as_levels_and_a_missing_level_is_named() -> None:
    levels = read_levels(log_of((1, 4)), (1, 4))
    assert [(level.concurrency, level.output_tokens_per_s) for level in levels] == [(1, 100.0), (4, 400.0)]
    with pytest.raises(BenchError, match="no summary for concurrency 4"):
        read_levels(log_of((1,)), (1, 4))
    with pytest.raises(BenchError, match="unreadable summary"):
        read_levels(f"{MARKER}1\nnot json\n", (1,))


def test_job_names_are_dns_labels_unique_per_second() -> None:
    name = job_name("a" * 63, 1_796_000_000)
    assert name == "bench-" + "a" * 40 + "-20261130-005320"
    assert len(name) <= 63
    assert job_name("chat", 1_796_000_001) == "bench-chat-20261130-005321"


class FakeKube:
    """Job states in order, one per poll; checks what is asked is about the Job, and records it."""

    def __init__(self, states: list[dict[str, Any]], log: str = "", interrupt_at: int | None = None) -> None:
        self.states, self.log, self.interrupt_at = states, log, interrupt_at
        self.created: list[dict[str, object]] = []
        self.deleted: list[tuple[str, str, str | None]] = []
        self.polls = 0

    def create(self, manifest: dict[str, object], **_: object) -> None:
        self.created.append(manifest)

    def get(self, resource: str, *, namespace: str | None = None, name: str | None = None, **_: object) -> object:
        assert (resource, namespace, name) == ("job", SPEC.namespace, SPEC.name)
        self.polls += 1
        if self.interrupt_at is not None and self.polls == self.interrupt_at:
            raise KeyboardInterrupt
        return {"status": self.states[min(self.polls, len(self.states)) - 1]}

    def pods(self, namespace: str, selector: str, **_: object) -> list[dict[str, object]]:
        assert (namespace, selector) == (SPEC.namespace, f"job-name={SPEC.name}")
        return [{"metadata": {"name": f"{SPEC.name}-x1"}}]

    def logs(self, namespace: str, pod: str, container: str, **_: object) -> str:
        assert (namespace, pod, container) == (SPEC.namespace, f"{SPEC.name}-x1", "aiperf")
        return self.log

    def delete(self, kind: str, name: str, namespace: str | None = None, **_: object) -> None:
        self.deleted.append((kind, name, namespace))


def test_the_runner_waits_reads_the_levels_and_deletes_the_job() -> None:
    kube = FakeKube([{"active": 1}, {"active": 1}, {"succeeded": 1}], log_of((1, 4)))
    levels = run_job(kube, SPEC, sleep=lambda _: None)
    assert [level.concurrency for level in levels] == [1, 4]
    assert kube.created[0]["kind"] == "Job"
    assert kube.polls == 3
    assert kube.deleted == [("job", SPEC.name, "dynamo")]


def test_a_failed_job_is_an_error_with_its_log_and_is_deleted() -> None:
    kube = FakeKube([{"failed": 1}], "pip: no matching distribution for aiperf")
    with pytest.raises(BenchError, match="failed; the end of its log:\npip: no matching distribution"):
        run_job(kube, SPEC, sleep=lambda _: None)
    assert kube.deleted == [("job", SPEC.name, "dynamo")]


def test_a_job_past_its_deadline_or_interrupted_is_deleted() -> None:
    ticks = iter(range(0, 100_000, 400))
    kube = FakeKube([{"active": 1}])
    with pytest.raises(BenchError, match="did not finish within 600 s"):
        run_job(kube, SPEC, sleep=lambda _: None, clock=lambda: float(next(ticks)))
    assert kube.deleted == [("job", SPEC.name, "dynamo")]
    interrupted = FakeKube([{"active": 1}], interrupt_at=2)
    with pytest.raises(KeyboardInterrupt):
        run_job(interrupted, SPEC, sleep=lambda _: None)
    assert interrupted.deleted == [("job", SPEC.name, "dynamo")]


@pytest.mark.parametrize(("flags", "says"), [
    (["--local", "--in-cluster"], "--local and --in-cluster: choose one"),
    (["--image", "x/aiperf:1"], "--image is for --in-cluster"),
])
def test_bench_refuses_mixed_sources(flags: list[str], says: str) -> None:
    import subprocess
    import sys

    from tests.harness import ROOT

    done = subprocess.run([sys.executable, "-m", "stacks", "bench", "--stack", "dev", *flags], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 2
    assert says in done.stderr
