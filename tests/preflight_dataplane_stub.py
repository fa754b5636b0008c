"""A `DataplaneCluster` held in memory: it records what is created and deleted, and gives each Job
it is asked to create a pod whose end (phase, exit status, log) a test chooses per step; by default
every pod succeeds with the healthy sample outputs of `tests.preflight_dataplane_samples`. A fake clock runs
the runner's waits without sleeping."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stacks.ops.cluster_view import NodeInfo
from stacks.preflight.dataplane import manifests
from stacks.preflight.dataplane.cluster import DataplaneError, PodStatus
from stacks.preflight.dataplane.runner import Clock
from tests import preflight_dataplane_samples as samples


@dataclass(frozen=True)
class FakePod:
    """How a pod ends up: its phase, exit status and log; `reason`/`message` as the API reports them."""

    phase: str = "Succeeded"
    exit_code: int | None = 0
    log: str = ""
    reason: str = ""
    message: str = ""
    scheduled: bool = True


def unschedulable(message: str = "0/10 nodes are available: 10 Insufficient vpc.amazonaws.com/efa.") -> FakePod:
    return FakePod(phase="Pending", exit_code=None, reason="Unschedulable", message=message, scheduled=False)


def efa_node(name: str, pool: str = "h100-efa", *, gpus: int = 8, efa: int = 32, ready: bool = True) -> NodeInfo:
    allocatable = {"nvidia.com/gpu": str(gpus), "vpc.amazonaws.com/efa": str(efa)}
    return NodeInfo(name, {"dynamo-cluster/pool": pool}, allocatable, ready=ready)


# step -> (Job manifest, node name) -> how its pod ends
Behaviour = Callable[[Mapping[str, Any], str], FakePod]


def healthy(step: str) -> Behaviour:
    def end(job: Mapping[str, Any], _node: str) -> FakePod:
        if step == manifests.SANITY:
            return FakePod(log=samples.sanity_log())
        if step == manifests.PULL:
            return FakePod(log="nixlbench: /usr/local/nixlbench/bin/nixlbench\n")
        initiator = job["metadata"]["name"].endswith("-0")
        return FakePod(log=samples.nixlbench_log() if initiator else samples.TARGET_LOG)
    return end


def pinned_node(job: Mapping[str, Any]) -> str:
    """The node a Job's pod is pinned to (its node affinity's metadata.name)."""
    terms = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    return str(terms[0]["matchFields"][0]["values"][0])


@dataclass
class FakeClock:
    now_s: float = 0.0
    slept: list[float] = field(default_factory=list)

    def now(self) -> float:
        return self.now_s

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.slept.append(seconds)
        self.now_s += seconds

    def clock(self) -> Clock:
        return Clock(now=self.now, sleep=self.sleep, poll_s=5.0)


@dataclass
class FakeDataplane:
    node_list: list[NodeInfo] = field(default_factory=lambda: [efa_node(f"node-{c}") for c in "abcd"])
    behaviour: dict[str, Behaviour] = field(default_factory=dict)
    etcd: FakePod = field(default_factory=lambda: FakePod(phase="Running", exit_code=None))
    # call name (create:Job, pods, delete:Namespace, ...) -> what it raises instead of answering
    raises: dict[str, BaseException] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[str, str, str | None]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    log_reads: list[tuple[str, str]] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls.append(name)
        if name in self.raises:
            raise self.raises[name]

    def nodes(self) -> list[NodeInfo]:
        self._call("nodes")
        return list(self.node_list)

    def create(self, manifest: Mapping[str, Any]) -> None:
        self._call(f"create:{manifest['kind']}")
        self.created.append(dict(manifest))

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        self._call(f"delete:{kind}")
        self.deleted.append((kind, name, namespace))

    def _pod(self, manifest: Mapping[str, Any]) -> tuple[PodStatus, str]:
        labels = dict(manifest["metadata"]["labels"])
        if manifest["kind"] == "Pod":  # etcd
            end = self.etcd
            return PodStatus(manifest["metadata"]["name"], end.phase, "node-system", ready=end.phase == "Running"
                             and not end.reason, exit_code=end.exit_code, reason=end.reason, message=end.message,
                             labels=labels), end.log
        step = labels[manifests.STEP_LABEL]
        node = pinned_node(manifest)
        end = self.behaviour.get(step, healthy(step))(manifest, node)
        pod_labels = dict(manifest["spec"]["template"]["metadata"]["labels"])
        return PodStatus(f"{manifest['metadata']['name']}-x1", end.phase, node if end.scheduled else None,
                         exit_code=end.exit_code, reason=end.reason, message=end.message, labels=pod_labels), end.log

    def _pods(self, namespace: str) -> list[tuple[PodStatus, str]]:
        return [self._pod(m) for m in self.created
                if m["kind"] in ("Pod", "Job") and m["metadata"].get("namespace") == namespace]

    def pods(self, namespace: str, labels: Mapping[str, str]) -> list[PodStatus]:
        self._call("pods")
        return [pod for pod, _ in self._pods(namespace) if all(pod.labels.get(k) == v for k, v in labels.items())]

    def logs(self, namespace: str, pod: str, container: str) -> str:
        self._call("logs")
        self.log_reads.append((pod, container))
        for status, log in self._pods(namespace):
            if status.name == pod:
                return log
        raise DataplaneError(f"cannot read the log of pod {namespace}/{pod}: 404 Not Found")

    # -- what tests look at ---------------------------------------------------------------------
    def kinds_created(self) -> list[tuple[str, str]]:
        return [(m["kind"], m["metadata"]["name"]) for m in self.created]

    def everything_deleted(self) -> bool:
        """Every object created was deleted, and the namespace last."""
        made = {(m["kind"], m["metadata"]["name"]) for m in self.created}
        gone = {(kind, name) for kind, name, _ in self.deleted}
        return bool(self.deleted) and made <= gone and self.deleted[-1][0] == "Namespace"
