"""The cluster preflight's API, Dynamo and Secret checks, and the whole run, driven through a stub cluster."""

from collections.abc import Callable
from typing import Any

import pytest

from stacks.ops.cluster_view import ClusterView, CrdInfo, NodeInfo, ServerVersion, StorageClassInfo, WorkloadInfo
from stacks.ops.report import Finding
from stacks.ops.target import ClusterConnectError
from stacks.preflight.cluster import READ_FIX, SecretRef, check_existing_secrets, cluster_checks, created_secrets
from tests.cluster_stub import DEFAULT, WHERE, StubCluster, dev, one, run
from tests.harness import by_kind, parse, plan_config, stack_config


# -- the whole run --------------------------------------------------------------------------------
def test_a_dev_cluster_that_fits_passes_every_check() -> None:
    stub = StubCluster(node_list=[NodeInfo("kind-control-plane", {"kubernetes.io/os": "linux"})],
                       classes=[StorageClassInfo("standard", "rancher.io/local-path", DEFAULT)])
    results = run(dev(), stub)
    assert [r for r in results if not r.ok] == []
    assert [r.check for r in results] == ["kubernetes api", "kubernetes version", "default storage class",
                                         "storage class standard", "pool cpu nodes", "platform nodes",
                                         "network policy enforcement", "dynamo operator", "dynamo crds", "secrets"]
    assert results[0].detail == f"{WHERE} answers"


def test_an_unloadable_kubeconfig_stops_the_checks() -> None:
    def refuse() -> ClusterView:
        raise ClusterConnectError("kubeconfig ~/.kube/config does not exist")

    assert cluster_checks(dev(), refuse, WHERE) == [Finding.failed(
        "kubernetes api", "kubeconfig ~/.kube/config does not exist",
        "set dynamo-cluster:kubernetes.kubeconfigPath and kubernetes.context to a kubeconfig file and a context in "
        "it, or the secret dynamo-cluster:kubeconfig")]


def test_a_kubeconfig_that_cannot_be_decrypted_says_how_to_fix_that() -> None:
    def refuse() -> ClusterView:
        raise ClusterConnectError("`pulumi config get` failed", "install the Pulumi CLI")

    assert cluster_checks(dev(), refuse, WHERE) == [
        Finding.failed("kubernetes api", "`pulumi config get` failed", "install the Pulumi CLI")]


def test_an_api_that_does_not_answer_stops_the_checks() -> None:
    stub = StubCluster(refuse={"version"})
    assert run(dev(), stub) == [Finding.failed(
        "kubernetes api", f"{WHERE} does not answer: cannot version: 403 Forbidden",
        f"check that the cluster is up and reachable from here, and that {WHERE} holds working credentials "
        f"(kubectl version shows the same)")]
    assert stub.calls == ["version"]


def test_a_refused_read_fails_its_checks_only() -> None:
    results = run(dev(), StubCluster(refuse={"storage_classes"}))
    assert one(results, "storage classes") == Finding.failed(
        "storage classes", "not checked: cannot storage_classes: 403 Forbidden", READ_FIX)
    assert one(results, "dynamo operator").ok


# -- the version ----------------------------------------------------------------------------------
def test_a_supported_version_as_configured_passes() -> None:
    stub = StubCluster(server=ServerVersion("1", "33+", "v1.33.5-eks-3025e55"))
    assert one(run(dev(), stub), "kubernetes version") == Finding.passed(
        "kubernetes version", "1.33 (v1.33.5-eks-3025e55), as kubernetes.version says")


def test_an_unsupported_version_fails() -> None:
    result = one(run(dev(), StubCluster(server=ServerVersion("1", "29", "v1.29.4"))), "kubernetes version")
    assert result == Finding.failed(
        "kubernetes version", "the server runs Kubernetes 1.29 (v1.29.4), which this project does not support",
        "upgrade the cluster to one of 1.31, 1.32, 1.33, 1.34, 1.35")


def test_a_version_other_than_the_configured_one_fails() -> None:
    result = one(run(dev(), StubCluster(server=ServerVersion("1", "34", "v1.34.1"))), "kubernetes version")
    assert result == Finding.failed(
        "kubernetes version", "the server runs Kubernetes 1.34 (v1.34.1), but dynamo-cluster:kubernetes.version is "
                              "1.33",
        "set kubernetes.version to \"1.34\" (manifests are validated for it), or upgrade the cluster")


