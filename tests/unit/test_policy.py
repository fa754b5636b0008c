"""The policy pack: each rule on passing and failing inputs, the SDK adapter on the SDK's own
proxies, the pack served the way the Pulumi CLI runs it, and the program's plans against the pack."""

from __future__ import annotations

import select
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel
from pulumi_policy import Secret as SdkSecret
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, deserialize_properties
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import rules
from policy.pack import PACK_NAME, from_plain, policies, to_plain
from policy.rules import Secret, StackResource, Unknown
from stacks.plan.mockrun import SECRET, UNKNOWN
from tests.harness import ROOT, plan_stack

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DAEMONSET = "kubernetes:apps/v1:DaemonSet"
RELEASE = "kubernetes:helm.sh/v3:Release"


def workload(kind: str = "Deployment", **pod: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "registry.example/app:1.2.3"}
    spec = {"containers": [container], **pod}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "app", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": spec}}}


def gpu_container(requests: Any = None, limits: Any = None) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = {"nvidia.com/gpu": requests}
    if limits is not None:
        resources["limits"] = {"nvidia.com/gpu": limits}
    return {"name": "worker", "image": "nvcr.io/nvidia/app:25.01", "resources": resources}


def dgd(backend: str | None, main: Mapping[str, Any], **pod: Any) -> dict[str, Any]:
    """A v1beta1 graph: a frontend, and a decode component whose container `main` is `main`."""
    spec: dict[str, Any] = {"components": [
        {"name": "frontend", "type": "frontend",
         "podTemplate": {"spec": {"containers": [{"name": "main", "image": "img:1.0"}]}}},
        {"name": "decode", "type": "decode",
         "podTemplate": {"spec": {"containers": [{"name": "main", "image": "img:1.0", **main}], **pod}}},
    ]}
    if backend:
        spec["backendFramework"] = backend
    return {"apiVersion": "nvidia.com/v1beta1", "kind": "DynamoGraphDeployment",
            "metadata": {"name": "llama"}, "spec": spec}


# --- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ref", "problem"), [
    ("nginx:1.27.3", None),
    ("registry.example:5000/team/app:v2", None),
    ("nvcr.io/nvidia/ai-dynamo/vllm-runtime@sha256:" + "a" * 64, None),
    ("app:latest@sha256:" + "b" * 64, None),
    ("nginx", "has no tag, so it pulls :latest"),
    ("registry.example:5000/team/app", "has no tag, so it pulls :latest"),
    ("nginx:latest", "uses the moving tag :latest"),
    ("nginx:LATEST", "uses the moving tag :latest"),
    ("nginx:", "has an empty tag"),
    ("  ", "is empty"),
])
def test_image_references(ref: str, problem: str | None) -> None:
    assert rules.image_problem(ref) == problem


def test_images_in_pod_templates_and_init_containers() -> None:
    assert rules.image_problems(DEPLOYMENT, workload()) == []
    bad = workload(initContainers=[{"name": "init", "image": "busybox"}])
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "app:latest"
    problems = rules.image_problems(DEPLOYMENT, bad)
    assert problems == [
        "spec.template.spec.containers[0].image 'app:latest' uses the moving tag :latest: "
        "pin a version tag or a digest",
        "spec.template.spec.initContainers[0].image 'busybox' has no tag, so it pulls :latest: "
        "pin a version tag or a digest",
    ]


def test_images_in_a_dynamo_graph_deployment() -> None:
    ok = dgd("vllm", {"resources": {"limits": {"nvidia.com/gpu": "1"}},
                      "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2"})
    assert rules.image_problems(rules.DGD_TYPE, ok) == []
    bad = dgd("vllm", {"image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime"})
    assert rules.image_problems(rules.DGD_TYPE, bad) == [
        "spec.components[1].podTemplate.spec.containers[0].image 'nvcr.io/nvidia/ai-dynamo/vllm-runtime' "
        "has no tag, so it pulls :latest: pin a version tag or a digest"]


def test_unknown_and_secret_images() -> None:
    props = workload()
    props["spec"]["template"]["spec"]["containers"][0]["image"] = Unknown()
    assert rules.image_problems(DEPLOYMENT, props) == []
    props["spec"]["template"]["spec"]["containers"][0]["image"] = Secret("app:latest")
    assert len(rules.image_problems(DEPLOYMENT, props)) == 1


