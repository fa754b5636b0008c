"""What the cluster preflight reads from Kubernetes: a small, typed, read-only view of a cluster.

`ClusterView` is the few calls the checks in `stacks.preflight.cluster` make; each returns plain
frozen values, so the checks are pure functions and tests drive them with a stub. The real one,
`KubectlClusterView`, reads with kubectl (`stacks.ops.kubectl`). A call the cluster refuses or does
not answer raises `ClusterReadError` with what was asked and why it failed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from stacks.ops.kubectl import Kubectl, KubeError

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


# -- the cluster, read with kubectl ------------------------------------------------------------
def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def node_info(node: Mapping[str, Any]) -> NodeInfo:
    """A Node as the API returns it, as the checks see it."""
    meta, spec, status = _dict(node.get("metadata")), _dict(node.get("spec")), _dict(node.get("status"))
    conditions = [_dict(c) for c in _list(status.get("conditions"))]
    return NodeInfo(
        name=str(meta.get("name", "")), labels=_strings(meta.get("labels")),
        allocatable=_strings(status.get("allocatable")),
        ready=any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions),
        unschedulable=bool(spec.get("unschedulable")),
        taints=tuple(NodeTaint(key=str(t.get("key", "")), effect=str(t.get("effect", "")),
                               value=None if t.get("value") is None else str(t.get("value")))
                     for t in map(_dict, _list(spec.get("taints")))))


def workload_info(obj: Mapping[str, Any], desired: Any, ready: Any) -> WorkloadInfo:
    """A Deployment or DaemonSet, with what its pods run and how many are ready."""
    meta = _dict(obj.get("metadata"))
    pod = _dict(_dict(_dict(obj.get("spec")).get("template")).get("spec"))
    containers = [_dict(c) for c in _list(pod.get("containers"))]
    return WorkloadInfo(
        name=str(meta.get("name", "")), namespace=str(meta.get("namespace", "")), labels=_strings(meta.get("labels")),
        annotations=_strings(meta.get("annotations")), images=tuple(str(c.get("image", "")) for c in containers),
        desired=int(desired or 0), ready=int(ready or 0),
        containers=tuple(ContainerInfo(name=str(c.get("name", "")), image=str(c.get("image", "")),
                                       args=tuple(str(a) for a in [*_list(c.get("command")), *_list(c.get("args"))]))
                         for c in containers))


def crd_info(crd: Mapping[str, Any]) -> CrdInfo:
    meta, spec = _dict(crd.get("metadata")), _dict(crd.get("spec"))
    return CrdInfo(name=str(meta.get("name", "")), group=str(spec.get("group", "")),
                   kind=str(_dict(spec.get("names")).get("kind", "")),
                   versions=tuple(str(v.get("name")) for v in map(_dict, _list(spec.get("versions")))
                                  if v.get("served")),
                   labels=_strings(meta.get("labels")), annotations=_strings(meta.get("annotations")))


class KubectlClusterView:
    """`ClusterView` over kubectl: every list cluster-wide, every answer turned into the frozen values
    above; a refused or unanswered read is a `ClusterReadError` with kubectl's own words."""

    def __init__(self, kubectl: Kubectl) -> None:
        self._kubectl = kubectl

    def _get(self, resource: str, **kwargs: Any) -> Any:
        try:
            return self._kubectl.get(resource, **kwargs)
        except KubeError as error:
            raise ClusterReadError(str(error)) from None

    def version(self) -> ServerVersion:
        try:
            info = self._kubectl.server_version()
        except KubeError as error:
            raise ClusterReadError(str(error)) from None
        return ServerVersion(major=str(info.get("major", "")), minor=str(info.get("minor", "")),
                             git_version=str(info.get("gitVersion", "")))

    def storage_classes(self) -> list[StorageClassInfo]:
        return [StorageClassInfo(name=str(_dict(sc.get("metadata")).get("name", "")),
                                 provisioner=str(sc.get("provisioner", "")),
                                 annotations=_strings(_dict(sc.get("metadata")).get("annotations")))
                for sc in map(_dict, self._get("storageclasses"))]

    def nodes(self) -> list[NodeInfo]:
        return [node_info(_dict(n)) for n in self._get("nodes")]

    def daemon_sets(self) -> list[WorkloadInfo]:
        out = []
        for ds in map(_dict, self._get("daemonsets")):
            status = _dict(ds.get("status"))
            out.append(workload_info(ds, status.get("desiredNumberScheduled"), status.get("numberReady")))
        return out

    def deployments(self) -> list[WorkloadInfo]:
        out = []
        for d in map(_dict, self._get("deployments")):
            replicas = _dict(d.get("spec")).get("replicas")
            ready = _dict(d.get("status")).get("readyReplicas")
            out.append(workload_info(d, 1 if replicas is None else replicas, ready))
        return out

    def custom_resource_definitions(self) -> list[CrdInfo]:
        return [crd_info(_dict(crd)) for crd in self._get("customresourcedefinitions")]

    def secret_keys(self, namespace: str, name: str) -> frozenset[str] | None:
        secret = self._get("secret", namespace=namespace, name=name, missing_ok=True)
        return None if secret is None else frozenset(str(k) for k in _dict(_dict(secret).get("data")))

    def config_map(self, namespace: str, name: str) -> Mapping[str, str] | None:
        found = self._get("configmap", namespace=namespace, name=name, missing_ok=True)
        return None if found is None else _strings(_dict(found).get("data"))

    def csi_drivers(self) -> list[str]:
        return [str(_dict(d.get("metadata")).get("name", "")) for d in map(_dict, self._get("csidrivers"))]

    def termination_messages(self, namespace: str, label: str) -> list[str]:
        out = []
        for pod in map(_dict, self._get("pods", namespace=namespace, selector=label)):
            for status in map(_dict, _list(_dict(pod.get("status")).get("containerStatuses"))):
                terminated = _dict(_dict(status.get("state")).get("terminated"))
                if terminated.get("exitCode") == 0 and terminated.get("message"):
                    out.append(str(terminated["message"]))
        return out
