"""The DynamoGraphDeployment builder (v1beta1): components, placement, secrets, storage, planes."""

from dataclasses import replace
from typing import Any

from components.dynamo.dgd import GraphWiring, dgd_manifest, disruption_budgets, efa_per_pod, engine_configmap
from components.dynamo.releases import RELEASES
from components.dynamo.transport import TransportPlan
from components.kit.resources import Resources
from tests.graph_fixtures import POOLS, engine_args, graph, group_of

WIRING = GraphWiring(namespace="dynamo", env=[{"name": "NATS_AUTH_TOKEN", "valueFrom": {
    "secretKeyRef": {"name": "nats-auth", "key": "token"}}}], hf_token_secret="hf-token", pull_secret="nvcr-pull",
    model_cache_claim="model-cache")


def components(manifest: dict[str, Any]) -> dict[str, Any]:
    return {c["name"]: c for c in manifest["spec"]["components"]}


def pod(component: dict[str, Any]) -> dict[str, Any]:
    return component["podTemplate"]["spec"]  # type: ignore[no-any-return]


def main(component: dict[str, Any]) -> dict[str, Any]:
    [container] = pod(component)["containers"]
    return container  # type: ignore[no-any-return]


def test_disagg_multinode_components() -> None:
    m = dgd_manifest(graph("sglang", nodes=2, gpus=4), POOLS, WIRING)
    assert m["apiVersion"] == "nvidia.com/v1beta1"
    assert m["kind"] == "DynamoGraphDeployment"
    assert m["spec"]["backendFramework"] == "sglang"
    found = components(m)
    assert [(c["name"], c["type"]) for c in m["spec"]["components"]] == [
        ("frontend", "frontend"), ("prefill", "prefill"), ("decode", "decode")]
    for role in ("prefill", "decode"):
        assert found[role]["multinode"] == {"nodeCount": 2}
        assert main(found[role])["name"] == "main"
        assert main(found[role])["resources"]["limits"]["nvidia.com/gpu"] == "4"
        assert found[role]["sharedMemorySize"] == "16Gi"


def test_single_node_groups_have_no_multinode_block() -> None:
    found = components(dgd_manifest(graph("vllm", mode="agg", nodes=1, gpus=1), POOLS, WIRING))
    assert set(found) == {"frontend", "worker"}
    assert found["worker"]["type"] == "worker"
    assert "multinode" not in found["worker"]


def test_placement_comes_from_the_pool() -> None:
    prefill = components(dgd_manifest(graph("vllm", nodes=2, gpus=4), POOLS, WIRING))["prefill"]
    spec = pod(prefill)
    assert spec["nodeSelector"] == {"dynamo-cluster/pool": "h100-efa"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # 4 of the node's 8 GPUs: half of its 32 EFA interfaces
    resources = main(prefill)["resources"]
    assert resources["limits"]["vpc.amazonaws.com/efa"] == "16"
    assert resources["requests"]["vpc.amazonaws.com/efa"] == "16"
    term = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"]["matchLabels"] == {"dynamo-cluster/graph": "vllm-disagg",
                                                     "dynamo-cluster/role": "decode"}
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert prefill["podTemplate"]["metadata"]["labels"]["dynamo-cluster/role"] == "prefill"


def test_pools_without_efa_get_no_efa_requests_or_anti_affinity() -> None:
    decode = components(dgd_manifest(graph("vllm", pool="l40s", nodes=1, gpus=4), POOLS, WIRING))["decode"]
    assert "vpc.amazonaws.com/efa" not in main(decode)["resources"]["limits"]
    assert "affinity" not in pod(decode)
    assert efa_per_pod(group_of(graph("vllm", pool="l40s"), "decode"), POOLS["l40s"]) == 0