def test_helm_values_image_tags() -> None:
    ok = {"chart": "nats", "version": "1.3.2", "values": {
        "container": {"image": {"repository": "nats", "tag": "2.11.1-alpine"}},
        "reloader": {"image": {"repository": "natsio/reloader", "tag": ""}},
        "image": "nats",  # charts that split repository and tag: an untagged string is theirs to complete
        "labels": {"tag": "latest"},  # not an image setting
    }}
    assert rules.image_problems(RELEASE, ok) == []
    bad = {"chart": "x", "version": "1.0.0", "values": {
        "container": {"image": {"repository": "nats", "tag": "latest"}},
        "exporter": {"repository": "prom/exporter", "tag": "Latest"},
        "sidecarImage": "busybox:latest",
        "global": {"imageTag": "latest"},
    }}
    assert rules.image_problems(RELEASE, bad) == [
        "values.container.image.tag is 'latest': pin the image tag (or leave it empty for the chart's default)",
        "values.exporter.tag is 'latest': pin the image tag (or leave it empty for the chart's default)",
        "values.sidecarImage 'busybox:latest' uses the moving tag :latest: pin a version tag or a digest",
        "values.global.imageTag is 'latest': pin the image tag (or leave it empty for the chart's default)",
    ]


def test_image_rule_ignores_other_resources() -> None:
    assert rules.image_problems("aws:eks/nodeGroup:NodeGroup", {"image": "x"}) == []


# --- GPU limits --------------------------------------------------------------------------------


def test_gpu_requests_need_equal_limits() -> None:
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container("1", "1")])) == []
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container(limits=2)])) == []
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container(requests="1")])) == [
        "spec.template.spec.containers[0] requests nvidia.com/gpu without a limit: set resources.limits "
        "nvidia.com/gpu (equal to the request)"]
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container("1", "2")])) == [
        "spec.template.spec.containers[0] requests 1 nvidia.com/gpu but limits 2: extended resources need "
        "the request equal to the limit"]


@pytest.mark.parametrize("placement", [
    {"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]},
    {"nodeSelector": {"nvidia.com/gpu.present": "true"}},
    {"nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}},
    {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["0"]}]}]}}}},
])
def test_pods_placed_on_gpu_nodes_need_a_gpu_limit(placement: dict[str, Any]) -> None:
    problems = rules.gpu_limit_problems(DEPLOYMENT, workload(**placement))
    assert len(problems) == 1
    assert problems[0].startswith("spec.template.spec ")
    assert "no container sets a resources.limits nvidia.com/gpu" in problems[0]
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container("1", "1")], **placement)) == []


def test_pods_not_aimed_at_gpus_pass() -> None:
    assert rules.gpu_limit_problems(DEPLOYMENT, workload()) == []
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(nodeSelector={"nvidia.com/gpu.present": "false"})) == []
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(tolerations=[{"operator": "Exists"}])) == []
    anti = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.present", "operator": "DoesNotExist"}]}]}}}
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(affinity=anti)) == []


def test_daemonsets_on_gpu_nodes_are_node_agents() -> None:
    agent = workload("DaemonSet", tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}])
    assert rules.gpu_limit_problems(DAEMONSET, agent) == []
    greedy = workload("DaemonSet", containers=[gpu_container(requests="1")])
    assert len(rules.gpu_limit_problems(DAEMONSET, greedy)) == 1


def test_cronjob_and_pod_specs_are_found_anywhere() -> None:
    cron = {"apiVersion": "batch/v1", "kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [gpu_container(requests=1)]}}}}}}
    problems = rules.gpu_limit_problems("kubernetes:batch/v1:CronJob", cron)
    assert problems
    assert problems[0].startswith("spec.jobTemplate.spec.template.spec.containers[0] ")
    pod = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [gpu_container(requests=1)]}}
    assert rules.gpu_limit_problems("kubernetes:core/v1:Pod", pod)[0].startswith("spec.containers[0] ")


def test_unknown_gpu_amounts_are_given_the_benefit_of_the_doubt() -> None:
    placed: dict[str, Any] = {"tolerations": [{"key": "nvidia.com/gpu"}]}
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(containers=[gpu_container(limits=Unknown())], **placed)) == []
    assert rules.gpu_limit_problems(DEPLOYMENT, workload(tolerations=Unknown())) == []


