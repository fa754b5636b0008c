"""What the cluster preflight reads from Kubernetes: a small, typed, read-only view of a cluster.

`ClusterView` is the few calls the checks in `stacks.preflight.cluster` make; each returns plain
frozen values, so the checks are pure functions and tests drive them with a stub. The one real
implementation, over the official client, is `stacks.preflight.kube_client`. A call the cluster refuses or
does not answer raises `ClusterReadError` with what was asked and why it failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
HELM_RELEASE_NAME = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


class ClusterReadError(Exception):
    """A read the cluster refused (403, 404 of an API) or did not answer."""


@dataclass(frozen=True)
class ServerVersion:
    major: str
    minor: str
    git_version: str  # e.g. v1.33.5-eks-3025e55

    @property
    def release(self) -> str:
        """``major.minor`` (``1.33``): managed control planes report the minor as ``33+``."""
        return f"{_digits(self.major)}.{_digits(self.minor)}"


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``v0.17.0``), the start of its digest, or None without either."""
    if "@" in image:
        return image.rsplit("@", 1)[1][:19]
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def _digits(text: str) -> str:
    match = re.match(r"\d+", text)
    return match.group(0) if match else text


@dataclass(frozen=True)
class StorageClassInfo:
    name: str
    provisioner: str
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        return any(self.annotations.get(key) == "true" for key in DEFAULT_CLASS_ANNOTATIONS)


# Taint effects that keep a pod off a node unless it tolerates them (PreferNoSchedule only discourages).
REPELLING_EFFECTS = ("NoSchedule", "NoExecute")


@dataclass(frozen=True)
class NodeTaint:
    key: str
    effect: str  # NoSchedule, PreferNoSchedule or NoExecute
    value: str | None = None

    def __str__(self) -> str:
        return f"{self.key}{'' if self.value is None else '=' + self.value}:{self.effect}"


@dataclass(frozen=True)
class NodeInfo:
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    allocatable: Mapping[str, str] = field(default_factory=dict)
    ready: bool = True
    unschedulable: bool = False
    taints: tuple[NodeTaint, ...] = ()

    @property
    def repelling_taints(self) -> tuple[NodeTaint, ...]:
        """The taints that keep off every pod that does not tolerate them."""
        return tuple(t for t in self.taints if t.effect in REPELLING_EFFECTS)

    def matches(self, selector: Mapping[str, str]) -> bool:
        return all(self.labels.get(key) == value for key, value in selector.items())

    def count(self, resource: str) -> int:
        """Allocatable units of an extended resource (an integer quantity); 0 when absent."""
        value = self.allocatable.get(resource, "0")
        return int(value) if value.isdigit() else 0

    @property
    def usable(self) -> bool:
        return self.ready and not self.unschedulable


@dataclass(frozen=True)
class ContainerInfo:
    """A container of a workload's pod template: its name, image and command line (command + args)."""

    name: str
    image: str = ""
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkloadInfo:
    """A Deployment or DaemonSet: who installed it (labels, Helm annotations), what it runs, how ready."""

    name: str
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    images: tuple[str, ...] = ()
    desired: int = 1
    ready: int = 1
    containers: tuple[ContainerInfo, ...] = ()

    def container(self, name: str) -> ContainerInfo | None:
        return next((c for c in self.containers if c.name == name), None)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def helm_release(self) -> tuple[str, str] | None:
        return _helm_release(self.annotations)


@dataclass(frozen=True)
class CrdInfo:
    name: str  # plural.group
    group: str
    kind: str
    versions: tuple[str, ...] = ()  # served versions
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def helm_release(self) -> tuple[str, str] | None:
        return _helm_release(self.annotations)


def _helm_release(annotations: Mapping[str, str]) -> tuple[str, str] | None:
    """(release name, release namespace) of the Helm release that owns an object, if one does."""
    name, namespace = annotations.get(HELM_RELEASE_NAME), annotations.get(HELM_RELEASE_NAMESPACE)
    return (name, namespace) if name and namespace else None


class ClusterView(Protocol):
    """Read-only calls the preflight makes; every list is cluster-wide."""

    def version(self) -> ServerVersion: ...

    def storage_classes(self) -> list[StorageClassInfo]: ...

    def nodes(self) -> list[NodeInfo]: ...

    def daemon_sets(self) -> list[WorkloadInfo]: ...

    def deployments(self) -> list[WorkloadInfo]: ...

    def custom_resource_definitions(self) -> list[CrdInfo]: ...

    def secret_keys(self, namespace: str, name: str) -> frozenset[str] | None:
        """The data keys of a Secret (never its values), or None when it does not exist."""
        ...

    def config_map(self, namespace: str, name: str) -> Mapping[str, str] | None:
        """A ConfigMap's data, or None when it does not exist."""
        ...

    def csi_drivers(self) -> list[str]:
        """The names of the cluster's CSIDriver objects (the CSI drivers registered with it)."""
        ...

    def termination_messages(self, namespace: str, label: str) -> list[str]:
        """The termination messages of the containers that succeeded (exit 0) in the pods of
        `namespace` that carry the label key `label`."""
        ...
