"""The Dynamo part of the committed stacks: operator wiring, the graphs, ordering, secrets."""

import json
from typing import Any

from stacks.config.stackfile import PLACEHOLDER_PREFIX
from stacks.plan.artifacts import RELEASE_TYPE
from stacks.plan.mockrun import SECRET, Registered, Registry
from tests.graph_fixtures import group_of
from tests.harness import by_kind, plan_config, plan_stack, stack_config, text_of

DGD = "kubernetes:nvidia.com/v1alpha1:DynamoGraphDeployment"


def operator_release(registry: Registry) -> Registered:
    [release] = [r for r in registry.of_type(RELEASE_TYPE) if r.inputs["chart"] == "dynamo-platform"]
    return release


def dgds(registry: Registry) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: dict(r.inputs) for r in registry.of_type(DGD)}


def arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def worker(graph: dict[str, Any], role: str) -> dict[str, Any]:
    return graph["spec"]["services"][role]  # type: ignore[no-any-return]


def test_prod_graphs_match_the_multinode_disaggregated_examples() -> None:
    graphs = dgds(plan_stack("prod"))
    assert set(graphs) == {"vllm-disagg", "sglang-disagg", "trtllm-disagg"}
    # Our own expectations of each backend's multi-node disaggregated graph: services and their
    # component types, two nodes per replica, GPUs per pod, and the engine arguments that matter.
    expected_gpus = {"vllm-disagg": "1", "sglang-disagg": "4", "trtllm-disagg": "4"}
    for name, graph in graphs.items():
        services = graph["spec"]["services"]
        assert set(services) == {"Frontend", "prefill", "decode"}
        assert services["Frontend"]["componentType"] == "frontend"
        for role in ("prefill", "decode"):
            svc = services[role]
            assert svc["componentType"] == "worker"
            assert svc["subComponentType"] == role
            assert svc["multinode"] == {"nodeCount": 2}
            assert svc["resources"]["limits"]["gpu"] == expected_gpus[name]

    vllm_prefill = worker(graphs["vllm-disagg"], "prefill")["extraPodSpec"]["mainContainer"]
    vllm_decode = worker(graphs["vllm-disagg"], "decode")["extraPodSpec"]["mainContainer"]
    assert vllm_prefill["command"] == ["python3", "-m", "dynamo.vllm"]
    assert arg(vllm_prefill["args"], "--model") == "Qwen/Qwen3-0.6B"
    assert arg(vllm_prefill["args"], "--tensor-parallel-size") == "2"
    assert arg(vllm_prefill["args"], "--disaggregation-mode") == "prefill"
    assert "--is-decode-worker" in vllm_decode["args"]
    for container in (vllm_prefill, vllm_decode):
        assert json.loads(arg(container["args"], "--kv-transfer-config")) == {
            "kv_connector": "NixlConnector", "kv_role": "kv_both"}

    for role in ("prefill", "decode"):
        sglang = worker(graphs["sglang-disagg"], role)["extraPodSpec"]["mainContainer"]["args"]
        assert arg(sglang, "--tp-size") == "8"
        assert arg(sglang, "--disaggregation-mode") == role
        assert arg(sglang, "--disaggregation-transfer-backend") == "nixl"
        assert arg(sglang, "--disaggregation-bootstrap-port") == "30001"
        assert arg(sglang, "--mem-fraction-static") == "0.82"
        assert {"--trust-remote-code", "--skip-tokenizer-init"} <= set(sglang)

        trt = worker(graphs["trtllm-disagg"], role)["extraPodSpec"]["mainContainer"]["args"]
        assert arg(trt, "--extra-engine-args") == f"/etc/dynamo/engine/{role}.yaml"
        assert arg(trt, "--disaggregation-mode") == role
    assert graphs["sglang-disagg"]["spec"]["backendFramework"] == "sglang"
    assert graphs["trtllm-disagg"]["spec"]["backendFramework"] == "trtllm"


def test_trtllm_engine_configs_carry_tp8() -> None:
    import yaml

    registry = plan_stack("prod")
    [configmap] = [r for r in by_kind(registry, "ConfigMap")
                   if r.inputs["metadata"]["name"] == "trtllm-disagg-engine-config"]
    for role in ("prefill", "decode"):
        engine = yaml.safe_load(configmap.inputs["data"][f"{role}.yaml"])
        assert engine["tensor_parallel_size"] == 8
        assert engine["cache_transceiver_config"] == {"backend": "DEFAULT"}


def test_prod_graphs_run_on_the_efa_pools_with_the_model_cache() -> None:
    graphs = dgds(plan_stack("prod"))
    for name, pool in (("vllm-disagg", "h100-efa"), ("sglang-disagg", "h100-efa"), ("trtllm-disagg", "h200-efa")):
        graph = graphs[name]
        assert graph["spec"]["pvcs"] == [{"name": "model-cache", "create": False}]
        for role in ("prefill", "decode"):
            svc = worker(graph, role)
            assert svc["extraPodSpec"]["nodeSelector"]["dynamo-cluster/pool"] == pool
            assert "vpc.amazonaws.com/efa" in svc["resources"]["limits"]["custom"]
            assert svc["volumeMounts"] == [{"name": "model-cache", "mountPoint": "/models"}]