def test_dynamo_graph_gpu_workers_need_gpu_limits() -> None:
    ok = dgd("vllm", {"resources": {"limits": {"nvidia.com/gpu": "8"}}})
    assert rules.gpu_limit_problems(rules.DGD_TYPE, ok) == []
    missing = dgd("trtllm", {"resources": {"limits": {"memory": "200Gi"}}})
    assert rules.gpu_limit_problems(rules.DGD_TYPE, missing) == [
        "spec.components[1] (decode) is a trtllm decode but no container sets resources.limits nvidia.com/gpu: "
        "give each worker pod its number of GPUs"]
    zero = dgd("sglang", {"resources": {"limits": {"nvidia.com/gpu": "0"}}})
    assert len(rules.gpu_limit_problems(rules.DGD_TYPE, zero)) == 1
    mismatched = dgd("vllm", {"resources": {"requests": {"nvidia.com/gpu": "2"}, "limits": {"nvidia.com/gpu": "1"}}})
    assert rules.gpu_limit_problems(rules.DGD_TYPE, mismatched) == [
        "spec.components[1].podTemplate.spec.containers[0] requests 2 nvidia.com/gpu but limits 1: extended "
        "resources need the request equal to the limit"]


def test_dynamo_graph_mocker_runs_without_gpus_unless_placed_on_them() -> None:
    assert rules.gpu_limit_problems(rules.DGD_TYPE, dgd(None, {"resources": {"limits": {"memory": "1Gi"}}})) == []
    on_gpu_pool = dgd(None, {}, tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}])
    assert rules.gpu_limit_problems(rules.DGD_TYPE, on_gpu_pool) == [
        "spec.components[1].podTemplate.spec tolerates the nvidia.com/gpu taint (tolerations[0]) but no container "
        "sets a resources.limits nvidia.com/gpu: GPU workloads must say how many GPUs they use"]


# --- Helm versions -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3.2", "v0.8.1", "1.0.0-rc.1", "2.1.0+build.5"])
def test_pinned_chart_versions(version: str) -> None:
    assert rules.release_version_problems(RELEASE, {"chart": "nats", "version": version}) == []


@pytest.mark.parametrize("version", ["latest", "*", "^1.2.0", "~1.2", ">=1.0.0", "1.x", "1.2", "1.2.3 || 2.0.0",
                                     "1.0.0 - 2.0.0", 3])
def test_unpinned_chart_versions(version: Any) -> None:
    problems = rules.release_version_problems(RELEASE, {"chart": "nats", "version": version})
    assert problems == [f"version {version!r} of chart 'nats' is not one exact version: use e.g. '1.2.3', "
                        "not a range or 'latest'"]


def test_missing_chart_version() -> None:
    for props in ({"chart": "oci://nvcr.io/nvidia/ai-dynamo/dynamo-platform"},
                  {"chart": "x", "version": ""}, {"chart": "x", "version": None}):
        problems = rules.release_version_problems(RELEASE, props)
        assert len(problems) == 1
        assert problems[0].startswith("version is not set: pin chart ")
    assert rules.release_version_problems("kubernetes:helm.sh/v4:Chart", {"chart": "x"}) != []
    assert rules.release_version_problems(RELEASE, {"chart": "x", "version": Unknown()}) == []
    assert rules.release_version_problems(DEPLOYMENT, {"chart": "x"}) == []


# --- StatefulSets and PodDisruptionBudgets -----------------------------------------------------


def statefulset(namespace: Any = "dynamo-system", labels: Any = None, replicas: Any = 3) -> StackResource:
    props = {"metadata": {"name": "etcd", "namespace": namespace},
             "spec": {"replicas": replicas,
                      "template": {"metadata": {"labels": {"app": "etcd", "tier": "state"} if labels is None
                                                else labels}}}}
    return StackResource("urn:pulumi:prod::dynamo-cluster::kubernetes:apps/v1:StatefulSet::etcd",
                         rules.STATEFULSET_TYPE, props)


def pdb(selector: Any, namespace: Any = "dynamo-system") -> StackResource:
    return StackResource("urn:pdb", rules.PDB_TYPE, {"metadata": {"name": "etcd", "namespace": namespace},
                                                     "spec": {"maxUnavailable": 1, "selector": selector}})


