"""What the data-path preflight asks of a cluster: a few calls that create, watch, read and delete
the objects of one run, returning plain frozen values (`PodStatus`), so the runner is driven in tests
by a stub. The real implementation, over the official client, is
`stacks.preflight.kube_client.KubeDataplaneCluster`. A request the cluster refuses or does not answer
raises `DataplaneError` with what was asked and why it failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stacks.preflight.cluster_view import NodeInfo

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
