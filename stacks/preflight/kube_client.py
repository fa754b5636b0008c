"""The cluster the stack targets (`stacks.config.target`), reached with the official `kubernetes`
client: as a `ClusterView` for the read-only checks, and as a `DataplaneCluster` for the data-path
preflight (`stacks.preflight.dataplane`).

The client has no type stubs: everything it returns is turned into the plain values of
`stacks.preflight.cluster_view` and `stacks.preflight.dataplane.cluster` here, and nowhere else.
Each request times out, is retried once, and lists are read in pages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import yaml

from components.kit.secret import SecretValue
from stacks.config.target import ClusterConnectError, ClusterTarget
from stacks.preflight.cluster_view import (
    ClusterReadError,
    ContainerInfo,
    CrdInfo,
    NodeInfo,
    NodeTaint,
    ServerVersion,
    StorageClassInfo,
    WorkloadInfo,
)
from stacks.preflight.dataplane.cluster import DataplaneError, PodStatus

# (connect, read) seconds for each request; one retry.
REQUEST_TIMEOUT = (10, 60)
RETRIES = 1
PAGE = 500
# The end of a pod's log the data-path preflight reads (nixlbench prints its table last).
LOG_LINES = 5000


def connect(target: ClusterTarget) -> KubeClusterView:
    """A view of the target cluster. Raises `ClusterConnectError` when the kubeconfig or its context
    cannot be loaded; nothing is sent to the cluster until a view's call."""
    return KubeClusterView(_api_client(target))


def connect_dataplane(target: ClusterTarget) -> KubeDataplaneCluster:
    """The target cluster for the data-path preflight (`connect`'s rules)."""
    return KubeDataplaneCluster(_api_client(target))


def _api_client(target: ClusterTarget) -> Any:
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    configuration = client.Configuration()
    configuration.retries = RETRIES
    try:
        if target.kubeconfig_path is not None:
            path = os.path.expanduser(target.kubeconfig_path)
            if not os.path.isfile(path):
                raise ClusterConnectError(f"kubeconfig {target.kubeconfig_path} does not exist")
            kube_config.load_kube_config(config_file=path, context=target.context,
                                         client_configuration=configuration, persist_config=False)
        else:
            document = _kubeconfig_document(target.kubeconfig)
            kube_config.load_kube_config_from_dict(document, context=target.context,
                                                   client_configuration=configuration, persist_config=False)
    except ConfigException as error:
        raise ClusterConnectError(f"{target.describe()} cannot be loaded: {error}") from None
    return client.ApiClient(configuration=configuration)


def _kubeconfig_document(secret: SecretValue | None) -> dict[str, Any]:
    try:
        document = yaml.safe_load(secret.value) if secret is not None else None
    except yaml.YAMLError:
        document = None
    if not isinstance(document, dict):
        raise ClusterConnectError("the secret kubeconfig is not a kubeconfig document (YAML with clusters, "
                                  "users and contexts)")
    return document


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


