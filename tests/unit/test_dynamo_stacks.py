"""The Dynamo part of the committed stacks (dev, prod and the examples): operator wiring, the
v1beta1 graphs, ordering, secrets."""

import copy
import json
from typing import Any

import pytest

from components.dynamo.datapath import engine_command_line
from stacks.config.reader import ConfigError
from stacks.config.stackfile import PLACEHOLDER_PREFIX
from stacks.plan.artifacts import RELEASE_TYPE
from stacks.plan.mockrun import SECRET, Registered, Registry
from tests.graph_fixtures import engine_args, group_of
from tests.harness import by_kind, parse, plan_config, plan_stack, stack_config, text_of

DGD = "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"


def operator_release(registry: Registry) -> Registered:
    [release] = [r for r in registry.of_type(RELEASE_TYPE) if r.inputs["chart"] == "dynamo-platform"]
    return release


def dgds(registry: Registry) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: dict(r.inputs) for r in registry.of_type(DGD)}


def arg(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def component(graph: dict[str, Any], name: str) -> dict[str, Any]:
    [found] = [c for c in graph["spec"]["components"] if c["name"] == name]
    return found  # type: ignore[no-any-return]


def main(graph: dict[str, Any], name: str) -> dict[str, Any]:
    [container] = component(graph, name)["podTemplate"]["spec"]["containers"]
    assert container["name"] == "main"
    return container  # type: ignore[no-any-return]


def test_seed_graphs_match_the_multinode_disaggregated_examples() -> None:
    graphs = dgds(plan_stack("seed-multinode"))
    assert set(graphs) == {"vllm-disagg", "sglang-disagg", "trtllm-disagg"}
    # Our own expectations of each backend's multi-node disaggregated graph: components and their
    # types, two nodes per replica, GPUs per pod, and the engine arguments that matter.
    expected_gpus = {"vllm-disagg": "1", "sglang-disagg": "4", "trtllm-disagg": "4"}
    for name, graph in graphs.items():
        assert graph["apiVersion"] == "nvidia.com/v1beta1"
        assert [(c["name"], c["type"]) for c in graph["spec"]["components"]] == [
            ("frontend", "frontend"), ("prefill", "prefill"), ("decode", "decode")]
        for role in ("prefill", "decode"):
            assert component(graph, role)["multinode"] == {"nodeCount": 2}
            assert main(graph, role)["resources"]["limits"]["nvidia.com/gpu"] == expected_gpus[name]

    vllm_prefill, vllm_decode = main(graphs["vllm-disagg"], "prefill"), main(graphs["vllm-disagg"], "decode")
    assert engine_command_line(vllm_prefill["command"], vllm_prefill["args"])[:3] == ["python3", "-m", "dynamo.vllm"]
    prefill_args, decode_args = engine_args(vllm_prefill), engine_args(vllm_decode)
    assert arg(prefill_args, "--model") == "Qwen/Qwen3-0.6B"
    assert arg(prefill_args, "--tensor-parallel-size") == "2"
    assert arg(prefill_args, "--disaggregation-mode") == "prefill"
    assert arg(decode_args, "--disaggregation-mode") == "decode"
    assert "--is-decode-worker" not in decode_args  # removed before 1.4
    for worker_args in (prefill_args, decode_args):  # the seed graphs run on an EFA pool
        assert json.loads(arg(worker_args, "--kv-transfer-config")) == {
            "kv_connector": "NixlConnector", "kv_role": "kv_both",
            "kv_connector_extra_config": {"backends": ["LIBFABRIC"]}}

    for role in ("prefill", "decode"):
        sglang = engine_args(main(graphs["sglang-disagg"], role))
        assert arg(sglang, "--tp-size") == "8"
        assert arg(sglang, "--disaggregation-mode") == role
        assert arg(sglang, "--disaggregation-transfer-backend") == "nixl"
        assert arg(sglang, "--disaggregation-bootstrap-port") == "30001"
        assert arg(sglang, "--mem-fraction-static") == "0.82"
        assert "--skip-tokenizer-init" in sglang

        trt = engine_args(main(graphs["trtllm-disagg"], role))
        assert arg(trt, "--extra-engine-args") == f"/etc/dynamo/engine/{role}.yaml"
        assert arg(trt, "--disaggregation-mode") == role
    assert graphs["sglang-disagg"]["spec"]["backendFramework"] == "sglang"
    assert graphs["trtllm-disagg"]["spec"]["backendFramework"] == "trtllm"


def test_trtllm_engine_configs_carry_the_parallelism() -> None:
    import yaml

    registry = plan_stack("prod")
    [configmap] = [r for r in by_kind(registry, "ConfigMap")
                   if r.inputs["metadata"]["name"] == "deepseek-r1-engine-config"]
    for role in ("prefill", "decode"):
        engine = yaml.safe_load(configmap.inputs["data"][f"{role}.yaml"])
        assert (engine["tensor_parallel_size"], engine["moe_expert_parallel_size"]) == (16, 16)
        # on an EFA pool, NIXL is the transceiver, so that its LIBFABRIC backend can be chosen
        assert engine["cache_transceiver_config"] == {"backend": "NIXL"}


def test_prod_graphs_run_on_the_efa_pools_with_the_model_cache() -> None:
    graphs = dgds(plan_stack("prod"))
    assert set(graphs) == {"deepseek-r1", "llama-405b", "kimi-k2"}
    for name, pool in (("deepseek-r1", "h100-efa"), ("llama-405b", "h100-efa"), ("kimi-k2", "h200-efa")):
        graph = graphs[name]
        for role in ("frontend", "prefill", "decode"):
            pod = component(graph, role)["podTemplate"]["spec"]
            assert pod["volumes"][0] == {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
            assert main(graph, role)["volumeMounts"][0] == {"name": "model-cache", "mountPath": "/models"}
        for role in ("prefill", "decode"):
            pod = component(graph, role)["podTemplate"]["spec"]
            assert pod["nodeSelector"]["dynamo-cluster/pool"] == pool
            limits = main(graph, role)["resources"]["limits"]
            assert (limits["nvidia.com/gpu"], limits["vpc.amazonaws.com/efa"]) == ("8", "16" if pool == "h200-efa"
                                                                                 else "32")
            assert component(graph, role)["multinode"] == {"nodeCount": 2}


def test_dev_runs_one_cpu_only_mocker_graph_on_existing_nodes() -> None:
    registry = plan_stack("dev")
    graphs = dgds(registry)
    assert list(graphs) == ["mocker"]
    graph = graphs["mocker"]
    assert [(c["name"], c["type"]) for c in graph["spec"]["components"]] == [
        ("frontend", "frontend"), ("prefill", "prefill"), ("decode", "decode")]
    assert "backendFramework" not in graph["spec"]  # the CRD knows no mocker framework
    for role in ("prefill", "decode"):
        assert "nvidia.com/gpu" not in main(graph, role)["resources"]["limits"]
        assert main(graph, role)["image"] == "nvcr.io/nvidia/ai-dynamo/dynamo-planner:1.4.2"
        assert component(graph, role)["podTemplate"]["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert not [r for r in registry.resources if r.type.startswith("aws:")]


def test_operator_values_wire_nats_and_prometheus_as_the_plan_says() -> None:
    registry = plan_stack("prod")
    values = operator_release(registry).inputs["values"]
    op = values["dynamo-operator"]
    assert op["natsAddr"] == "nats://nats.dynamo-system.svc.cluster.local:4222"
    assert "etcdAddr" not in op
    assert op["discoveryBackend"] == "kubernetes"
    assert op["dynamo"]["metrics"]["prometheusEndpoint"] == registry.stack_outputs["observability"]["prometheusUrl"]
    assert "nats" not in values  # the 1.2+ chart refuses nats.enabled
    assert values["global"]["nats"] == {"install": False}
    assert values["global"]["etcd"] == {"install": False}
    assert values["global"]["grove"] == {"install": True, "enabled": True}  # prod graphs span nodes
    assert "env" not in op  # the operator never connects to NATS: no credentials for it
    assert "@" not in op["natsAddr"]  # and none inside the address either
    # the operator release comes after NATS exists (it uses its outputs)
    release = operator_release(registry)
    names = {registry.by_urn()[d].name for d in release.dependencies if d in registry.by_urn()}
    assert "nats" in names
    assert operator_release(registry).inputs["version"] == "1.4.2"


def test_etcd_discovery_wires_etcd_into_the_operator_and_the_graphs() -> None:
    registry = plan_stack("etcd-discovery")
    op = operator_release(registry).inputs["values"]["dynamo-operator"]
    assert op["discoveryBackend"] == "etcd"
    assert op["etcdAddr"] == "https://etcd.dynamo-system.svc.cluster.local:2379"
    assert "natsAddr" not in op
    [graph] = dgds(registry).values()
    assert graph["metadata"]["annotations"]["nvidia.com/dynamo-discovery-backend"] == "etcd"
    assert registry.of_type("dynamo-cluster:components:NatsJetStream") == []
    assert len(registry.of_type("dynamo-cluster:components:EtcdCluster")) == 1


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
        for item in graph["spec"]["components"]:
            container = main(graph, item["name"])
            assert container["envFrom"] == [{"secretRef": {"name": "hf-token"}}]
            assert item["podTemplate"]["spec"]["imagePullSecrets"] == [{"name": "nvcr-pull"}]
        # the NATS credentials come from the nats-auth Secret, never as values
        nats_env = {e["name"]: e for e in graph["spec"]["env"] if e["name"].startswith("NATS_AUTH")}
        assert nats_env["NATS_AUTH_PASSWORD"] == {"name": "NATS_AUTH_PASSWORD", "valueFrom": {
            "secretKeyRef": {"name": "nats-auth", "key": "NATS_AUTH_PASSWORD"}}}
    values = operator_release(registry).inputs["values"]["dynamo-operator"]
    assert values["imagePullSecrets"] == [{"name": "nvcr-pull"}]


def test_tensor_parallel_must_match_the_gpus_a_replica_spans() -> None:
    values = copy.deepcopy(stack_config("prod"))
    values["graphs"][2]["decode"]["tensorParallel"] = 8  # kimi-k2: 2 nodes x 8 GPUs = 16
    with pytest.raises(ConfigError) as error:
        parse(values, "prod")
    assert [str(p) for p in error.value.problems] == [
        "dynamo-cluster:graphs[2].decode: graph 'kimi-k2' decode: tensor parallel 8, but one replica spans "
        "2 nodes x 8 GPUs = 16 GPUs; allowed: tensor parallel x pipeline parallel = 16 for decode, or turn the "
        "parallelism check off for this graph"]
    # unless the graph says otherwise
    values["graphs"][2]["checkParallelism"] = False
    assert group_of(parse(values, "prod").dynamo.graphs[2], "decode").tensor_parallel == 8


NO_RECEIVER = ("no Alertmanager receiver (slackWebhookUrl, pagerdutyRoutingKey, alertWebhookUrl unset): alerts fire "
               "but notify nobody (docs/observability.md, \"Receivers\")")


GROVE_ALPHA_12 = ("Dynamo 1.4.2 bundles Grove v0.1.0-alpha.12-rc1, with which multi-node graphs (deepseek-r1, "
                  "llama-405b, kimi-k2) scaled up from zero replicas keep their pods SchedulingGated "
                  "(ai-dynamo/dynamo#14278, ai-dynamo/grove#809): move to the 1.5.1 release entry (`operator.version: "
                  "1.5.1`, whose chart bundles Grove v0.1.0-alpha.13; docs/upgrade.md), or never scale those graphs "
                  "to zero")


def test_the_summary_warns_about_what_a_reviewer_should_know() -> None:
    prod = parse(stack_config("prod"), "prod")
    assert prod.warnings() == [
        GROVE_ALPHA_12,
        "no hfToken: graphs download models anonymously, and gated models will fail to download",
        "no ngcApiKey: images are pulled from nvcr.io anonymously (no pull secret)",
        NO_RECEIVER,
        "models downloaded at a moving revision, so a later download (a new cache, a replaced Job) may fetch other "
        "weights: deepseek-ai/DeepSeek-R1 (main), meta-llama/Llama-3.1-405B-Instruct (main), "
        "moonshotai/Kimi-K2-Instruct (main); pin each with graphs[].modelRevision set to a commit"]
    secured = parse(stack_config("prod") | {"modelCache": {"enabled": False}}, "prod",
                    secrets=["hfToken", "ngcApiKey", "pagerdutyRoutingKey"])
    assert secured.warnings() == [
        GROVE_ALPHA_12, "no modelCache: every worker of deepseek-r1, llama-405b, kimi-k2 downloads the weights itself"]
    assert parse(stack_config("dynamo-1-5"), "dynamo-1-5").warnings() == [
        "Dynamo 1.5.1: its image tags (1.5.1, 1.5.1-efa) follow the naming of earlier releases but were not read "
        "from a published artifact list; check that they exist before `pulumi up` (docs/upgrade.md)",
        "Dynamo 1.5.1: its chart's values keys and bundled Grove and KAI versions and its DynamoGraphDeployment CRD "
        "versions were not read from the release's own chart or CRD and follow the previous release's; compare "
        "`helm show values` of the chart with docs/upgrade.md before `pulumi up`",
        "no hfToken: graphs download models anonymously, and gated models will fail to download"]


def grove_warnings(values: dict[str, Any], stack: str) -> list[str]:
    return [w for w in parse(values, stack).warnings() if "SchedulingGated" in w]


def test_grove_alpha_12_is_warned_about_exactly_where_it_is_installed() -> None:
    prod = stack_config("prod")
    assert grove_warnings(prod, "prod") == [GROVE_ALPHA_12]  # 1.4.2, graphs across nodes, gangScheduling auto
    [seed] = grove_warnings(stack_config("seed-multinode"), "seed-multinode")
    assert "(vllm-disagg, sglang-disagg, trtllm-disagg)" in seed
    # Grove not installed: gang scheduling off, or auto with no graph across nodes
    assert grove_warnings(prod | {"operator": prod["operator"] | {"gangScheduling": "none"}}, "prod") == []
    assert grove_warnings(stack_config("dev"), "dev") == []
    # installed although no graph spans nodes yet: the next one that does would meet it
    [forced] = grove_warnings(stack_config("dev") | {"operator": {"gangScheduling": "grove"}}, "dev")
    assert forced.startswith("Dynamo 1.4.2 bundles Grove v0.1.0-alpha.12-rc1, with which multi-node graphs scaled")
    # every release entry whose chart bundles another Grove: none
    for version in ("1.5.0", "1.5.1", "1.6.1"):
        assert grove_warnings(prod | {"operator": prod["operator"] | {"version": version}}, "prod") == [], version


ETCD_LEGACY = ("dynamo.discovery is etcd, upstream's legacy discovery backend: on Kubernetes, Dynamo's service "
               "discovery guide makes Kubernetes discovery the default and recommends it for every deployment, and "
               "etcd is one more stateful service the graphs depend on; the way out is `dynamo.discovery: kubernetes` "
               "(no etcd deployed)")


def test_etcd_discovery_is_warned_about_with_the_way_out() -> None:
    etcd = parse(stack_config("etcd-discovery"), "etcd-discovery").warnings()
    assert etcd.count(ETCD_LEGACY) == 1
    for stack in ("dev", "prod", "seed-multinode", "dynamo-1-5", "efs-cache"):
        assert not [w for w in parse(stack_config(stack), stack).warnings() if "dynamo.discovery" in w], stack
    moved = stack_config("etcd-discovery")
    moved = moved | {"dynamo": moved["dynamo"] | {"discovery": "kubernetes"}}
    moved.pop("etcd", None)
    assert ETCD_LEGACY not in parse(moved, "etcd-discovery").warnings()
