"""The `kubernetes` client adapter against a fake API server on loopback, and how the target is chosen.

The fake answers the few read paths the preflight uses with JSON shaped like a real API server's
(lists paged with ``continue``), so the client's own deserialisation runs. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from components.kit.secret import SecretValue
from stacks.config.cluster import KubernetesConfig
from stacks.config.stackfile import placeholder
from stacks.config.target import ClusterConnectError, ClusterTarget, cluster_target, pulumi_secret_reader
from stacks.preflight import command as preflight
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
from stacks.preflight.kube_client import KubeClusterView, connect
from tests.harness import ROOT

TOKEN = "preflight-test-token"


def meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"name": name, **({"namespace": namespace} if namespace else {}), **extra}


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
SOFT_TAINT = {"key": "spot", "effect": "PreferNoSchedule"}


def node(name: str, gpus: int, *taints: dict[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"unschedulable": name == "n2"}
    if taints:
        spec["taints"] = list(taints)
    return {"metadata": meta(name, labels={"gpu": "a100"}), "spec": spec,
            "status": {"allocatable": {"cpu": "8", "nvidia.com/gpu": str(gpus)},
                       "conditions": [{"type": "Ready", "status": "True"}]}}


def pod_template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "main", "image": image}]}}


DEVICE_PLUGIN = "nvcr.io/nvidia/k8s-device-plugin:v0.17.2"
HELM = {"meta.helm.sh/release-name": "dynamo-platform", "meta.helm.sh/release-namespace": "dynamo-system"}
PATHS: dict[str, list[dict[str, Any]] | dict[str, Any]] = {
    "/version": {"major": "1", "minor": "33+", "gitVersion": "v1.33.5-eks-3025e55", "gitCommit": "3025e55",
                 "gitTreeState": "clean", "buildDate": "2025-09-01T00:00:00Z", "goVersion": "go1.24.6",
                 "compiler": "gc", "platform": "linux/amd64"},
    "/apis/storage.k8s.io/v1/storageclasses": [
        {"metadata": meta("gp3", annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
         "provisioner": "ebs.csi.aws.com"}],
    "/api/v1/nodes": [node("n1", 8, GPU_TAINT, SOFT_TAINT), node("n2", 4), node("n3", 0)],
    "/apis/apps/v1/daemonsets": [
        {"metadata": meta("nvidia-device-plugin-daemonset", "gpu-operator"),
         "spec": {"selector": {"matchLabels": {"app": "x"}},
                  "template": pod_template("nvcr.io/nvidia/k8s-device-plugin:v0.17.2")},
         "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberMisscheduled": 0,
                    "numberReady": 2}}],
    "/apis/apps/v1/deployments": [
        {"metadata": meta("op", "dynamo-system", labels={"app.kubernetes.io/part-of": "dynamo-operator"},
                          annotations=HELM),
         "spec": {"selector": {"matchLabels": {"app": "x"}},
                  "template": pod_template("nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.1.0")},
         "status": {"readyReplicas": 1}}],
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions": [
        {"metadata": meta("dynamographdeployments.nvidia.com"),
         "spec": {"group": "nvidia.com", "scope": "Namespaced",
                  "names": {"kind": "DynamoGraphDeployment", "plural": "dynamographdeployments"},
                  "versions": [{"name": "v1alpha1", "served": True, "storage": True},
                               {"name": "v1alpha0", "served": False, "storage": False}]}}],
    "/api/v1/namespaces/kube-system/configmaps/amazon-vpc-cni": {
        "metadata": meta("amazon-vpc-cni", "kube-system"), "data": {"enable-network-policy-controller": "true"}},
    "/apis/storage.k8s.io/v1/csidrivers": [{"metadata": meta("fsx.csi.aws.com"), "spec": {}},
                                           {"metadata": meta("ebs.csi.aws.com"), "spec": {}}],
    "/api/v1/namespaces/dynamo/pods": {"metadata": {}, "items": [
        {"metadata": meta("model-x-abc", "dynamo"), "spec": {"containers": [{"name": "download", "image": "p:1"}]},
         "status": {"containerStatuses": [{
             "name": "download", "image": "p:1", "imageID": "", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "message": '{"bytes": 5}'}}}]}},
        {"metadata": meta("model-x-def", "dynamo"), "spec": {"containers": [{"name": "download", "image": "p:1"}]},
         "status": {"containerStatuses": [{
             "name": "download", "image": "p:1", "imageID": "", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 1, "message": "failed: HTTP 403"}}}]}},
        {"metadata": meta("model-y-ghi", "dynamo"), "spec": {"containers": [{"name": "download", "image": "p:1"}]},
         "status": {"phase": "Pending"}}]},
    "/api/v1/namespaces/dynamo-system/secrets/nats-creds": {
        "metadata": meta("nats-creds", "dynamo-system"), "type": "Opaque",
        "data": {"user": "dQ==", "password": "cA=="}},
}


class FakeApi(BaseHTTPRequestHandler):
    forbidden: ClassVar[set[str]] = set()
    seen: ClassVar[list[str]] = []

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.seen.append(self.path)
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._send(401, {"kind": "Status", "message": "Unauthorized", "code": 401})
            return
        if url.path in self.forbidden:
            self._send(403, {"kind": "Status", "code": 403,
                             "message": f"forbidden: User \"ci\" cannot get {url.path}"})
            return
        answer = PATHS.get(url.path.rstrip("/"))
        if answer is None:
            self._send(404, {"kind": "Status", "message": "not found", "code": 404})
        elif isinstance(answer, dict):
            self._send(200, answer)
        else:  # a list, in pages of two items
            start = int(parse_qs(url.query).get("continue", ["0"])[0])
            listed: dict[str, Any] = {"items": answer[start:start + 2], "metadata": {}}
            if start + 2 < len(answer):
                listed["metadata"]["continue"] = str(start + 2)
            self._send(200, listed)


@pytest.fixture
def api() -> Iterator[str]:
    FakeApi.forbidden = set()
    FakeApi.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def kubeconfig(server: str, current: str = "elsewhere") -> dict[str, Any]:
    """Two contexts: `target` reaches the fake API, `elsewhere` (the current context) a closed port."""
    return {
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": "fake", "cluster": {"server": server}},
                     {"name": "closed", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "ci", "user": {"token": TOKEN}}],
        "contexts": [{"name": "target", "context": {"cluster": "fake", "user": "ci"}},
                     {"name": "elsewhere", "context": {"cluster": "closed", "user": "ci"}}],
    }


@pytest.fixture
def view(api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KubeClusterView:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(api)))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "ambient-that-must-not-be-read"))
    return connect(ClusterTarget(context="target", kubeconfig_path=str(path)))


# -- reading the cluster --------------------------------------------------------------------------
def test_the_view_reads_every_call_from_the_configured_context(view: KubeClusterView) -> None:
    assert view.version() == ServerVersion("1", "33+", "v1.33.5-eks-3025e55")
    assert view.storage_classes() == [StorageClassInfo(
        "gp3", "ebs.csi.aws.com", {"storageclass.kubernetes.io/is-default-class": "true"})]
    assert view.nodes() == [
        NodeInfo("n1", {"gpu": "a100"}, {"cpu": "8", "nvidia.com/gpu": "8"},
                 taints=(NodeTaint("nvidia.com/gpu", "NoSchedule", "true"), NodeTaint("spot", "PreferNoSchedule"))),
        NodeInfo("n2", {"gpu": "a100"}, {"cpu": "8", "nvidia.com/gpu": "4"}, unschedulable=True),
        NodeInfo("n3", {"gpu": "a100"}, {"cpu": "8", "nvidia.com/gpu": "0"})]
    assert view.daemon_sets() == [WorkloadInfo("nvidia-device-plugin-daemonset", "gpu-operator", {}, {},
                                               ("nvcr.io/nvidia/k8s-device-plugin:v0.17.2",), desired=3, ready=2,
                                               containers=(ContainerInfo("main", DEVICE_PLUGIN, ()),))]
    assert view.config_map("kube-system", "amazon-vpc-cni") == {"enable-network-policy-controller": "true"}
    assert view.config_map("kube-system", "absent") is None
    assert view.deployments() == [WorkloadInfo("op", "dynamo-system", {"app.kubernetes.io/part-of": "dynamo-operator"},
                                               HELM, ("nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.1.0",), 1, 1,
                                               (ContainerInfo("main", "nvcr.io/nvidia/ai-dynamo/kubernetes-operator:"
                                                                      "1.1.0"),))]
    assert view.custom_resource_definitions() == [
        CrdInfo("dynamographdeployments.nvidia.com", "nvidia.com", "DynamoGraphDeployment", ("v1alpha1",))]
    assert view.secret_keys("dynamo-system", "nats-creds") == frozenset({"user", "password"})
    assert view.secret_keys("dynamo-system", "absent") is None
    assert "/api/v1/nodes?continue=2&limit=500" in FakeApi.seen


def test_the_view_reads_csi_drivers_and_the_messages_of_succeeded_download_pods(view: KubeClusterView) -> None:
    assert view.csi_drivers() == ["fsx.csi.aws.com", "ebs.csi.aws.com"]
    assert view.termination_messages("dynamo", "dynamo-cluster/model-download") == ['{"bytes": 5}']
    assert any(p.startswith("/api/v1/namespaces/dynamo/pods?labelSelector=dynamo-cluster%2Fmodel-download")
               for p in FakeApi.seen)


def test_a_refused_read_says_what_and_why(view: KubeClusterView) -> None:
    FakeApi.forbidden = {"/api/v1/nodes"}
    with pytest.raises(ClusterReadError, match=r'^cannot list nodes: 403 Forbidden: forbidden: User "ci" cannot get '
                                               r"/api/v1/nodes$"):
        view.nodes()


def test_an_api_that_does_not_answer_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig("http://127.0.0.1:9", current="target")))
    view = connect(ClusterTarget(context="elsewhere", kubeconfig_path=str(path)))
    with pytest.raises(ClusterReadError, match=r"^cannot get the server version: "):
        view.version()


# -- choosing the kubeconfig and context ----------------------------------------------------------
def test_a_missing_kubeconfig_file_cannot_connect(tmp_path: Path) -> None:
    with pytest.raises(ClusterConnectError, match=r"^kubeconfig .*/none does not exist$"):
        connect(ClusterTarget(context="target", kubeconfig_path=str(tmp_path / "none")))


def test_a_context_the_kubeconfig_lacks_cannot_connect(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig("http://127.0.0.1:9")))
    with pytest.raises(ClusterConnectError, match=rf"^context prod of kubeconfig {path} cannot be loaded: "):
        connect(ClusterTarget(context="prod", kubeconfig_path=str(path)))


def test_an_inline_kubeconfig_is_used_as_given(api: str) -> None:
    inline = SecretValue("kubeconfig", yaml.safe_dump(kubeconfig(api, current="target")))
    view = connect(ClusterTarget(context=None, kubeconfig=inline))
    assert view.version().release == "1.33"


def test_an_inline_kubeconfig_that_is_not_yaml_cannot_connect() -> None:
    with pytest.raises(ClusterConnectError, match="the secret kubeconfig is not a kubeconfig document"):
        connect(ClusterTarget(context=None, kubeconfig=SecretValue("kubeconfig", "just text")))


def test_the_target_is_the_configured_file_and_context() -> None:
    kube = KubernetesConfig(version="1.33", context="kind-dynamo", kubeconfig_path="~/.kube/config", kubeconfig=None)
    target = cluster_target(kube, lambda key: pytest.fail(f"read {key}"))
    assert target == ClusterTarget(context="kind-dynamo", kubeconfig_path="~/.kube/config")
    assert target.describe() == "context kind-dynamo of kubeconfig ~/.kube/config"


def test_an_encrypted_kubeconfig_is_decrypted_and_a_plain_one_kept() -> None:
    asked: list[str] = []

    def read(key: str) -> str:
        asked.append(key)
        return "apiVersion: v1"

    encrypted = SecretValue("kubeconfig", placeholder("dynamo-cluster:kubeconfig"))
    kube = KubernetesConfig(version="1.33", context=None, kubeconfig_path=None, kubeconfig=encrypted)
    target = cluster_target(kube, read)
    assert target.kubeconfig is not None
    assert (target.kubeconfig.value, asked) == ("apiVersion: v1", ["dynamo-cluster:kubeconfig"])
    assert target.describe() == "the current context of the secret kubeconfig"
    plain = KubernetesConfig(version="1.33", context="c", kubeconfig_path=None,
                             kubeconfig=SecretValue("kubeconfig", "apiVersion: v1"))
    assert cluster_target(plain, read).kubeconfig == plain.kubeconfig
    assert len(asked) == 1


def fake_pulumi(tmp_path: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `pulumi` on PATH that records its arguments and runs `script`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "pulumi"
    exe.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args'}\n{script}\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "args"


def test_the_pulumi_cli_decrypts_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = fake_pulumi(tmp_path, "printf 'apiVersion: v1\\n'", monkeypatch)
    stack_file = tmp_path / "Pulumi.prod.yaml"
    read = pulumi_secret_reader(ROOT, "prod", stack_file)
    assert read("dynamo-cluster:kubeconfig") == "apiVersion: v1"
    assert args.read_text().split() == ["config", "get", "dynamo-cluster:kubeconfig", "--stack", "prod", "--cwd",
                                        str(ROOT), "--config-file", str(stack_file)]


def test_a_pulumi_cli_that_fails_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_pulumi(tmp_path, "echo 'error: passphrase must be set' >&2; exit 255", monkeypatch)
    with pytest.raises(ClusterConnectError, match=r"`pulumi config get dynamo-cluster:kubeconfig --stack prod` "
                                                  r"failed: error: passphrase must be set$"):
        pulumi_secret_reader(ROOT, "prod", None)("dynamo-cluster:kubeconfig")


def test_no_pulumi_cli_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ClusterConnectError, match=r"cannot run: the Pulumi CLI is not installed$"):
        pulumi_secret_reader(ROOT, "prod", None)("dynamo-cluster:kubeconfig")


# -- the command, end to end against the fake API -------------------------------------------------
def test_the_command_checks_the_cluster_the_stack_names(api: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig(api)))
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text()
                          .replace("~/.kube/config", str(path)).replace("context: kind-dynamo", "context: target"))
    assert preflight.run(ROOT, "dev", stack_file, aws=False) == 1
    out = capsys.readouterr().out
    assert f"PASS  kubernetes api: context target of kubeconfig {path} answers\n" in out
    assert "PASS  kubernetes version: 1.33 (v1.33.5-eks-3025e55), as kubernetes.version says\n" in out
    assert "PASS  default storage class: gp3 (ebs.csi.aws.com)\n" in out
    assert "FAIL  pool cpu nodes: 0 Ready, schedulable nodes match kubernetes.io/os=linux" in out
    assert "PASS  dynamo operator: this stack's: dynamo-system/op (Helm release dynamo-platform in dynamo-system; " \
           "image 1.1.0)" in out
    # the fake cluster has gp3 only; dev's NATS volume names kind's "standard"
    assert "FAIL  storage class standard: does not exist" in out
    # n1 carries the GPU taint and n2 is cordoned: NATS (dev runs no etcd) fits on n3
    assert "PASS  platform nodes: 1 node can run NATS (Ready, schedulable, without a NoSchedule or " \
           "NoExecute taint); they need 1" in out
    assert out.endswith("10 checks, 2 failed\n")
