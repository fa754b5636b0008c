"""What the data-path preflight asks of a cluster: a few calls that create, watch, read and delete
the objects of one run, returning plain frozen values (`PodStatus`), so the runner is driven in tests
by a stub. The real one, `KubectlDataplaneCluster`, asks with kubectl (`stacks.ops.kubectl`). A
request the cluster refuses or does not answer raises `DataplaneError` with what was asked and why it
failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stacks.ops.cluster_view import NodeInfo, node_info
from stacks.ops.kubectl import Kubectl, KubeError

PENDING, RUNNING, SUCCEEDED, FAILED = "Pending", "Running", "Succeeded", "Failed"


class DataplaneError(Exception):
    """A request the cluster refused (403, 409, an admission webhook) or did not answer."""


@dataclass(frozen=True)
class PodStatus:
    """A pod as the runner sees it.

    `reason` and `message` say why it is where it is: the scheduler's word for a pod it cannot place
    (``Unschedulable``), a waiting container's (``ImagePullBackOff``, ``CreateContainerConfigError``),
    a terminated container's (``Error``, ``OOMKilled``, ``StartError``), or the pod's own
    (``DeadlineExceeded``, ``Evicted``); empty when nothing is wrong."""

    name: str
    phase: str  # Pending, Running, Succeeded, Failed or Unknown
    node: str | None = None
    ready: bool = False
    exit_code: int | None = None  # of the first container, once it terminated
    reason: str = ""
    message: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.phase in (SUCCEEDED, FAILED)

    def describe(self) -> str:
        """``Pending (Unschedulable: 0/12 nodes are available: ...)``."""
        why = ": ".join(part for part in (self.reason, self.message) if part)
        return f"{self.phase} ({why})" if why else self.phase


# Reasons a pod will not get past by waiting: the runner stops waiting for it.
STUCK_REASONS = ("InvalidImageName", "ErrImageNeverPull", "ImagePullBackOff", "CreateContainerConfigError",
                 "CreateContainerError")
IMAGE_REASONS = ("InvalidImageName", "ErrImageNeverPull", "ImagePullBackOff", "ErrImagePull")


@dataclass(frozen=True)
class JobOutcome:
    """What became of the pod of one Job of a run: its last status (None: the Job made no pod), its
    log (empty when it never started), and how long the runner waited at most."""

    job: str
    pod: PodStatus | None
    log: str = ""
    waited_s: float = 0.0

    @property
    def finished(self) -> bool:
        return self.pod is not None and self.pod.finished

    @property
    def succeeded(self) -> bool:
        return self.pod is not None and self.pod.phase == SUCCEEDED

    @property
    def stuck(self) -> bool:
        return self.pod is not None and not self.pod.finished and self.pod.reason in STUCK_REASONS

    def unfinished(self) -> str:
        """Why the pod did not finish: ``not finished after 1200 s: Pending (Unschedulable: ...)``."""
        if self.pod is None:
            return f"no pod after {self.waited_s:g} s"
        if self.stuck:
            return f"cannot start: {self.pod.describe()}"
        return f"not finished after {self.waited_s:g} s: {self.pod.describe()}"


class DataplaneCluster(Protocol):
    """The calls a run makes. Namespaced calls name their namespace; `create` takes a whole manifest
    (Namespace, Service, Pod or Job) and `delete` a kind and name; deleting what does not exist is
    not an error."""

    def nodes(self) -> list[NodeInfo]: ...

    def create(self, manifest: Mapping[str, Any]) -> None: ...

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None: ...

    def pods(self, namespace: str, labels: Mapping[str, str]) -> list[PodStatus]:
        """The pods of `namespace` that carry every one of `labels`."""
        ...

    def logs(self, namespace: str, pod: str, container: str) -> str: ...


# The end of a pod's log the runner reads (nixlbench prints its table last).
LOG_LINES = 5000
CREATED_KINDS = ("Namespace", "Service", "Pod", "Job")


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def pod_status(pod: Mapping[str, Any]) -> PodStatus:
    """A pod as the API returns it, as the runner sees it (`PodStatus` says where its reason comes from)."""
    meta, spec, status = _dict(pod.get("metadata")), _dict(pod.get("spec")), _dict(pod.get("status"))
    conditions = [_dict(c) for c in status.get("conditions") or []]
    reason, message, exit_code = "", "", None
    containers = [_dict(c) for c in status.get("containerStatuses") or []]
    state = _dict(containers[0].get("state")) if containers else {}
    terminated, waiting = _dict(state.get("terminated")), _dict(state.get("waiting"))
    if terminated:
        exit_code = int(terminated.get("exitCode", 0))
        reason, message = str(terminated.get("reason") or ""), str(terminated.get("message") or "")
    elif waiting:
        reason, message = str(waiting.get("reason") or ""), str(waiting.get("message") or "")
    if not reason:
        unscheduled = [c for c in conditions if c.get("type") == "PodScheduled" and c.get("status") == "False"]
        if unscheduled:
            reason, message = str(unscheduled[0].get("reason") or ""), str(unscheduled[0].get("message") or "")
    if not reason and status.get("reason"):
        reason, message = str(status["reason"]), str(status.get("message") or "")
    return PodStatus(
        name=str(meta.get("name", "")), phase=str(status.get("phase") or "Unknown"),
        node=str(spec["nodeName"]) if spec.get("nodeName") else None,
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions), exit_code=exit_code,
        reason=reason, message=message.strip(),
        labels={str(k): str(v) for k, v in _dict(meta.get("labels")).items()})


class KubectlDataplaneCluster:
    """`DataplaneCluster` over kubectl: creates and deletes the run's Namespace, Service, Pod and Jobs
    (the manifests as built), lists pods by label and reads their logs."""

    def __init__(self, kubectl: Kubectl) -> None:
        self._kubectl = kubectl

    def nodes(self) -> list[NodeInfo]:
        try:
            return [node_info(_dict(n)) for n in self._kubectl.get("nodes")]
        except KubeError as error:
            raise DataplaneError(str(error)) from None

    def create(self, manifest: Mapping[str, Any]) -> None:
        if manifest.get("kind") not in CREATED_KINDS:
            raise ValueError(f"the data-path preflight creates no {manifest.get('kind')}")
        try:
            self._kubectl.create(manifest)
        except KubeError as error:
            raise DataplaneError(str(error)) from None

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        try:
            self._kubectl.delete(kind, name, namespace)
        except KubeError as error:
            raise DataplaneError(str(error)) from None

    def pods(self, namespace: str, labels: Mapping[str, str]) -> list[PodStatus]:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        try:
            return [pod_status(_dict(p)) for p in self._kubectl.get("pods", namespace=namespace, selector=selector)]
        except KubeError as error:
            raise DataplaneError(str(error)) from None

    def logs(self, namespace: str, pod: str, container: str) -> str:
        try:
            return self._kubectl.logs(namespace, pod, container, tail=LOG_LINES)
        except KubeError as error:
            raise DataplaneError(str(error)) from None
