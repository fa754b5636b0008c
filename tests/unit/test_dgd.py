"""The DynamoGraphDeployment builder: services, placement, secrets, storage."""

from typing import Any

from components.dynamo.dgd import GraphWiring, dgd_manifest, efa_per_pod, engine_configmap
from tests.graph_fixtures import POOLS, graph, group_of

WIRING = GraphWiring(namespace="dynamo", env=[{"name": "NATS_AUTH_TOKEN", "valueFrom": {
    "secretKeyRef": {"name": "nats-auth", "key": "token"}}}], hf_token_secret="hf-token", pull_secret="nvcr-pull",
    model_cache_claim="model-cache")


def services(manifest: dict[str, Any]) -> dict[str, Any]:
    return manifest["spec"]["services"]  # type: ignore[no-any-return]


def test_disagg_multinode_services() -> None:
    m = dgd_manifest(graph("sglang", nodes=2, gpus=4), POOLS, WIRING)
    assert m["apiVersion"] == "nvidia.com/v1alpha1"
    assert m["kind"] == "DynamoGraphDeployment"
    assert m["spec"]["backendFramework"] == "sglang"
    svc = services(m)
    assert set(svc) == {"Frontend", "prefill", "decode"}
    assert svc["Frontend"]["componentType"] == "frontend"
    for role in ("prefill", "decode"):
        assert svc[role]["componentType"] == "worker"
        assert svc[role]["subComponentType"] == role
        assert svc[role]["multinode"] == {"nodeCount": 2}
        assert svc[role]["resources"]["limits"]["gpu"] == "4"


def test_single_node_groups_have_no_multinode_block() -> None:
    svc = services(dgd_manifest(graph("vllm", mode="agg", nodes=1, gpus=1), POOLS, WIRING))
    assert set(svc) == {"Frontend", "worker"}
    assert "multinode" not in svc["worker"]
    assert "subComponentType" not in svc["worker"]


def test_placement_comes_from_the_pool() -> None:
    svc = services(dgd_manifest(graph("vllm", nodes=2, gpus=4), POOLS, WIRING))["prefill"]
    pod = svc["extraPodSpec"]
    assert pod["nodeSelector"] == {"dynamo-cluster/pool": "h100-efa"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    # 4 of the node's 8 GPUs: half of its 32 EFA interfaces
    assert svc["resources"]["limits"]["custom"] == {"vpc.amazonaws.com/efa": "16"}
    assert svc["resources"]["requests"]["custom"] == {"vpc.amazonaws.com/efa": "16"}
    term = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["labelSelector"]["matchLabels"] == {"dynamo-cluster/graph": "vllm-disagg",
                                                     "dynamo-cluster/role": "decode"}
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert svc["extraPodMetadata"]["labels"]["dynamo-cluster/role"] == "prefill"


def test_pools_without_efa_get_no_efa_requests_or_anti_affinity() -> None:
    svc = services(dgd_manifest(graph("vllm", pool="l40s", nodes=1, gpus=4), POOLS, WIRING))["decode"]
    assert "custom" not in svc["resources"]["limits"]
    assert "affinity" not in svc["extraPodSpec"]
    assert efa_per_pod(group_of(graph("vllm", pool="l40s"), "decode"), POOLS["l40s"]) == 0


def test_secrets_are_referenced_by_name_and_storage_is_mounted() -> None:
    m = dgd_manifest(graph("trtllm", nodes=2, gpus=4), POOLS, WIRING)
    assert m["spec"]["pvcs"] == [{"name": "model-cache", "create": False}]
    env = {e["name"]: e for e in m["spec"]["envs"]}
    assert env["NATS_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "nats-auth"
    assert env["HF_HOME"]["value"] == "/models"
    assert env["OMPI_ALLOW_RUN_AS_ROOT"]["value"] == "1"
    assert env["FI_PROVIDER"]["value"] == "efa"
    for svc in services(m).values():
        assert svc["envFromSecret"] == "hf-token"
        assert svc["volumeMounts"] == [{"name": "model-cache", "mountPoint": "/models"}]
        assert svc["extraPodSpec"]["imagePullSecrets"] == [{"name": "nvcr-pull"}]


def test_without_token_cache_or_pull_secret_nothing_is_referenced() -> None:
    m = dgd_manifest(graph("mocker", nodes=1, gpus=0, pool="cpu"), POOLS, GraphWiring(namespace="dynamo"))
    assert "pvcs" not in m["spec"]
    assert "backendFramework" not in m["spec"]  # the CRD's enum has no mocker
    for svc in services(m).values():
        assert "envFromSecret" not in svc
        assert "volumeMounts" not in svc
        assert "imagePullSecrets" not in svc["extraPodSpec"]
        assert "gpu" not in svc["resources"]["limits"]


def test_waits_for_the_operator_to_report_success() -> None:
    m = dgd_manifest(graph("vllm"), POOLS, WIRING)
    assert m["metadata"]["annotations"]["pulumi.com/waitFor"] == "jsonpath={.status.state}=successful"


def test_trtllm_engine_configs_are_mounted_from_a_configmap() -> None:
    spec = graph("trtllm", nodes=2, gpus=4)
    cm = engine_configmap(spec, "trtllm-disagg-engine-config", "dynamo")
    assert set(cm["data"]) == {"prefill.yaml", "decode.yaml"}
    from dataclasses import replace

    m = dgd_manifest(spec, POOLS, replace(WIRING, engine_configmap="trtllm-disagg-engine-config"))
    pod = services(m)["prefill"]["extraPodSpec"]
    assert pod["volumes"] == [{"name": "engine-config", "configMap": {"name": "trtllm-disagg-engine-config"}}]
    assert pod["mainContainer"]["volumeMounts"] == [{"name": "engine-config", "mountPath": "/etc/dynamo/engine",
                                                     "readOnly": True}]


def test_disruption_budgets_take_one_replica_at_a_time() -> None:
    from dataclasses import replace

    from components.dynamo.dgd import disruption_budgets

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
    from dataclasses import replace

    from components.kit.resources import Resources

    spec = graph("vllm")
    spec = replace(spec, frontend=replace(spec.frontend, resources=Resources("1", "2Gi", "4")))
    front = services(dgd_manifest(spec, POOLS, WIRING))["Frontend"]
    assert front["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi", "cpu": "4"}}
