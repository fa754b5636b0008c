"""A Kubernetes API server stand-in on loopback, for the real kubectl.

It answers what kubectl asks for the calls the offline commands make (over plain HTTP, where kubectl
sends no bearer token: the context is told apart by the server it names, not by credentials): the version, API discovery
(the legacy form, which kubectl falls back to), lists in chunks of two (``limit``/``continue``),
objects by name, creates, deletes and logs, each as a real API server shapes them (a `Status` with its
`reason` on refusal). The objects it serves and the refusals it makes are the test's. Nothing leaves
127.0.0.1.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tests.real_tools import require_tool

TOKEN = "kubectl-test-token"
VERSION = {"major": "1", "minor": "33+", "gitVersion": "v1.33.5-eks-3025e55", "gitCommit": "3025e55",
           "gitTreeState": "clean", "buildDate": "2025-09-01T00:00:00Z", "goVersion": "go1.24.6", "compiler": "gc",
           "platform": "linux/amd64"}
# group/version -> (kind, plural, namespaced) of the resources served
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [("Node", "nodes", False), ("Pod", "pods", True), ("Secret", "secrets", True),
           ("ConfigMap", "configmaps", True), ("Service", "services", True), ("Namespace", "namespaces", False)],
    "apps/v1": [("DaemonSet", "daemonsets", True), ("Deployment", "deployments", True)],
    "batch/v1": [("Job", "jobs", True)],
    "storage.k8s.io/v1": [("StorageClass", "storageclasses", False), ("CSIDriver", "csidrivers", False)],
    "apiextensions.k8s.io/v1": [("CustomResourceDefinition", "customresourcedefinitions", False)],
}
REASONS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "AlreadyExists"}


def status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": REASONS.get(code, "InternalError"), "code": code}


def _discovery(path: str) -> dict[str, Any] | None:
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
    if path == "/apis":
        groups = [gv.split("/")[0] for gv in RESOURCES if "/" in gv]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}} for g in groups]}
    group_version = path.removeprefix("/api/").removeprefix("/apis/")
    if path.startswith(("/api/", "/apis/")) and group_version in RESOURCES:
        verbs = ["create", "delete", "get", "list"]
        resources = [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                      "verbs": verbs} for kind, plural, namespaced in RESOURCES[group_version]]
        resources.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}
    return None


def _list_kind(path: str) -> tuple[str, str]:
    """(group/version, kind) of the items of a list path (``/apis/apps/v1/namespaces/x/deployments``)."""
    parts = path.strip("/").split("/")
    group_version = parts[1] if parts[0] == "api" else f"{parts[1]}/{parts[2]}"
    plural = parts[-1]
    kind = next(k for k, name, _ in RESOURCES[group_version] if name == plural)
    return group_version, kind


@dataclass
class FakeCluster:
    """What the stand-in serves: objects by API path (a list path holds a list of items, an object path
    one object), pod logs by path, refusals by path (HTTP status and message)."""

    objects: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)  # (method, path with query, body)

    def seen(self, method: str) -> list[str]:
        """The resource paths (with queries) asked with `method`, discovery left out."""
        return [path for m, path, _ in self.requests if m == method and _discovery(urlparse(path).path) is None
                and urlparse(path).path != "/version"]


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Api(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length)) if length else None

        def _refused(self, path: str) -> bool:
            if path in cluster.refuse:
                code, message = cluster.refuse[path]
                self._send(code, status(code, message))
                return True
            return False

        def do_GET(self) -> None:
            url = urlparse(self.path)
            cluster.requests.append(("GET", self.path, None))
            path = url.path.rstrip("/")
            if path == "/version":
                self._send(200, VERSION)
                return
            found = _discovery(path)
            if found is not None:
                self._send(200, found)
                return
            if self._refused(path):
                return
            if path.endswith("/log"):
                if path in cluster.logs:
                    self._send(200, cluster.logs[path], "text/plain")
                else:
                    self._send(404, status(404, f'pods "{path.split("/")[-2]}" not found'))
                return
            answer = cluster.objects.get(path)
            if answer is None:
                self._send(404, status(404, f'"{path.rsplit("/", 1)[-1]}" not found'))
            elif isinstance(answer, Mapping):
                group_version, kind = _list_kind(path.rsplit("/", 1)[0])
                self._send(200, {"kind": kind, "apiVersion": group_version, **answer})
            else:
                query = parse_qs(url.query)
                items = list(answer)
                if "labelSelector" in query:
                    wanted = dict(p.split("=", 1) for p in query["labelSelector"][0].split(",") if "=" in p)
                    keys = [p for p in query["labelSelector"][0].split(",") if "=" not in p]
                    items = [i for i in items if all(i["metadata"].get("labels", {}).get(k) == v
                                                     for k, v in wanted.items())
                             and all(k in i["metadata"].get("labels", {}) for k in keys)]
                start = int(query.get("continue", ["0"])[0])
                group_version, kind = _list_kind(path)
                listed: dict[str, Any] = {"kind": f"{kind}List", "apiVersion": group_version, "metadata": {},
                                          "items": items[start:start + 2]}
                if start + 2 < len(items):
                    listed["metadata"]["continue"] = str(start + 2)
                self._send(200, listed)

        def do_POST(self) -> None:
            body = self._body()
            cluster.requests.append(("POST", self.path, body))
            if self._refused(urlparse(self.path).path):
                return
            self._send(201, body)

        def do_DELETE(self) -> None:
            body = self._body()
            cluster.requests.append(("DELETE", self.path, body))
            path = urlparse(self.path).path
            if self._refused(path):
                return
            if path.endswith("/gone"):
                self._send(404, status(404, '"gone" not found'))
                return
            self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    return Api


def kubeconfig(server: str, current: str = "elsewhere") -> dict[str, Any]:
    """Two contexts: `target` reaches `server`, `elsewhere` (the current context) a closed port."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "fake", "cluster": {"server": server}},
                     {"name": "closed", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "ci", "user": {"token": TOKEN}}],
        "contexts": [{"name": "target", "context": {"cluster": "fake", "user": "ci"}},
                     {"name": "elsewhere", "context": {"cluster": "closed", "user": "ci"}}],
    }


@dataclass
class Served:
    cluster: FakeCluster
    url: str
    kubeconfig: Path


@pytest.fixture
def kube_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The stand-in, a kubeconfig whose `target` context reaches it, and a HOME of the test's own (so
    kubectl's discovery cache and the ambient kubeconfig are never the user's)."""
    require_tool("kubectl", "Debian package kubernetes-client, or the Kubernetes project's kubectl package")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ambient-that-must-not-be-read"))
    cluster = FakeCluster()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cluster))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(url)))
    yield Served(cluster, url, path)
    server.shutdown()
    server.server_close()