@pytest.mark.parametrize("selector", [
    {"matchLabels": {"app": "etcd"}},
    {"matchLabels": {"app": "etcd", "tier": "state"}},
    {"matchExpressions": [{"key": "app", "operator": "In", "values": ["etcd", "nats"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "Exists"}, {"key": "x", "operator": "DoesNotExist"}]},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["nats"]}]},
    {},
    Unknown(),
    {"matchLabels": {"app": Unknown()}},
])
def test_statefulset_with_a_matching_pdb(selector: Any) -> None:
    assert rules.statefulsets_without_pdb([statefulset(), pdb(selector)]) == []


@pytest.mark.parametrize("selector", [
    {"matchLabels": {"app": "nats"}},
    {"matchLabels": {"app": "etcd", "extra": "label"}},
    {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["etcd"]}]},
    {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
    {"matchExpressions": [{"key": "app", "operator": "Bogus", "values": ["etcd"]}]},
    None,
])
def test_statefulset_without_a_matching_pdb(selector: Any) -> None:
    problems = rules.statefulsets_without_pdb([statefulset(), pdb(selector)])
    assert problems == [(statefulset().urn,
                         "StatefulSet etcd in namespace dynamo-system has no PodDisruptionBudget selecting its "
                         "pods {'app': 'etcd', 'tier': 'state'}: add one (e.g. maxUnavailable: 1) so that node "
                         "drains keep its quorum")]


def test_pdb_must_be_in_the_statefulsets_namespace() -> None:
    assert len(rules.statefulsets_without_pdb([statefulset(), pdb({"matchLabels": {"app": "etcd"}}, "other")])) == 1
    assert rules.statefulsets_without_pdb([statefulset(None), pdb({"matchLabels": {"app": "etcd"}}, None)]) == []
    assert rules.statefulsets_without_pdb([statefulset(Unknown()), pdb({"matchLabels": {"app": "etcd"}})]) == []
    alone = rules.statefulsets_without_pdb([statefulset(Unknown())])
    assert "in namespace (not known yet) has no PodDisruptionBudget" in alone[0][1]


def test_a_single_replica_needs_no_budget_but_an_unknown_count_does() -> None:
    assert rules.statefulsets_without_pdb([statefulset(replicas=1)]) == []
    assert len(rules.statefulsets_without_pdb([statefulset(replicas=2)])) == 1
    assert len(rules.statefulsets_without_pdb([statefulset(replicas=Unknown())])) == 1


def test_each_statefulset_needs_its_own_pdb() -> None:
    nats = StackResource("urn:nats", rules.STATEFULSET_TYPE,
                         {"metadata": {"name": "nats", "namespace": "dynamo-system"},
                          "spec": {"template": {"metadata": {"labels": {"app": "nats"}}}}})
    problems = rules.statefulsets_without_pdb([statefulset(), nats, pdb({"matchLabels": {"app": "etcd"}})])
    assert [urn for urn, _ in problems] == ["urn:nats"]
    assert rules.statefulsets_without_pdb([statefulset(labels=Unknown())]) == []
    assert rules.statefulsets_without_pdb([]) == []


# --- secrets -----------------------------------------------------------------------------------


def k8s_secret(**fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "hf-token"}, **fields}


def test_secret_data_that_is_secret_passes() -> None:
    for props in (k8s_secret(stringData=Secret({"token": "hf_x"})),
                  k8s_secret(data={"a": Secret("eA=="), "b": Secret("eQ==")}),
                  k8s_secret(stringData=Unknown()), k8s_secret()):
        assert rules.plaintext_secret_fields(rules.SECRET_TYPE, props) == []
        assert rules.seal_secret_fields(rules.SECRET_TYPE, props) is None


def test_plain_secret_data_is_found_and_sealed() -> None:
    props = k8s_secret(data={"a": Secret("eA=="), "b": "eQ=="}, stringData={"token": "hf_x"})
    assert rules.plaintext_secret_fields(rules.SECRET_TYPE, props) == ["data.b", "stringData.token"]
    sealed = rules.seal_secret_fields(rules.SECRET_TYPE, props)
    assert sealed == {**props, "data": Secret({"a": "eA==", "b": "eQ=="}), "stringData": Secret({"token": "hf_x"})}
    assert rules.plaintext_secret_fields(rules.SECRET_TYPE, sealed) == []
    assert rules.plaintext_secret_fields(DEPLOYMENT, {"data": {"a": "b"}}) == []


