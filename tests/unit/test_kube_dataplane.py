"""`KubeDataplaneCluster`, the data-path preflight's calls over the official `kubernetes` client,
against a fake API server on loopback that answers them as a real one does (JSON objects, a Status
on refusal, plain text logs). Nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from stacks.config.target import ClusterTarget
from stacks.preflight.dataplane import manifests
from stacks.preflight.dataplane.cluster import DataplaneError, PodStatus
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.targets import select_targets
from stacks.preflight.kube_client import KubeDataplaneCluster, connect_dataplane
from tests.harness import parse, stack_config

TOKEN = "dataplane-test-token"
NS = "dynamo-preflight-abc123"
CONTAINER = {"name": "c", "image": "i:1", "imageID": "", "ready": False, "restartCount": 0}
LABELS = {manifests.RUN_LABEL: "abc123", manifests.STEP_LABEL: "nixlbench", manifests.JOB_LABEL: "h100-efa-nixlbench-0"}


def pod(name: str, phase: str, *, node: str | None = "node-a", state: dict[str, Any] | None = None,
        conditions: list[dict[str, str]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if state is not None:
        status["containerStatuses"] = [{**CONTAINER, "state": state}]
    spec: dict[str, Any] = {"containers": [{"name": "c"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name, "namespace": NS, "labels": labels or LABELS}, "spec": spec, "status": status}


PODS = [
    pod("bench-0", "Failed", state={"terminated": {"exitCode": 127, "reason": "Error"}}),
    pod("bench-1", "Pending", node=None, conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."}]),
    pod("bench-2", "Pending", state={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}),
    pod("etcd", "Running", state={"running": {}}, conditions=[{"type": "Ready", "status": "True"}],
        labels={manifests.RUN_LABEL: "abc123", manifests.STEP_LABEL: "etcd"}),
]


class FakeApi(BaseHTTPRequestHandler):
    requests: ClassVar[list[tuple[str, str, Any]]] = []
    refuse: ClassVar[set[str]] = set()

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"kind": "Status", "code": 401, "message": "Unauthorized"})
            return False
        return True

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(("POST", self.path, body))
        if not self._authorized():
            return
        if self.path in self.refuse:
            self._send(403, {"kind": "Status", "code": 403, "message": 'admission webhook "policy" denied the '
                                                                      "request: privileged containers are not allowed"})
            return
        self._send(201, body)

    def do_DELETE(self) -> None:
        self.requests.append(("DELETE", self.path, None))
        if not self._authorized():
            return
        url = urlparse(self.path)
        if url.path.endswith("/gone"):
            self._send(404, {"kind": "Status", "code": 404, "message": "not found"})
            return
        self._send(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})

    def do_GET(self) -> None:
        self.requests.append(("GET", self.path, None))
        if not self._authorized():
            return
        url = urlparse(self.path)
        query = parse_qs(url.query)
        if url.path == "/api/v1/nodes":
            self._send(200, {"items": [{"metadata": {"name": "node-a", "labels": {"dynamo-cluster/pool": "h100-efa"}},
                                        "spec": {}, "status": {"allocatable": {"vpc.amazonaws.com/efa": "32"},
                                                               "conditions": [{"type": "Ready", "status": "True"}]}}],
                             "metadata": {}})
        elif url.path == f"/api/v1/namespaces/{NS}/pods":
            wanted = dict(pair.split("=", 1) for pair in query["labelSelector"][0].split(","))
            items = [p for p in PODS if all(p["metadata"]["labels"].get(k) == v for k, v in wanted.items())]
            self._send(200, {"items": items, "metadata": {}})
        elif url.path == f"/api/v1/namespaces/{NS}/pods/bench-0/log":
            # JSON-looking log lines must come back as text, not as a parsed object
            self._send(200, '{"not": "json to parse"}\nnixlbench: not found\n', "text/plain")
        else:
            self._send(404, {"kind": "Status", "code": 404, "message": "not found"})


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[KubeDataplaneCluster]:
    FakeApi.requests = []
    FakeApi.refuse = set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "current-context": "target",
                  "clusters": [{"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_address[1]}"}}],
                  "users": [{"name": "ci", "user": {"token": TOKEN}}],
                  "contexts": [{"name": "target", "context": {"cluster": "fake", "user": "ci"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    yield connect_dataplane(ClusterTarget(context="target", kubeconfig_path=str(path)))
    server.shutdown()
    server.server_close()


def run_objects() -> list[dict[str, Any]]:
    run = Run("abc123", "registry.example.com/nixlbench:0.10.1", 60)
    [target, _] = select_targets(parse(stack_config("prod"), "prod")).checked
    return [manifests.namespace(run), manifests.etcd_service(run), manifests.etcd_pod(run),
            manifests.bench_job(run, target, "node-a", 0)]


def test_the_runs_objects_are_created_where_their_kinds_live(cluster: KubeDataplaneCluster) -> None:
    objects = run_objects()
    for manifest in objects:
        cluster.create(manifest)
    assert [(method, path) for method, path, _ in FakeApi.requests] == [
        ("POST", "/api/v1/namespaces"), ("POST", f"/api/v1/namespaces/{NS}/services"),
        ("POST", f"/api/v1/namespaces/{NS}/pods"), ("POST", f"/apis/batch/v1/namespaces/{NS}/jobs")]
    assert [body for _, _, body in FakeApi.requests] == objects  # sent as built


def test_a_refused_create_says_what_and_why(cluster: KubeDataplaneCluster) -> None:
    FakeApi.refuse = {f"/apis/batch/v1/namespaces/{NS}/jobs"}
    with pytest.raises(DataplaneError, match=rf'^cannot create Job {NS}/h100-efa-nixlbench-0: 403 Forbidden: '
                                             r'admission webhook "policy" denied the request'):
        cluster.create(run_objects()[3])


def test_deletes_take_the_jobs_pods_and_ignore_what_is_gone(cluster: KubeDataplaneCluster) -> None:
    cluster.delete("Job", "h100-efa-nixlbench-0", NS)
    cluster.delete("Pod", "gone", NS)
    cluster.delete("Namespace", NS)
    paths = [path for _, path, _ in FakeApi.requests]
    assert paths == [f"/apis/batch/v1/namespaces/{NS}/jobs/h100-efa-nixlbench-0?propagationPolicy=Background",
                     f"/api/v1/namespaces/{NS}/pods/gone?propagationPolicy=Background",
                     f"/api/v1/namespaces/{NS}?propagationPolicy=Background"]


def test_pods_are_plain_values_that_say_where_they_are(cluster: KubeDataplaneCluster) -> None:
    pods = cluster.pods(NS, {manifests.RUN_LABEL: "abc123", manifests.STEP_LABEL: "nixlbench"})
    assert pods == [
        PodStatus("bench-0", "Failed", "node-a", exit_code=127, reason="Error", labels=LABELS),
        PodStatus("bench-1", "Pending", None, reason="Unschedulable",
                  message="0/4 nodes are available: 4 Insufficient nvidia.com/gpu.", labels=LABELS),
        PodStatus("bench-2", "Pending", "node-a", reason="ImagePullBackOff", message="Back-off pulling image",
                  labels=LABELS)]
    [etcd] = cluster.pods(NS, {manifests.STEP_LABEL: "etcd"})
    assert etcd.ready
    assert etcd.phase == "Running"


def test_logs_come_back_as_text(cluster: KubeDataplaneCluster) -> None:
    assert cluster.logs(NS, "bench-0", "nixlbench") == '{"not": "json to parse"}\nnixlbench: not found\n'
    [(_, path, _)] = [r for r in FakeApi.requests if "/log" in r[1]]
    assert parse_qs(urlparse(path).query) == {"container": ["nixlbench"], "tailLines": ["5000"]}
    with pytest.raises(DataplaneError, match=r"^cannot read the log of pod .*/absent: 404 Not Found"):
        cluster.logs(NS, "absent", "nixlbench")


def test_nodes_are_read_as_the_read_only_checks_read_them(cluster: KubeDataplaneCluster) -> None:
    [node] = cluster.nodes()
    assert node.name == "node-a"
    assert node.ready
    assert node.count("vpc.amazonaws.com/efa") == 32
