"""The cluster read with the real kubectl (`stacks.ops.cluster_view.KubectlClusterView`) against an API
server stand-in on loopback (tests/kube_api.py), and how the target is chosen.

The stand-in answers the few read paths the preflight uses with JSON shaped like a real API server's
(lists in chunks with ``continue``), so kubectl's own discovery, chunking and errors run.
"""

from __future__ import annotations

import os
import stat
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kit.secret import SecretValue
from stacks.config.cluster import KubernetesConfig
from stacks.config.stackfile import placeholder
from stacks.ops.cluster import connect_view
from stacks.ops.cluster_view import (
    ClusterReadError,
    ContainerInfo,
    CrdInfo,
    KubectlClusterView,
    NodeInfo,
    NodeTaint,
    ServerVersion,
    StorageClassInfo,
    WorkloadInfo,
)
from stacks.ops.target import ClusterConnectError, ClusterTarget, cluster_target, pulumi_secret_reader
from stacks.preflight import command as preflight
from tests.harness import ROOT, report_line
from tests.kube_api import Served, kube_api, kubeconfig

__all__ = ["kube_api"]


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


DOWNLOAD = {"dynamo-cluster/model-download": "x"}
DOWNLOADER = {"name": "download", "image": "p:1"}
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
    "/api/v1/namespaces/dynamo/pods": [
        {"metadata": meta("model-x-abc", "dynamo", labels=DOWNLOAD), "spec": {"containers": [DOWNLOADER]},
         "status": {"containerStatuses": [{
             "name": "download", "image": "p:1", "imageID": "", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0, "message": '{"bytes": 5}'}}}]}},
        {"metadata": meta("model-x-def", "dynamo", labels=DOWNLOAD), "spec": {"containers": [DOWNLOADER]},
         "status": {"containerStatuses": [{
             "name": "download", "image": "p:1", "imageID": "", "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 1, "message": "failed: HTTP 403"}}}]}},
        {"metadata": meta("model-y-ghi", "dynamo", labels=DOWNLOAD), "spec": {"containers": [DOWNLOADER]},
         "status": {"phase": "Pending"}}],
    "/api/v1/namespaces/dynamo-system/secrets/nats-creds": {
        "metadata": meta("nats-creds", "dynamo-system"), "type": "Opaque",
        "data": {"user": "dQ==", "password": "cA=="}},
}




@pytest.fixture
def view(kube_api: Served) -> KubectlClusterView:
    kube_api.cluster.objects.update(PATHS)
    with ExitStack() as cleanup:
        return connect_view(ClusterTarget(context="target", kubeconfig_path=str(kube_api.kubeconfig)), cleanup)


# -- reading the cluster --------------------------------------------------------------------------
def test_the_view_reads_every_call_from_the_configured_context(view: KubectlClusterView, kube_api: Served) -> None:
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
    # three nodes in chunks of two: kubectl followed the continue token
    assert "/api/v1/nodes?continue=2&limit=500" in kube_api.cluster.seen("GET")


def test_the_view_reads_csi_drivers_and_the_messages_of_succeeded_download_pods(view: KubectlClusterView,
                                                                               kube_api: Served) -> None:
    assert view.csi_drivers() == ["fsx.csi.aws.com", "ebs.csi.aws.com"]
    assert view.termination_messages("dynamo", "dynamo-cluster/model-download") == ['{"bytes": 5}']
    assert any(p.startswith("/api/v1/namespaces/dynamo/pods?labelSelector=dynamo-cluster%2Fmodel-download")
               for p in kube_api.cluster.seen("GET"))


def test_a_refused_read_says_what_and_why(view: KubectlClusterView, kube_api: Served) -> None:
    kube_api.cluster.refuse["/api/v1/nodes"] = (403, 'nodes is forbidden: User "ci" cannot list resource "nodes"')
    with pytest.raises(ClusterReadError, match=r'^reading nodes failed: Error from server \(Forbidden\): nodes is '
                                               r'forbidden: User "ci" cannot list resource "nodes"'):
        view.nodes()


@pytest.mark.usefixtures("kube_api")
def test_an_api_that_does_not_answer_is_a_read_error(tmp_path: Path) -> None:
    path = tmp_path / "closed"
    path.write_text(yaml.safe_dump(kubeconfig("http://127.0.0.1:9", current="target")))
    with ExitStack() as cleanup:
        view = connect_view(ClusterTarget(context="elsewhere", kubeconfig_path=str(path)), cleanup)
        with pytest.raises(ClusterReadError, match=r"^reading the server version failed: .*refused"):
            view.version()


def test_kubectls_answer_that_is_not_json_is_a_read_error() -> None:
    from stacks.ops.kubectl import Kubectl

    def run(argv: list[str], **_: Any) -> Any:
        import subprocess
        return subprocess.CompletedProcess(argv, 0, "<html>proxy login</html>", "")

    view = KubectlClusterView(Kubectl(context="c", which=lambda _: "/usr/bin/kubectl", run=run))
    with pytest.raises(ClusterReadError, match=r"^reading nodes: kubectl did not print JSON$"):
        view.nodes()


# -- choosing the kubeconfig and context ----------------------------------------------------------
def test_a_missing_kubeconfig_file_cannot_connect(tmp_path: Path) -> None:
    with ExitStack() as cleanup, pytest.raises(ClusterConnectError, match=r"^kubeconfig .*/none does not exist$"):
        connect_view(ClusterTarget(context="target", kubeconfig_path=str(tmp_path / "none")), cleanup)


def test_a_context_the_kubeconfig_lacks_is_a_failed_read(kube_api: Served) -> None:
    with ExitStack() as cleanup:
        view = connect_view(ClusterTarget(context="prod", kubeconfig_path=str(kube_api.kubeconfig)), cleanup)
        with pytest.raises(ClusterReadError, match=r"context.*prod"):
            view.version()


def test_an_inline_kubeconfig_is_used_as_given_and_removed_after(kube_api: Served) -> None:
    inline = SecretValue("kubeconfig", yaml.safe_dump(kubeconfig(kube_api.url, current="target")))
    with ExitStack() as cleanup:
        view = connect_view(ClusterTarget(context=None, kubeconfig=inline), cleanup)
        assert view.version().release == "1.33"
        written = [p for p in Path("/tmp").glob("dynamo-cluster-kubeconfig-*")
                   if p.read_text(errors="replace") == inline.value]
        assert len(written) == 1
        assert stat.S_IMODE(os.stat(written[0]).st_mode) == 0o600  # the credential is the user's only
    assert not written[0].exists()


def test_an_inline_kubeconfig_that_is_not_yaml_cannot_connect() -> None:
    with ExitStack() as cleanup, pytest.raises(ClusterConnectError,
                                               match="the secret kubeconfig is not a kubeconfig document"):
        connect_view(ClusterTarget(context=None, kubeconfig=SecretValue("kubeconfig", "just text")), cleanup)


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


# -- the command, end to end against the stand-in ------------------------------------------------
def test_the_command_checks_the_cluster_the_stack_names(kube_api: Served, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    kube_api.cluster.objects.update(PATHS)
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text((ROOT / "Pulumi.dev.yaml").read_text()
                          .replace("~/.kube/config", str(kube_api.kubeconfig))
                          .replace("context: kind-dynamo", "context: target"))
    assert preflight.run(ROOT, "dev", stack_file, aws=False) == 1
    out = capsys.readouterr().out
    assert report_line(out, "ok", "kubernetes api", f"context target of kubeconfig {kube_api.kubeconfig} answers")
    assert report_line(out, "ok", "kubernetes version", "1.33 (v1.33.5-eks-3025e55), as kubernetes.version says")
    assert report_line(out, "ok", "default storage class", "gp3 (ebs.csi.aws.com)")
    assert report_line(out, "FAIL", "pool cpu nodes", "0 Ready, schedulable nodes match kubernetes.io/os=linux")
    assert report_line(out, "ok", "dynamo operator", "this stack's: dynamo-system/op (Helm release dynamo-platform "
                                                     "in dynamo-system; image 1.1.0)")
    # the stand-in has gp3 only; dev's NATS volume names kind's "standard"
    assert report_line(out, "FAIL", "storage class standard", "does not exist")
    # n1 carries the GPU taint and n2 is cordoned: NATS (dev runs no etcd) fits on n3
    assert report_line(out, "ok", "platform nodes", "1 node can run NATS (Ready, schedulable, without a NoSchedule or "
                                                    "NoExecute taint); they need 1")
    assert out.endswith("10 checks: 8 ok, 2 failed; result: failed (exit 1)\n")