@pytest.mark.parametrize("name", ["HF_TOKEN", "NATS_PASSWORD", "OPENAI_API_KEY", "aws_secret_access_key",
                                  "adminPassword", "client-secret", "TLS_PRIVATE_KEY"])
def test_credential_names(name: str) -> None:
    assert rules.looks_like_credential(name)


@pytest.mark.parametrize("name", ["MAX_TOKENS", "TOKEN_FILE", "existingSecret", "passwordSecretName",
                                  "automountServiceAccountToken_path", "OTEL_SERVICE_NAME", 7])
def test_not_credential_names(name: Any) -> None:
    assert not rules.looks_like_credential(name)


def test_credentials_in_container_env() -> None:
    props = workload(containers=[{"name": "w", "image": "a:1", "env": [
        {"name": "HF_TOKEN", "value": "hf_abc"},
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}},
        {"name": "DB_PASSWORD", "value": ""},
        {"name": "MAX_NUM_TOKEN", "value": "4096"},
        {"name": "OTEL_SERVICE_NAME", "value": "worker"},
        {"name": "API_TOKEN", "value": Unknown()},
    ]}])
    assert rules.credential_literal_problems(DEPLOYMENT, props) == [
        "spec.template.spec.containers[0].env[0] sets HF_TOKEN to a literal value: take it from a Secret "
        "(valueFrom.secretKeyRef, envFrom or the chart's existingSecret)"]
    graph = {"spec": {"env": [{"name": "NATS_TOKEN", "value": Secret("s3cret")}]}}
    assert len(rules.credential_literal_problems(rules.DGD_TYPE, graph)) == 1
    assert rules.credential_literal_problems(rules.SECRET_TYPE, {"stringData": {"password": "x"}}) == []


def test_credentials_in_helm_values() -> None:
    ok = {"values": {"grafana": {"admin": {"existingSecret": "grafana-admin", "passwordKey": "password"},
                                 "adminPassword": ""},
                     "serviceAccount": {"automountServiceAccountToken": True},
                     "env": [{"name": "LOG_LEVEL", "value": "info"}],
                     # references to the environment, resolved by the server (NATS's config form)
                     "config": {"merge": {"authorization": {"user": "<< $NATS_AUTH_USERNAME >>",
                                                            "password": "<< $NATS_AUTH_PASSWORD >>"}},
                                "token": "${API_TOKEN}"}}}
    assert rules.credential_literal_problems(RELEASE, ok) == []
    bad = {"values": {"grafana": {"adminPassword": "prom-operator"},
                      "storage": {"s3": {"secret_key": "abc", "access_key": "AKIA"}},
                      "extraEnv": [{"name": "SLACK_TOKEN", "value": "xoxb"}]}}
    assert rules.credential_literal_problems(RELEASE, bad) == [
        "values.grafana.adminPassword holds a literal credential: create a Secret and point the chart at it "
        "(its existingSecret-style setting)",
        "values.storage.s3.secret_key holds a literal credential: create a Secret and point the chart at it "
        "(its existingSecret-style setting)",
        "values.extraEnv[0] sets SLACK_TOKEN to a literal value: take it from a Secret (valueFrom.secretKeyRef, "
        "envFrom or the chart's existingSecret)",
    ]


# --- the SDK adapter ---------------------------------------------------------------------------


def wire(value: Any) -> Any:
    """A secret as the engine sends it over gRPC."""
    return {SPECIAL_SIG_KEY: SPECIAL_SECRET_SIG, "value": value}


def test_to_plain_reads_validation_proxies_without_tripping_on_unknowns() -> None:
    props = unknown_checking_proxy(deserialize_properties({
        "metadata": {"namespace": UNKNOWN_STRING_VALUE}, "spec": {"list": [1, {"a": UNKNOWN_STRING_VALUE}]},
        "stringData": wire({"k": "v"}),
    }))
    assert to_plain(props) == {"metadata": {"namespace": Unknown(UNKNOWN_STRING_VALUE)},
                               "spec": {"list": [1, {"a": Unknown(UNKNOWN_STRING_VALUE)}]},
                               # validations get secrets decrypted and unmarked: the SDK's doing
                               "stringData": {"k": "v"}}