def test_dev_runs_one_cpu_only_mocker_graph_on_existing_nodes() -> None:
    registry = plan_stack("dev")
    graphs = dgds(registry)
    assert list(graphs) == ["mocker"]
    services = graphs["mocker"]["spec"]["services"]
    assert {s: services[s].get("subComponentType") for s in services} == {
        "Frontend": None, "prefill": "prefill", "decode": "decode"}
    for role in ("prefill", "decode"):
        assert "gpu" not in services[role]["resources"]["limits"]
        assert services[role]["extraPodSpec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert not [r for r in registry.resources if r.type.startswith("aws:")]


def test_operator_values_wire_nats_etcd_and_prometheus() -> None:
    registry = plan_stack("prod")
    values = operator_release(registry).inputs["values"]
    op = values["dynamo-operator"]
    assert op["natsAddr"] == "nats://nats.dynamo-system.svc.cluster.local:4222"
    assert op["etcdAddr"] == "http://etcd.dynamo-system.svc.cluster.local:2379"
    assert op["discoveryBackend"] == "etcd"
    assert op["dynamo"]["metrics"]["prometheusEndpoint"] == registry.stack_outputs["observability"]["prometheusUrl"]
    assert values["nats"] == {"enabled": False}
    assert values["global"]["etcd"] == {"install": False}
    assert values["global"]["grove"] == {"install": True, "enabled": True}  # prod graphs span nodes
    assert "env" not in op  # the operator never connects to NATS: no credentials for it
    assert "@" not in op["natsAddr"]  # and none inside the address either
    # the operator release comes after NATS and etcd exist (it uses their outputs)
    release = operator_release(registry)
    names = {registry.by_urn()[d].name for d in release.dependencies if d in registry.by_urn()}
    assert {"nats", "etcd-client"} <= names


def test_kubernetes_discovery_deploys_no_etcd_and_omits_it_from_the_operator() -> None:
    registry = plan_config(stack_config("prod") | {"etcd": {"enabled": False}}, "prod")
    op = operator_release(registry).inputs["values"]["dynamo-operator"]
    assert op["discoveryBackend"] == "kubernetes"
    assert "etcdAddr" not in op
    assert registry.of_type("dynamo-cluster:components:EtcdCluster") == []


def test_graphs_depend_on_the_operator_so_destroy_removes_them_first() -> None:
    registry = plan_stack("prod")
    release = operator_release(registry)
    index = registry.by_urn()

    def reaches(urn: str, target: str, seen: set[str]) -> bool:
        if urn == target:
            return True
        seen.add(urn)
        return any(reaches(d, target, seen) for d in index[urn].dependencies if d in index and d not in seen)

    for dgd in registry.of_type(DGD):
        assert release.urn in dgd.dependencies
        # Pulumi deletes in reverse dependency order: nothing the operator needs depends on a graph.
        assert not reaches(release.urn, dgd.urn, set())
        # and each graph waits for the node groups of its pools
        pools = {index[d].type for d in dgd.dependencies if d in index}
        assert "aws:eks/nodeGroup:NodeGroup" in pools


def test_secrets_never_appear_in_plain_text() -> None:
    registry = plan_config(stack_config("prod"), "prod", secrets=["hfToken", "ngcApiKey"])
    assert PLACEHOLDER_PREFIX not in text_of(registry)
    pull = [r for r in by_kind(registry, "Secret") if r.inputs["metadata"]["name"] == "nvcr-pull"]
    assert {r.inputs["metadata"]["namespace"] for r in pull} == {"dynamo-system", "dynamo"}
    assert all(r.inputs["stringData"] == {".dockerconfigjson": SECRET} for r in pull)
    [hf] = [r for r in by_kind(registry, "Secret") if r.inputs["metadata"]["name"] == "hf-token"]
    assert hf.inputs["stringData"] == {"HF_TOKEN": SECRET}
    for graph in dgds(registry).values():
        for svc in graph["spec"]["services"].values():
            assert svc["envFromSecret"] == "hf-token"
            assert svc["extraPodSpec"]["imagePullSecrets"] == [{"name": "nvcr-pull"}]
    values = operator_release(registry).inputs["values"]["dynamo-operator"]
    assert values["imagePullSecrets"] == [{"name": "nvcr-pull"}]


def test_tensor_parallel_must_match_the_gpus_a_replica_spans() -> None:
    import copy

    import pytest

    from stacks.config import ConfigError
    from tests.harness import parse

    values = copy.deepcopy(stack_config("prod"))
    values["graphs"][1]["decode"]["tensorParallel"] = 4  # sglang: 2 nodes x 4 GPUs = 8
    with pytest.raises(ConfigError) as error:
        parse(values, "prod")
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:graphs[1].decode: graph 'sglang-disagg' decode: tensor parallel 4, but one replica spans "
        "2 nodes x 4 GPUs = 8 GPUs; allowed: tensor parallel x pipeline parallel = 8 for decode, or turn the "
        "parallelism check off for this graph"]
    # unless the graph says otherwise
    values["graphs"][1]["checkParallelism"] = False
    assert group_of(parse(values, "prod").dynamo.graphs[1], "decode").tensor_parallel == 4


def test_the_summary_warns_about_what_a_reviewer_should_know() -> None:
    from tests.harness import parse

    prod = parse(stack_config("prod"), "prod")
    assert prod.warnings() == [
        "no hfToken: graphs download models anonymously, and gated models will fail to download",
        "no ngcApiKey: images are pulled from nvcr.io anonymously (no pull secret)"]
    secured = parse(stack_config("prod") | {"etcd": {"enabled": False}, "modelCache": {"enabled": False}},
                    "prod", secrets=["hfToken", "ngcApiKey"])
    assert secured.warnings() == [
        "etcd is off: Dynamo uses Kubernetes-native discovery",
        "no modelCache: every worker of vllm-disagg, sglang-disagg, trtllm-disagg downloads the weights itself"]
