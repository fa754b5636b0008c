"""Running the benchmark Job (`stacks.bench.job`) and reading its report back: create it, wait for it
to end within a deadline, read its pod's log, delete it on every way out (an interrupt included)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from stacks.bench.aiperf import BenchError, Level
from stacks.bench.job import CONTAINER, JobSpec, job_manifest, read_levels
from stacks.ops.kubectl import KubeError


class JobClient(Protocol):
    """What the runner asks of kubectl (`stacks.ops.kubectl.Kubectl` has it)."""

    def create(self, manifest: dict[str, object], *, timeout: float | None = None) -> None: ...
    def get(self, resource: str, *, namespace: str | None = None, name: str | None = None,
            selector: str | None = None, timeout: float | None = None, missing_ok: bool = False) -> object: ...
    def pods(self, namespace: str, selector: str, *, timeout: float | None = None) -> list[dict[str, object]]: ...
    def logs(self, namespace: str, pod: str, container: str, *, tail: int | None = None,
             limit_bytes: int | None = None, timeout: float | None = None) -> str: ...
    def delete(self, kind: str, name: str, namespace: str | None = None, *, timeout: float | None = None) -> None: ...


def _log(kube: JobClient, spec: JobSpec, *, tail: int | None = None) -> str:
    pods = kube.pods(spec.namespace, f"job-name={spec.name}", timeout=30)
    if not pods:
        raise BenchError(f"Job {spec.namespace}/{spec.name} has no pod")
    metadata = pods[0].get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str):
        raise BenchError(f"Job {spec.namespace}/{spec.name}: its pod has no name")
    return kube.logs(spec.namespace, name, CONTAINER, tail=tail, timeout=60)


def _state(job: object) -> str:
    """`succeeded`, `failed` or `running`, from the Job's status."""
    status = job.get("status") if isinstance(job, dict) else None
    if not isinstance(status, dict):
        return "running"
    if status.get("succeeded"):
        return "succeeded"
    if status.get("failed"):
        return "failed"
    return "running"


def run_job(kube: JobClient, spec: JobSpec, *, poll_seconds: float = 5.0,
            clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
            say: Callable[[str], None] = lambda _: None) -> Sequence[Level]:
    """The levels the Job measured. Its log is kept in the error when it fails or runs out of time."""
    kube.create(job_manifest(spec), timeout=60)
    say(f"Job {spec.namespace}/{spec.name} created; waiting for it (at most {spec.deadline_seconds} s)")
    try:
        end = clock() + spec.deadline_seconds + 60  # the Job's own deadline first, then ours
        while True:
            state = _state(kube.get("job", namespace=spec.namespace, name=spec.name, timeout=30))
            if state == "succeeded":
                return read_levels(_log(kube, spec), spec.levels)
            if state == "failed":
                raise BenchError(f"Job {spec.namespace}/{spec.name} failed; the end of its log:\n"
                                 + _tail(kube, spec))
            if clock() > end:
                raise BenchError(f"Job {spec.namespace}/{spec.name} did not finish within {spec.deadline_seconds} s; "
                                 "the end of its log:\n" + _tail(kube, spec))
            sleep(poll_seconds)
    finally:
        kube.delete("job", spec.name, spec.namespace, timeout=30)


def _tail(kube: JobClient, spec: JobSpec) -> str:
    try:
        return _log(kube, spec, tail=40)
    except (KubeError, BenchError) as error:
        return f"(no log: {error})"