def test_to_plain_keeps_secret_marks_of_remediation_proxies() -> None:
    props = unknown_checking_proxy(deserialize_properties({
        "data": {"a": wire("eA=="), "b": "eQ=="}, "stringData": wire({"k": "v"}), "list": [wire("s"), "p"],
    }, True))
    plain = to_plain(props)
    assert plain == {"data": {"a": Secret("eA=="), "b": "eQ=="}, "stringData": Secret({"k": "v"}),
                     "list": [Secret("s"), "p"]}
    back = from_plain({"x": Secret({"k": [Unknown(UNKNOWN_STRING_VALUE), Unknown()]})})
    assert isinstance(back["x"], SdkSecret)
    assert back["x"].value == {"k": [UNKNOWN_STRING_VALUE, UNKNOWN_STRING_VALUE]}


# --- the pack through the SDK's analyzer service -----------------------------------------------


def request(type_: str, props: Mapping[str, Any], urn: str = "urn:pulumi:dev::p::t::r") -> Any:
    properties = struct_pb2.Struct()
    properties.update(dict(props))
    return proto.AnalyzeRequest(type=type_, urn=urn, name="r", properties=properties)


def analyzer() -> Any:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", policies(), EnforcementLevel.MANDATORY)


def test_pack_reports_violations_as_mandatory() -> None:
    bad = workload(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}])
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = "app:latest"
    bad["metadata"]["namespace"] = UNKNOWN_STRING_VALUE
    response = analyzer().Analyze(request(DEPLOYMENT, bad), None)
    assert sorted(d.policyName for d in response.diagnostics) == ["gpu-workloads-have-gpu-limits", "no-latest-images"]
    assert {d.enforcementLevel for d in response.diagnostics} == {proto.MANDATORY}
    assert {d.policyPackName for d in response.diagnostics} == {PACK_NAME}
    assert analyzer().Analyze(request(DEPLOYMENT, workload()), None).diagnostics == []


def test_pack_marks_plain_secret_data_secret_and_leaves_secret_data_alone() -> None:
    plain = analyzer().Remediate(request(rules.SECRET_TYPE, k8s_secret(stringData={"token": "hf_x"})), None)
    assert [r.policyName for r in plain.remediations] == ["kubernetes-secret-data-is-secret"]
    fixed = json_format.MessageToDict(plain.remediations[0].properties)
    assert fixed["stringData"] == wire({"token": "hf_x"})
    assert fixed["metadata"] == {"name": "hf-token"}
    sealed = analyzer().Remediate(request(rules.SECRET_TYPE, k8s_secret(stringData=wire({"token": "hf_x"}))), None)
    assert list(sealed.remediations) == []


def test_pack_checks_statefulsets_across_the_stack() -> None:
    sts = statefulset()
    resources = [proto.AnalyzerResource(type=sts.resource_type, urn=sts.urn, name="etcd",
                                        properties=json_format.ParseDict(dict(sts.props), struct_pb2.Struct()))]
    response = analyzer().AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None)
    assert [(d.policyName, d.urn) for d in response.diagnostics] == [("statefulset-has-pdb", sts.urn)]


def test_pack_serves_over_grpc_as_the_cli_runs_it() -> None:
    """`python -m pulumi.policy <engine> <dir>` is how the CLI's Python policy host starts a pack."""
    process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
                               cwd=ROOT / "policy", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "the pack printed no port within 60 s"
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else ""
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            response = stub.Analyze(request(RELEASE, {"chart": "nats", "version": "^1"}), timeout=30)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert info.name == PACK_NAME
    assert {p.name for p in info.policies} == {p.name for p in policies()}
    assert [d.policyName for d in response.diagnostics] == ["helm-release-pinned-version"]


# --- the program against its own pack ------------------------------------------------------------


def from_plan(value: Any) -> Any:
    if value == SECRET:
        return Secret(value)
    if value == UNKNOWN:
        return Unknown()
    if isinstance(value, Mapping):
        return {k: from_plan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_plan(v) for v in value]
    return value


def _worker(security: dict[str, Any] | None, limits: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "x:1", "resources": {"limits": limits}}
    if security is not None:
        container["securityContext"] = security
    return container


