"""`KubectlDataplaneCluster`, the data-path preflight's calls over the real kubectl, against the API
server stand-in of tests/kube_api.py (JSON objects, a Status on refusal, plain text logs). Nothing
leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from stacks.ops.cluster import kubectl_for
from stacks.ops.kubectl import Kubectl
from stacks.ops.target import ClusterTarget
from stacks.preflight.dataplane import manifests
from stacks.preflight.dataplane.cluster import DataplaneError, KubectlDataplaneCluster, PodStatus
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.targets import select_targets
from tests.harness import parse, stack_config
from tests.kube_api import Served, kube_api

__all__ = ["kube_api"]

NS = "dynamo-preflight-abc123"
CONTAINER = {"name": "c", "image": "i:1", "imageID": "", "ready": False, "restartCount": 0}
LABELS = {manifests.RUN_LABEL: "abc123", manifests.STEP_LABEL: "nixlbench", manifests.JOB_LABEL: "h100-efa-nixlbench-0"}


def pod(name: str, phase: str, *, node: str | None = "node-a", state: dict[str, Any] | None = None,
        conditions: list[dict[str, str]] | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase, "conditions": conditions or []}
    if state is not None:
        status["containerStatuses"] = [{**CONTAINER, "state": state}]
    spec: dict[str, Any] = {"containers": [{"name": "nixlbench"}]}
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



NODE = {"metadata": {"name": "node-a", "labels": {"dynamo-cluster/pool": "h100-efa"}}, "spec": {},
        "status": {"allocatable": {"vpc.amazonaws.com/efa": "32"}, "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.fixture
def cluster(kube_api: Served) -> Iterator[KubectlDataplaneCluster]:
    kube_api.cluster.objects.update({
        "/api/v1/nodes": [NODE], f"/api/v1/namespaces/{NS}/pods": PODS,
        **{f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}": p for p in PODS}})
    # JSON-looking log lines must come back as text, not as a parsed object
    kube_api.cluster.logs[f"/api/v1/namespaces/{NS}/pods/bench-0/log"] = ('{"not": "json to parse"}\n'
                                                                          "nixlbench: not found\n")
    with ExitStack() as cleanup:
        target = ClusterTarget(context="target", kubeconfig_path=str(kube_api.kubeconfig))
        yield KubectlDataplaneCluster(kubectl_for(target, cleanup, Kubectl))


def sent(kube_api: Served, method: str) -> list[tuple[str, Any]]:
    return [(path.split("?")[0], body) for m, path, body in kube_api.cluster.requests if m == method]


def run_objects() -> list[dict[str, Any]]:
    run = Run("abc123", "registry.example.com/nixlbench:0.10.1", 60)
    [target, _] = select_targets(parse(stack_config("prod"), "prod")).checked
    return [manifests.namespace(run), manifests.etcd_service(run), manifests.etcd_pod(run),
            manifests.bench_job(run, target, "node-a", 0)]


def test_the_runs_objects_are_created_where_their_kinds_live(cluster: KubectlDataplaneCluster,
                                                            kube_api: Served) -> None:
    objects = run_objects()
    for manifest in objects:
        cluster.create(manifest)
    assert [path for path, _ in sent(kube_api, "POST")] == [
        "/api/v1/namespaces", f"/api/v1/namespaces/{NS}/services", f"/api/v1/namespaces/{NS}/pods",
        f"/apis/batch/v1/namespaces/{NS}/jobs"]
    assert [body for _, body in sent(kube_api, "POST")] == objects  # sent as built


def test_a_refused_create_says_what_and_why(cluster: KubectlDataplaneCluster, kube_api: Served) -> None:
    kube_api.cluster.refuse[f"/apis/batch/v1/namespaces/{NS}/jobs"] = (
        403, 'admission webhook "policy" denied the request: privileged containers are not allowed')
    with pytest.raises(DataplaneError, match=rf"^creating Job {NS}/h100-efa-nixlbench-0 failed: Error from server "
                                             r'\(Forbidden\).*admission webhook "policy" denied the request'):
        cluster.create(run_objects()[3])


def test_deletes_take_the_jobs_pods_and_ignore_what_is_gone(cluster: KubectlDataplaneCluster,
                                                           kube_api: Served) -> None:
    cluster.delete("Job", "h100-efa-nixlbench-0", NS)
    cluster.delete("Pod", "gone", NS)
    cluster.delete("Namespace", NS)
    deletes = sent(kube_api, "DELETE")
    assert [path for path, _ in deletes] == [f"/apis/batch/v1/namespaces/{NS}/jobs/h100-efa-nixlbench-0",
                                             f"/api/v1/namespaces/{NS}/pods/gone", f"/api/v1/namespaces/{NS}"]
    # in the background: a Job's pods go with it (the API's default for Jobs orphans them)
    assert all(body["propagationPolicy"] == "Background" for _, body in deletes)


def test_pods_are_plain_values_that_say_where_they_are(cluster: KubectlDataplaneCluster) -> None:
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


def test_logs_come_back_as_text(cluster: KubectlDataplaneCluster, kube_api: Served) -> None:
    assert cluster.logs(NS, "bench-0", "nixlbench") == '{"not": "json to parse"}\nnixlbench: not found\n'
    [path] = [path for m, path, _ in kube_api.cluster.requests if m == "GET" and "/log" in path]
    assert parse_qs(urlparse(path).query) == {"container": ["nixlbench"], "tailLines": ["5000"]}
    with pytest.raises(DataplaneError, match=r"^reading the log of .*/absent failed: .*not found"):
        cluster.logs(NS, "absent", "nixlbench")


def test_nodes_are_read_as_the_read_only_checks_read_them(cluster: KubectlDataplaneCluster) -> None:
    [node] = cluster.nodes()
    assert node.name == "node-a"
    assert node.ready
    assert node.count("vpc.amazonaws.com/efa") == 32