# -- the Dynamo operator and its CRDs -------------------------------------------------------------
OURS = {"meta.helm.sh/release-name": "dynamo-platform", "meta.helm.sh/release-namespace": "dynamo-system"}
OPERATOR_LABELS = {"app.kubernetes.io/part-of": "dynamo-operator", "helm.sh/chart": "dynamo-operator-1.0.0"}
IMAGE = ("nvcr.io/nvidia/ai-dynamo/kubernetes-operator:1.0.0",)


def operator(namespace: str, annotations: dict[str, str]) -> WorkloadInfo:
    return WorkloadInfo("dynamo-platform-dynamo-operator-controller-manager", namespace, OPERATOR_LABELS,
                        annotations, IMAGE)


def crd(plural: str, kind: str, annotations: dict[str, str] | None = None,
        labels: dict[str, str] | None = None) -> CrdInfo:
    return CrdInfo(f"{plural}.nvidia.com", "nvidia.com", kind, ("v1alpha1",), labels or {}, annotations or {})


DGD = crd("dynamographdeployments", "DynamoGraphDeployment")
DCD = crd("dynamocomponentdeployments", "DynamoComponentDeployment")
CLUSTER_POLICY = crd("clusterpolicies", "ClusterPolicy")


def dynamo(deployments: list[WorkloadInfo], crds: list[CrdInfo]) -> list[Finding]:
    results = run(dev(), StubCluster(deploys=deployments, crds=crds))
    return [r for r in results if r.check.startswith("dynamo")]


def test_a_cluster_without_dynamo_passes() -> None:
    assert dynamo([], [CLUSTER_POLICY]) == [
        Finding.passed("dynamo operator", "none runs; `pulumi up` installs dynamo-platform 1.4.2 as release "
                                              "dynamo-platform in dynamo-system"),
        Finding.passed("dynamo crds", "none installed; the operator applies them with `pulumi up`")]


def test_the_stacks_own_operator_and_the_crds_it_applied_pass() -> None:
    assert dynamo([operator("dynamo-system", OURS)], [DGD, DCD, CLUSTER_POLICY]) == [
        Finding.passed("dynamo operator", "this stack's: dynamo-system/dynamo-platform-dynamo-operator-controller-"
                                              "manager (Helm release dynamo-platform in dynamo-system; chart "
                                              "dynamo-operator-1.0.0; image 1.0.0); `pulumi up` sets it to "
                                              "dynamo-platform 1.4.2"),
        Finding.passed("dynamo crds", "2, applied by this stack's operator")]


def test_an_operator_of_another_release_is_a_conflict() -> None:
    theirs = operator("dynamo-cloud", {"meta.helm.sh/release-name": "dynamo",
                                       "meta.helm.sh/release-namespace": "dynamo-cloud"})
    result = dynamo([theirs], [DGD])
    assert result[0] == Finding.failed(
        "dynamo operator",
        "another install runs one: dynamo-cloud/dynamo-platform-dynamo-operator-controller-manager (Helm release "
        "dynamo in dynamo-cloud; chart dynamo-operator-1.0.0; image 1.0.0); with dynamo-platform 1.4.2 as release "
        "dynamo-platform in dynamo-system, two operators would reconcile the same graphs",
        "uninstall it before `pulumi up` (helm uninstall dynamo -n dynamo-cloud), or use another cluster")
    assert not result[1].ok


def test_an_operator_not_installed_by_helm_is_found_by_its_image() -> None:
    bare = WorkloadInfo("manager", "ops", images=IMAGE)
    result = dynamo([bare], [])[0]
    assert not result.ok
    assert result.detail.startswith("another install runs one: ops/manager (not installed by Helm; image 1.0.0)")
    assert result.fix == "uninstall it before `pulumi up` (kubectl -n ops delete deployment manager), or use another " \
                         "cluster"


def test_crds_left_without_an_operator_are_a_conflict() -> None:
    result = dynamo([], [DGD, CLUSTER_POLICY])[1]
    assert result == Finding.failed(
        "dynamo crds", "1 Dynamo CRDs this stack did not install are present: dynamographdeployments.nvidia.com "
                       "(v1alpha1); not installed by Helm; no operator of this stack runs",
        "if an uninstalled Dynamo left them, delete them once no custom resource uses them (kubectl get "
        "dynamographdeployments -A; kubectl delete crd NAME); if another install owns them, uninstall it or use "
        "another cluster")


def test_crds_of_another_helm_release_are_a_conflict_even_beside_our_operator() -> None:
    chart_crd = crd("dynamographdeployments", "DynamoGraphDeployment",
                    {"meta.helm.sh/release-name": "dynamo-crds", "meta.helm.sh/release-namespace": "default"},
                    {"helm.sh/chart": "dynamo-crds-0.9.0"})
    result = dynamo([operator("dynamo-system", OURS)], [chart_crd])[1]
    assert not result.ok
    assert result.detail == ("1 Dynamo CRDs this stack did not install are present: dynamographdeployments.nvidia.com "
                              "(v1alpha1); Helm release dynamo-crds in default, chart dynamo-crds-0.9.0")