class KubeClusterView:
    """`ClusterView` over a `kubernetes.client.ApiClient`."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._storage = client.StorageV1Api(api_client)
        self._extensions = client.ApiextensionsV1Api(api_client)
        self._version = client.VersionApi(api_client)

    @staticmethod
    def _call(what: str, method: Callable[..., Any], *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        """`method`'s answer; None for a 404 when `missing_ok`."""
        return _request(what, method, *args, missing_ok=missing_ok, error=ClusterReadError, **kwargs)

    def _items(self, what: str, method: Callable[..., Any]) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = self._call(what, method, limit=PAGE, _continue=token) if token else \
                self._call(what, method, limit=PAGE)
            yield from page.items or []
            token = page.metadata._continue if page.metadata is not None else None
            if not token:
                return

    def version(self) -> ServerVersion:
        info = self._call("get the server version", self._version.get_code)
        return ServerVersion(major=str(info.major), minor=str(info.minor), git_version=str(info.git_version))

    def storage_classes(self) -> list[StorageClassInfo]:
        return [StorageClassInfo(name=str(sc.metadata.name), provisioner=str(sc.provisioner),
                                 annotations=_labels(sc.metadata.annotations))
                for sc in self._items("list storage classes", self._storage.list_storage_class)]

    def nodes(self) -> list[NodeInfo]:
        out = []
        for node in self._items("list nodes", self._core.list_node):
            status = node.status
            conditions = (status.conditions if status is not None else None) or []
            ready = any(c.type == "Ready" and c.status == "True" for c in conditions)
            spec = node.spec
            out.append(NodeInfo(
                name=str(node.metadata.name), labels=_labels(node.metadata.labels),
                allocatable=_labels(status.allocatable if status is not None else None), ready=ready,
                unschedulable=bool(spec.unschedulable) if spec is not None else False,
                taints=tuple(NodeTaint(key=str(t.key), effect=str(t.effect),
                                       value=None if t.value is None else str(t.value))
                             for t in (spec.taints if spec is not None else None) or [])))
        return out

    @staticmethod
    def _workload(obj: Any, desired: Any, ready: Any) -> WorkloadInfo:
        containers = obj.spec.template.spec.containers or []
        return WorkloadInfo(name=str(obj.metadata.name), namespace=str(obj.metadata.namespace),
                            labels=_labels(obj.metadata.labels), annotations=_labels(obj.metadata.annotations),
                            images=tuple(str(c.image) for c in containers), desired=int(desired or 0),
                            ready=int(ready or 0),
                            containers=tuple(ContainerInfo(name=str(c.name), image=str(c.image),
                                                           args=tuple(str(a) for a in [*(c.command or []),
                                                                                       *(c.args or [])]))
                                             for c in containers))

    def daemon_sets(self) -> list[WorkloadInfo]:
        return [self._workload(ds, ds.status.desired_number_scheduled if ds.status else 0,
                               ds.status.number_ready if ds.status else 0)
                for ds in self._items("list daemon sets", self._apps.list_daemon_set_for_all_namespaces)]

    def deployments(self) -> list[WorkloadInfo]:
        return [self._workload(d, d.spec.replicas if d.spec.replicas is not None else 1,
                               d.status.ready_replicas if d.status else 0)
                for d in self._items("list deployments", self._apps.list_deployment_for_all_namespaces)]

    def custom_resource_definitions(self) -> list[CrdInfo]:
        return [CrdInfo(name=str(crd.metadata.name), group=str(crd.spec.group), kind=str(crd.spec.names.kind),
                        versions=tuple(str(v.name) for v in crd.spec.versions or [] if v.served),
                        labels=_labels(crd.metadata.labels), annotations=_labels(crd.metadata.annotations))
                for crd in self._items("list custom resource definitions",
                                       self._extensions.list_custom_resource_definition)]

    def config_map(self, namespace: str, name: str) -> dict[str, str] | None:
        found = self._call(f"read ConfigMap {namespace}/{name}", self._core.read_namespaced_config_map, name,
                           namespace, missing_ok=True)
        return None if found is None else _labels(found.data)

    def csi_drivers(self) -> list[str]:
        return [str(d.metadata.name) for d in self._items("list CSI drivers", self._storage.list_csi_driver)]

    def termination_messages(self, namespace: str, label: str) -> list[str]:
        out = []
        pods = self._call(f"list pods in {namespace}", self._core.list_namespaced_pod, namespace, label_selector=label)
        for pod in pods.items or []:
            statuses = (pod.status.container_statuses if pod.status is not None else None) or []
            for status in statuses:
                terminated = status.state.terminated if status.state is not None else None
                if terminated is not None and terminated.exit_code == 0 and terminated.message:
                    out.append(str(terminated.message))
        return out

    def secret_keys(self, namespace: str, name: str) -> frozenset[str] | None:
        secret = self._call(f"read Secret {namespace}/{name}", self._core.read_namespaced_secret, name, namespace,
                            missing_ok=True)
        return None if secret is None else frozenset(str(key) for key in (secret.data or {}))