def test_privileged_containers_must_request_efa() -> None:
    efa = {"nvidia.com/gpu": "8", "vpc.amazonaws.com/efa": "32"}
    dgd: dict[str, Any] = {"spec": {"components": [{"name": "prefill", "type": "prefill", "podTemplate": {"spec": {
        "containers": [_worker({"privileged": True}, efa)]}}}]}}
    assert rules.privileged_problems(rules.DGD_TYPE, dgd) == []
    dgd["spec"]["components"][0]["podTemplate"]["spec"]["containers"] = [_worker({"privileged": True},
                                                                                   {"nvidia.com/gpu": "8"})]
    [problem] = rules.privileged_problems(rules.DGD_TYPE, dgd)
    assert "spec.components[0].podTemplate.spec.containers[0] (main) is privileged" in problem
    assert "vpc.amazonaws.com/efa" in problem
    deployment = {"kind": "Deployment", "spec": {"template": {"spec": {
        "initContainers": [_worker({"privileged": True}, {})], "containers": [_worker({"privileged": False}, {})]}}}}
    [problem] = rules.privileged_problems("kubernetes:apps/v1:Deployment", deployment)
    assert "spec.template.spec.initContainers[0]" in problem
    # an unknown flag or an unknown EFA amount is given the benefit of the doubt; Helm releases are not read
    unknown = {"spec": {"containers": [_worker({"privileged": rules.Unknown()}, {})]}}
    assert rules.privileged_problems("kubernetes:core/v1:Pod", unknown) == []
    pending = {"spec": {"containers": [_worker({"privileged": True}, {"vpc.amazonaws.com/efa": rules.Unknown()})]}}
    assert rules.privileged_problems("kubernetes:core/v1:Pod", pending) == []
    assert rules.privileged_problems("kubernetes:helm.sh/v3:Release", {"values": deployment}) == []


@pytest.mark.parametrize("stack", ["dev", "prod", "efs-cache", "etcd-discovery", "seed-multinode", "dynamo-1-5"])
def test_the_committed_stacks_pass_the_pack(stack: str) -> None:
    registry = plan_stack(stack)
    resources = [StackResource(r.urn, r.type, from_plan(r.inputs)) for r in registry.resources if r.custom]
    checks = (rules.image_problems, rules.gpu_limit_problems, rules.release_version_problems,
              rules.credential_literal_problems, rules.plaintext_secret_fields, rules.privileged_problems,
              rules.job_problems)
    problems = {r.urn: found for r in resources
                if (found := [p for check in checks for p in check(r.resource_type, r.props)])}
    assert problems == {}
    assert rules.statefulsets_without_pdb(resources) == []


def test_every_policy_is_documented() -> None:
    text = (ROOT / "docs" / "delivery.md").read_text()
    assert [p.name for p in policies() if f"| `{p.name}` |" not in text] == []


def _download_job() -> dict[str, Any]:
    from components.storage.downloads import DownloadSettings, download_job, download_plans
    from tests.graph_fixtures import graph

    [plan] = download_plans([graph("vllm")])
    return download_job(plan, DownloadSettings(), namespace="dynamo", claim="c", mount_path="/models",
                        script_configmap_name="s", token_secret="t", token_key="HF_TOKEN")


def test_the_download_job_runs_unprivileged_and_each_loosening_is_caught() -> None:
    job = _download_job()
    assert rules.job_problems("kubernetes:batch/v1:Job", job) == []
    pod = job["spec"]["template"]["spec"]
    pod["automountServiceAccountToken"] = True
    pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
    pod["containers"][0]["securityContext"]["capabilities"] = {"drop": ["NET_RAW"]}
    pod["initContainers"][0]["securityContext"]["capabilities"]["add"] = ["CHOWN", "SYS_ADMIN"]
    problems = rules.job_problems("kubernetes:batch/v1:Job", job)
    assert any("automountServiceAccountToken: false" in p for p in problems)
    assert any("(download): set securityContext.readOnlyRootFilesystem" in p for p in problems)
    assert any("(download): drop all capabilities" in p for p in problems)
    assert any("(own-model-dirs): runs as root" in p for p in problems)
    root_main = _download_job()
    root_main["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    assert any("(download): runs as root" in p for p in rules.job_problems("kubernetes:batch/v1:Job", root_main))
    assert rules.job_problems("kubernetes:apps/v1:Deployment", job) == []