# -- Secrets --------------------------------------------------------------------------------------
def test_a_stack_that_creates_its_secrets_passes_with_that_reason() -> None:
    assert one(run(dev(), StubCluster()), "secrets") == Finding.passed(
        "secrets", "the stack creates every Secret it references: nats-auth (dynamo-system, dynamo), "
                   "nats-verify-auth (dynamo-system), etcd-server-tls (dynamo-system), etcd-client-tls (dynamo-system, "
                   "dynamo), grafana-admin (monitoring); none has to exist before `pulumi up`")
    config = parse(stack_config("dev") | {"observability": {"enabled": False}}, secrets=["hfToken", "ngcApiKey"])
    assert one(run(config, StubCluster()), "secrets").detail == (
        "the stack creates every Secret it references: nats-auth (dynamo-system, dynamo), nats-verify-auth "
        "(dynamo-system), hf-token (dynamo), nvcr-pull (dynamo-system, dynamo); none has to exist before `pulumi up`")


@pytest.mark.parametrize(("stack", "values", "secrets"), [
    ("dev", {}, ()),
    ("dev", {"observability": {"enabled": False}}, ("hfToken",)),
    ("prod", {}, ("hfToken", "ngcApiKey")),
])
def test_the_secrets_listed_are_the_ones_the_program_creates(stack: str, values: dict[str, Any],
                                                              secrets: tuple[str, ...]) -> None:
    registry = plan_config(stack_config(stack) | values, stack, secrets=secrets)
    planned = sorted((r.inputs["metadata"]["name"], r.inputs["metadata"]["namespace"])
                     for r in by_kind(registry, "Secret"))
    listed = created_secrets(parse(stack_config(stack) | values, stack, secrets=secrets))
    assert sorted((s.name, namespace) for s in listed for namespace in s.namespaces) == planned


def test_secrets_are_not_read_from_the_cluster() -> None:
    stub = StubCluster(refuse={"secret_keys"})
    assert one(run(dev(), stub), "secrets").ok
    assert "secret_keys" not in stub.calls


# `check_existing_secrets` checks Secrets a stack would read but not create. No config key names one
# today, so it is tested on its own, with references as a config section that names one would build.
HF = SecretRef("dynamo", "hf-creds", "graphs[0].hfTokenSecret", ("HF_TOKEN",))
PULL = SecretRef("dynamo-system", "registry", "dynamo.pullSecret", (".dockerconfigjson",))


def keys_of(secrets: dict[tuple[str, str], frozenset[str]]) -> Callable[[str, str], frozenset[str] | None]:
    return lambda namespace, name: secrets.get((namespace, name))


def test_existing_secrets_with_their_keys_pass() -> None:
    found = keys_of({("dynamo", "hf-creds"): frozenset({"HF_TOKEN", "extra"}),
                     ("dynamo-system", "registry"): frozenset({".dockerconfigjson"})})
    assert check_existing_secrets([HF, PULL], found) == [
        Finding.passed("secret dynamo/hf-creds", "exists with key HF_TOKEN, named by graphs[0].hfTokenSecret"),
        Finding.passed("secret dynamo-system/registry", "exists with key .dockerconfigjson, named by "
                                                            "dynamo.pullSecret")]


def test_a_missing_existing_secret_fails() -> None:
    assert check_existing_secrets([HF], keys_of({})) == [Finding.failed(
        "secret dynamo/hf-creds", "does not exist; graphs[0].hfTokenSecret names it",
        "create it (kubectl -n dynamo create secret generic hf-creds --from-literal=HF_TOKEN=...), or set "
        "graphs[0].hfTokenSecret to one that exists")]


def test_an_existing_secret_in_another_namespace_does_not_count() -> None:
    """Pods read Secrets of their own namespace only."""
    [result] = check_existing_secrets([HF], keys_of({("dynamo-system", "hf-creds"): frozenset({"HF_TOKEN"})}))
    assert (result.ok, result.detail) == (False, "does not exist; graphs[0].hfTokenSecret names it")


def test_an_existing_secret_without_the_keys_read_fails() -> None:
    secret = SecretRef("dynamo", "creds", "someSection.secret", ("user", "password"))
    assert check_existing_secrets([secret], keys_of({("dynamo", "creds"): frozenset({"user"})})) == [
        Finding.failed("secret dynamo/creds", "has no key password; someSection.secret names it",
                           "add password to it")]