def _request(what: str, method: Callable[..., Any], *args: Any, missing_ok: bool = False,
             error: type[Exception] = ClusterReadError, **kwargs: Any) -> Any:
    """`method`'s answer, or `error` saying what was asked and why it failed; None for a 404 when
    `missing_ok`."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
    except ApiException as failure:
        if missing_ok and failure.status == 404:
            return None
        raise error(f"cannot {what}: {_api_error_text(failure)}") from None
    except (HTTPError, OSError) as failure:
        raise error(f"cannot {what}: {failure}") from None
    except ValueError as failure:  # the client validates what it deserialises
        raise error(f"cannot {what}: unexpected answer: {failure}") from None


class KubeDataplaneCluster:
    """`stacks.preflight.dataplane.cluster.DataplaneCluster` over a `kubernetes.client.ApiClient`:
    creates and deletes the run's Namespace, Service, Pod and Jobs (the manifests as built, plain
    dicts), lists pods by label and reads their logs."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self._view = KubeClusterView(api_client)
        self._core = client.CoreV1Api(api_client)
        self._batch = client.BatchV1Api(api_client)

    def nodes(self) -> list[NodeInfo]:
        try:
            return self._view.nodes()
        except ClusterReadError as failure:
            raise DataplaneError(str(failure)) from None

    def create(self, manifest: Mapping[str, Any]) -> None:
        kind, meta = str(manifest["kind"]), manifest["metadata"]
        name, namespace = str(meta["name"]), meta.get("namespace")
        methods: dict[str, Callable[..., Any]] = {
            "Pod": self._core.create_namespaced_pod, "Service": self._core.create_namespaced_service,
            "Job": self._batch.create_namespaced_job}
        body = dict(manifest)
        if kind == "Namespace":
            _request(f"create Namespace {name}", self._core.create_namespace, body, error=DataplaneError)
        elif kind in methods:
            _request(f"create {kind} {namespace}/{name}", methods[kind], namespace, body, error=DataplaneError)
        else:
            raise ValueError(f"the data-path preflight creates no {kind}")

    def delete(self, kind: str, name: str, namespace: str | None = None) -> None:
        # Background propagation: a Job's pods go with it (the API's default for Jobs orphans them).
        if kind == "Namespace":
            _request(f"delete Namespace {name}", self._core.delete_namespace, name, missing_ok=True,
                     error=DataplaneError, propagation_policy="Background")
            return
        methods: dict[str, Callable[..., Any]] = {
            "Pod": self._core.delete_namespaced_pod, "Service": self._core.delete_namespaced_service,
            "Job": self._batch.delete_namespaced_job}
        _request(f"delete {kind} {namespace}/{name}", methods[kind], name, namespace, missing_ok=True,
                 error=DataplaneError, propagation_policy="Background")

    def pods(self, namespace: str, labels: Mapping[str, str]) -> list[PodStatus]:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        listed = _request(f"list pods in {namespace}", self._core.list_namespaced_pod, namespace,
                          label_selector=selector, error=DataplaneError)
        return [_pod_status(pod) for pod in listed.items or []]

    def logs(self, namespace: str, pod: str, container: str) -> str:
        response = _request(f"read the log of pod {namespace}/{pod}", self._core.read_namespaced_pod_log, pod,
                            namespace, container=container, tail_lines=LOG_LINES, _preload_content=False,
                            error=DataplaneError)
        return bytes(response.data).decode("utf-8", "replace")


def _pod_status(pod: Any) -> PodStatus:
    status, spec = pod.status, pod.spec
    conditions = (status.conditions if status is not None else None) or []
    reason, message, exit_code = "", "", None
    containers = (status.container_statuses if status is not None else None) or []
    state = containers[0].state if containers else None
    if state is not None and state.terminated is not None:
        exit_code = int(state.terminated.exit_code)
        reason, message = state.terminated.reason or "", state.terminated.message or ""
    elif state is not None and state.waiting is not None:
        reason, message = state.waiting.reason or "", state.waiting.message or ""
    if not reason:
        unscheduled = [c for c in conditions if c.type == "PodScheduled" and c.status == "False"]
        if unscheduled:
            reason, message = unscheduled[0].reason or "", unscheduled[0].message or ""
    if not reason and status is not None and status.reason:
        reason, message = str(status.reason), str(status.message or "")
    return PodStatus(
        name=str(pod.metadata.name), phase=str(status.phase or "Unknown") if status is not None else "Unknown",
        node=str(spec.node_name) if spec is not None and spec.node_name else None,
        ready=any(c.type == "Ready" and c.status == "True" for c in conditions), exit_code=exit_code,
        reason=str(reason), message=str(message).strip(), labels=_labels(pod.metadata.labels))


def _api_error_text(error: Any) -> str:
    """The API server's own message (``nodes is forbidden: User ... cannot list ...``) when it sent one."""
    try:
        message = json.loads(error.body or "{}").get("message")
    except (ValueError, AttributeError):
        message = None
    return f"{error.status} {error.reason}" + (f": {message}" if message else "")