def test_secrets_are_referenced_by_name_and_storage_is_mounted() -> None:
    m = dgd_manifest(graph("trtllm", nodes=2, gpus=4), POOLS, WIRING)
    env = {e["name"]: e for e in m["spec"]["env"]}
    assert env["NATS_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "nats-auth"
    assert env["HF_HOME"]["value"] == "/models"
    assert env["OMPI_ALLOW_RUN_AS_ROOT"]["value"] == "1"
    for component in components(m).values():
        assert main(component)["envFrom"] == [{"secretRef": {"name": "hf-token"}}]
        assert main(component)["volumeMounts"][0] == {"name": "model-cache", "mountPath": "/models"}
        assert pod(component)["volumes"][0] == {"name": "model-cache",
                                                "persistentVolumeClaim": {"claimName": "model-cache"}}
        assert pod(component)["imagePullSecrets"] == [{"name": "nvcr-pull"}]


def test_without_token_cache_or_pull_secret_nothing_is_referenced() -> None:
    m = dgd_manifest(graph("mocker", nodes=1, gpus=0, pool="cpu"), POOLS, GraphWiring(namespace="dynamo"))
    assert "backendFramework" not in m["spec"]  # the CRD's enum has no mocker
    for component in components(m).values():
        assert "envFrom" not in main(component)
        assert "volumeMounts" not in main(component)
        assert "volumes" not in pod(component)
        assert "imagePullSecrets" not in pod(component)
        assert "nvidia.com/gpu" not in main(component)["resources"]["limits"]


def test_waits_for_the_operator_to_report_success() -> None:
    m = dgd_manifest(graph("vllm"), POOLS, WIRING)
    assert m["metadata"]["annotations"] == {"pulumi.com/waitFor": "jsonpath={.status.state}=successful"}


def test_the_transport_plan_sets_the_planes_and_the_discovery_annotation() -> None:
    default = dgd_manifest(graph("vllm"), POOLS, WIRING)
    env = {e["name"]: e.get("value") for e in default["spec"]["env"]}
    assert (env["DYN_EVENT_PLANE"], env["DYN_REQUEST_PLANE"]) == ("zmq", "tcp")
    plan = TransportPlan(discovery="etcd", event_plane="nats", request_plane="nats")
    m = dgd_manifest(graph("vllm", transport=plan), POOLS, WIRING)
    env = {e["name"]: e.get("value") for e in m["spec"]["env"]}
    assert (env["DYN_EVENT_PLANE"], env["DYN_REQUEST_PLANE"]) == ("nats", "nats")
    assert m["metadata"]["annotations"]["nvidia.com/dynamo-discovery-backend"] == "etcd"
    # with KV events off the event plane still carries load metrics, over ZMQ
    off = dgd_manifest(graph("vllm", transport=TransportPlan(event_plane="none")), POOLS, WIRING)
    assert {e["name"]: e.get("value") for e in off["spec"]["env"]}["DYN_EVENT_PLANE"] == "zmq"


def test_images_follow_the_release_and_a_tag_the_operator_cannot_read_gets_an_override() -> None:
    m = dgd_manifest(graph("vllm", release=RELEASES["1.5.0"], pool="l40s"), POOLS, WIRING)
    assert {main(c)["image"] for c in components(m).values()} == {"nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.5.0"}
    assert all("runtimeVersionOverride" not in c for c in components(m).values())
    # On an EFA pool the workers run the -efa image; its tag is no plain version, so the operator is told.
    efa = components(dgd_manifest(graph("vllm", release=RELEASES["1.5.0"]), POOLS, WIRING))
    assert main(efa["frontend"])["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.5.0"
    assert "runtimeVersionOverride" not in efa["frontend"]
    for role in ("prefill", "decode"):
        assert main(efa[role])["image"] == "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.5.0-efa"
        assert efa[role]["runtimeVersionOverride"] == "1.5.0"
    pinned = replace(graph("vllm"), image="registry.example/vllm@sha256:" + "a" * 64)
    assert {c.get("runtimeVersionOverride") for c in components(dgd_manifest(pinned, POOLS, WIRING)).values()} == {
        "1.4.2"}


def test_trtllm_engine_configs_are_mounted_from_a_configmap() -> None:
    spec = graph("trtllm", nodes=2, gpus=4)
    cm = engine_configmap(spec, POOLS, "trtllm-disagg-engine-config", "dynamo")
    assert cm is not None
    assert set(cm["data"]) == {"prefill.yaml", "decode.yaml"}
    m = dgd_manifest(spec, POOLS, replace(WIRING, engine_configmap="trtllm-disagg-engine-config"))
    prefill = components(m)["prefill"]
    assert pod(prefill)["volumes"][1] == {"name": "engine-config",
                                         "configMap": {"name": "trtllm-disagg-engine-config"}}
    assert main(prefill)["volumeMounts"][1] == {"name": "engine-config", "mountPath": "/etc/dynamo/engine",
                                                "readOnly": True}


def test_disruption_budgets_take_one_replica_at_a_time() -> None:
    spec = graph("sglang", nodes=2, gpus=4)
    assert disruption_budgets(spec, "dynamo") == []  # one replica each: nothing a budget could keep
    scaled = replace(spec, groups=tuple(replace(g, replicas=3) for g in spec.groups),
                     frontend=replace(spec.frontend, replicas=2))
    budgets = {b["metadata"]["name"]: b["spec"] for b in disruption_budgets(scaled, "dynamo")}
    assert budgets == {
        "sglang-disagg-frontend": {"maxUnavailable": 1, "selector": {"matchLabels": {
            "dynamo-cluster/graph": "sglang-disagg", "dynamo-cluster/role": "frontend"}}},
        "sglang-disagg-prefill": {"maxUnavailable": 2, "selector": {"matchLabels": {
            "dynamo-cluster/graph": "sglang-disagg", "dynamo-cluster/role": "prefill"}}},
        "sglang-disagg-decode": {"maxUnavailable": 2, "selector": {"matchLabels": {
            "dynamo-cluster/graph": "sglang-disagg", "dynamo-cluster/role": "decode"}}},
    }


def test_frontend_cpu_limit_is_honoured() -> None:
    spec = graph("vllm")
    spec = replace(spec, frontend=replace(spec.frontend, resources=Resources("1", "2Gi", "4")))
    front = components(dgd_manifest(spec, POOLS, WIRING))["frontend"]
    assert main(front)["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                        "limits": {"memory": "2Gi", "cpu": "4"}}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container["env"]}


def worker_args_of(component: dict[str, Any]) -> list[str]:
    return engine_args(main(component))


def test_a_groups_page_size_is_the_only_one_on_its_command_line() -> None:
    spec = graph("sglang", nodes=1, gpus=1, extra=("--page-size", "32"))
    for role in ("prefill", "decode"):
        args = worker_args_of(components(dgd_manifest(spec, POOLS, WIRING))[role])
        assert args.count("--page-size") == 1
        assert args[args.index("--page-size") + 1] == "32"
    default = components(dgd_manifest(graph("sglang", nodes=1, gpus=1), POOLS, WIRING))["prefill"]
    assert worker_args_of(default).count("--page-size") == 1


def test_sglang_workers_across_nodes_get_the_gloo_interface_on_their_own_container() -> None:
    m = dgd_manifest(graph("sglang", nodes=2, gpus=4), POOLS, WIRING)
    for role in ("prefill", "decode"):
        assert env_of(main(components(m)[role]))["GLOO_SOCKET_IFNAME"] == "eth0"
    assert "GLOO_SOCKET_IFNAME" not in env_of(main(components(m)["frontend"]))
    assert "GLOO_SOCKET_IFNAME" not in {e["name"] for e in m["spec"]["env"]}
    # single-node SGLang workers, and other engines across nodes, get none
    single = dgd_manifest(graph("sglang", nodes=1, gpus=4), POOLS, WIRING)
    for backend_graph in (single, dgd_manifest(graph("vllm", nodes=2, gpus=4), POOLS, WIRING),
                          dgd_manifest(graph("trtllm", nodes=2, gpus=4), POOLS, WIRING)):
        for component in backend_graph["spec"]["components"]:
            assert "GLOO_SOCKET_IFNAME" not in env_of(main(component)), component["name"]


def test_a_groups_env_replaces_the_gloo_interface() -> None:
    spec = graph("sglang", nodes=2, gpus=4, pool="h100")
    prefill = replace(group_of(spec, "prefill"), env={"GLOO_SOCKET_IFNAME": "ens5"})
    spec = replace(spec, groups=(prefill, group_of(spec, "decode")))
    found = components(dgd_manifest(spec, POOLS, WIRING))
    assert env_of(main(found["prefill"]))["GLOO_SOCKET_IFNAME"] == "ens5"
    assert env_of(main(found["decode"]))["GLOO_SOCKET_IFNAME"] == "eth0"
    assert [e["name"] for e in main(found["prefill"])["env"]].count("GLOO_SOCKET_IFNAME") == 1
