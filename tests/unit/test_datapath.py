"""The data path: workers on EFA pools get the whole recipe of Dynamo's EFA guide from their pool,
and nothing else gets any of it; the pieces that carry it (the library-path wrapper, huge pages,
NIXL telemetry, Pod Security, the summary) each proven on their own."""

from __future__ import annotations

import base64
import json
import re
import stat
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.dynamo import datapath
from components.dynamo.commands import worker_args, worker_command
from components.dynamo.dgd import (
    NIXL_TELEMETRY_LABEL,
    GraphWiring,
    dgd_manifest,
    engine_configmap,
    nixl_pod_monitor,
)
from components.namespaces.manifests import namespace_manifest
from components.nodes.eks import huge_pages_user_data, launch_template_props
from components.storage.downloads import WAIT_CONTAINER
from stacks.config.reader import ConfigError
from stacks.plan.mockrun import Registry
from stacks.plan.sections import data_path_lines
from tests.graph_fixtures import POOLS, engine_args, graph, group_of, trtllm_engine_config
from tests.harness import by_kind, parse, plan_config, plan_stack, stack_config

WIRING = GraphWiring(namespace="dynamo")
GUIDE_ENV = {"FI_PROVIDER": "efa", "FI_EFA_USE_DEVICE_RDMA": "1", "FI_EFA_ENABLE_SHM_TRANSFER": "0",
             "FI_EFA_ENABLE_SHM": "0", "FI_EFA_FORK_SAFE": "0", "FI_EFA_MR_MAX_CACHED_COUNT": "524288",
             "FI_EFA_MR_MAX_CACHED_SIZE": "0"}
BACKEND_SWITCH = {"sglang": ("SGLANG_DISAGGREGATION_NIXL_BACKEND", "LIBFABRIC"),
                  "trtllm": ("TRTLLM_NIXL_KVCACHE_BACKEND", "LIBFABRIC")}
EFA_DIRS = "/opt/amazon/efa/lib:/opt/amazon/efa/lib64:/opt/aws-ofi-nccl/lib"
# What a TensorRT-LLM worker across nodes on EFA gets as LD_LIBRARY_PATH, written out in full: the
# guide's EFA directories, then those of the -efa image (its profile cites where they were read).
TRTLLM_UNWRAPPED_PATH = (EFA_DIRS + ":/usr/local/tensorrt/lib:/usr/local/cuda/lib64:/usr/local/ucx/lib:"
                         "/opt/nvidia/nvda_nixl/lib64:/usr/local/lib/python3.12/dist-packages/tensorrt_llm/libs")


def containers_of(registry: Registry) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, pod spec, container) of every container of every Kubernetes object in a plan."""
    out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("containers"), list):
                for c in [*node.get("initContainers", []), *node["containers"]]:
                    out.append((where, node, c))
                return
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{where}[{index}]")

    for r in registry.resources:
        if r.custom and r.type.startswith("kubernetes:") and "helm.sh" not in r.type:
            walk(dict(r.inputs), r.name)
    return out


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def carries_any_of_the_recipe(container: dict[str, Any]) -> list[str]:
    found = [k for k in env_of(container) if k.startswith(("FI_", "NCCL_", "SGLANG_DISAGG", "TRTLLM_NIXL"))]
    if container.get("securityContext", {}).get("privileged"):
        found.append("privileged")
    limits = container.get("resources", {}).get("limits", {})
    found += [k for k in limits if k in ("vpc.amazonaws.com/efa", "hugepages-2Mi")]
    if "-efa" in container.get("image", ""):
        found.append("efa image")
    if "LD_LIBRARY_PATH" in " ".join(container.get("args", [])) or "LD_LIBRARY_PATH" in env_of(container):
        found.append("library path")
    return found


# --- the prod plan: every EFA worker carries the recipe, nothing else any of it -------------------


def test_every_worker_on_an_efa_pool_carries_the_whole_recipe_and_no_other_pod_any_of_it() -> None:
    registry = plan_stack("prod")
    efa_workers = 0
    for where, pod, container in containers_of(registry):
        if container["name"] == WAIT_CONTAINER:
            # It waits for the model in the main container's image (already on the node): only that.
            assert container["image"] == pod["containers"][0]["image"], where
            assert carries_any_of_the_recipe(container | {"image": ""}) == [], where
            continue
        labels_path = where.endswith("spec") and ".podTemplate" in where
        is_worker = labels_path and container["name"] == "main" and "frontend" not in where and \
            "nvidia.com/gpu" in container["resources"]["limits"]
        if not is_worker:
            assert carries_any_of_the_recipe(container) == [], where
            continue
        efa_workers += 1
        env = env_of(container)
        assert GUIDE_ENV.items() <= env.items(), where
        assert env["FI_EFA_USE_HUGE_PAGE"] == "1"
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        assert limits["hugepages-2Mi"] == requests["hugepages-2Mi"] == "5120Mi"
        assert limits["vpc.amazonaws.com/efa"] == requests["vpc.amazonaws.com/efa"]
        assert container["securityContext"] == {"privileged": True, "capabilities": {"add": ["IPC_LOCK"]}}
        assert container["image"].endswith(":1.4.2-efa")
        assert (env["NCCL_DEBUG"], env["NCCL_DEBUG_SUBSYS"]) == ("INFO", "INIT,NET")  # every prod replica spans nodes
    assert efa_workers == 6  # three graphs, prefill and decode each

    graphs = {r.inputs["metadata"]["name"]: r.inputs for r in by_kind(registry, "DynamoGraphDeployment")}
    for name, backend in (("deepseek-r1", "trtllm"), ("llama-405b", "vllm"), ("kimi-k2", "sglang")):
        for component in graphs[name]["spec"]["components"][1:]:
            container = component["podTemplate"]["spec"]["containers"][0]
            assert component["sharedMemorySize"] == "80Gi"
            if backend == "vllm":
                config = json.loads(engine_args(container)[engine_args(container).index("--kv-transfer-config") + 1])
                assert config["kv_connector_extra_config"] == {"backends": ["LIBFABRIC"]}
            else:
                key, value = BACKEND_SWITCH[backend]
                assert env_of(container)[key] == value
            if backend == "trtllm":  # the operator wraps it in mpirun across nodes: no shell of ours
                assert container["command"] == ["python3", "-m", "dynamo.trtllm"]
                assert env_of(container)["LD_LIBRARY_PATH"] == TRTLLM_UNWRAPPED_PATH
            else:
                assert container["command"] == ["/bin/sh", "-c"]
                assert container["args"][0].startswith(f'export LD_LIBRARY_PATH="{EFA_DIRS}$')
                assert "LD_LIBRARY_PATH" not in env_of(container)
    [engine] = [r for r in by_kind(registry, "ConfigMap")
                if r.inputs["metadata"]["name"] == "deepseek-r1-engine-config"]
    assert yaml.safe_load(engine.inputs["data"]["prefill.yaml"])["cache_transceiver_config"] == {"backend": "NIXL"}


def test_the_dev_stack_and_pools_without_efa_get_none_of_it() -> None:
    for where, _, container in containers_of(plan_stack("dev")):
        assert carries_any_of_the_recipe(container) == [], where
    manifest = dgd_manifest(graph("vllm", pool="l40s", nodes=1, gpus=4), POOLS, WIRING)
    for component in manifest["spec"]["components"]:
        container = component["podTemplate"]["spec"]["containers"][0]
        assert carries_any_of_the_recipe(container) == []
    args = engine_args(manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0])
    assert json.loads(args[args.index("--kv-transfer-config") + 1]) == {"kv_connector": "NixlConnector",
                                                                      "kv_role": "kv_both"}
    assert trtllm_engine_config(group_of(graph("trtllm", pool="l40s"), "prefill"))["cache_transceiver_config"] == {
        "backend": "DEFAULT"}


@pytest.mark.parametrize("backend", ["vllm", "sglang", "trtllm"])
def test_each_backend_selects_libfabric_its_own_way(backend: str) -> None:
    spec = graph(backend, nodes=1, gpus=1)
    for role in ("prefill", "decode"):
        group = group_of(spec, role)
        path = datapath.data_path(spec, group, POOLS["h100-efa"])
        assert (path.efa, path.rdma, path.transfer) == (True, True, "NIXL over LIBFABRIC (EFA RDMA)")
        args = worker_args(spec, group, efa=True)
        if backend == "vllm":
            assert "LIBFABRIC" in args[args.index("--kv-transfer-config") + 1]
            assert not set(BACKEND_SWITCH.values()) & set(path.env.items())
        else:
            assert BACKEND_SWITCH[backend] in path.env.items()
            assert not any("LIBFABRIC" in a for a in args)


def test_efa_interfaces_follow_the_gpus_a_pod_takes() -> None:
    for gpus, efa in ((8, "32"), (4, "16"), (2, "8"), (1, "4")):
        m = dgd_manifest(graph("vllm", nodes=1, gpus=gpus), POOLS, WIRING)
        container = m["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
        assert container["resources"]["limits"]["vpc.amazonaws.com/efa"] == efa


def test_aggregated_and_mocker_graphs_name_why_they_move_no_kv_over_rdma() -> None:
    agg = graph("vllm", mode="agg", nodes=2, gpus=8)
    path = datapath.data_path(agg, group_of(agg, "worker"), POOLS["h100-efa"])
    assert (path.efa, path.rdma, path.privileged) == (True, False, True)  # NCCL across nodes still needs EFA
    assert path.reason.startswith("aggregated")
    assert "SGLANG_DISAGGREGATION_NIXL_BACKEND" not in path.env
    mocker = graph("mocker", nodes=1, gpus=0, pool="cpu")
    assert datapath.data_path(mocker, group_of(mocker, "prefill"), POOLS["cpu"]).reason == \
        "simulated engine: no KV transfer"
    tcp = graph("vllm", pool="l40s", nodes=1)
    path = datapath.data_path(tcp, group_of(tcp, "prefill"), POOLS["l40s"])
    assert (path.transfer, path.rdma) == ("NIXL over UCX", False)
    assert "no EFA interfaces" in path.reason


# --- the library path wrapper ---------------------------------------------------------------------


def fake_python(tmp_path: Path) -> Path:
    """A `python3` that prints what it was run with: its argv and library path, as JSON."""
    script = tmp_path / "python3"
    script.write_text('#!/bin/sh\nprintf \'%s\\0\' "$LD_LIBRARY_PATH" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return tmp_path


def run_container(command: list[str], args: list[str], bin_dir: Path, library_path: str | None) -> list[str]:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    if library_path is not None:
        env["LD_LIBRARY_PATH"] = library_path
    out = subprocess.run([*command, *args], env=env, capture_output=True, check=True).stdout.decode()
    return out.split("\0")[:-1]


@pytest.mark.parametrize("image_path", ["/usr/local/cuda/lib64:/opt/nvidia/nvda_nixl/lib64", None])
def test_the_wrapper_puts_the_efa_libraries_first_and_passes_every_argument_unchanged(
        tmp_path: Path, image_path: str | None) -> None:
    spec = graph("vllm", nodes=1, gpus=1)
    group = group_of(spec, "prefill")
    argv = worker_args(spec, group, efa=True)
    command, args = datapath.wrapped_command(worker_command(spec), argv, datapath.EFA_LIBRARY_PATH)
    seen = run_container(command, args, fake_python(tmp_path), image_path)
    # the shell ran our python3 with exactly the engine's arguments, JSON and all
    assert seen[1:] == ["-m", "dynamo.vllm", *argv]
    assert seen[0] == EFA_DIRS + (f":{image_path}" if image_path else "")
    assert datapath.engine_command_line(command, args) == [*worker_command(spec), *argv]


def test_an_unwrapped_efa_worker_gets_its_whole_library_path_as_env() -> None:
    """A TensorRT-LLM worker across nodes runs under the operator's mpirun, not our wrapper: its
    LD_LIBRARY_PATH is an env value Kubernetes passes as written, so nothing in it is left to expand."""
    spec = graph("trtllm", nodes=2, gpus=8)
    for role in ("prefill", "decode"):
        path = datapath.data_path(spec, group_of(spec, role), POOLS["h100-efa"])
        assert path.library_path == ()
        assert path.env["LD_LIBRARY_PATH"] == TRTLLM_UNWRAPPED_PATH
        assert "$" not in path.env["LD_LIBRARY_PATH"]
        assert path.env["LD_LIBRARY_PATH"].split(":")[:3] == list(datapath.EFA_LIBRARY_PATH)
    # wrapped workers (TensorRT-LLM on one node, the other engines across nodes) keep the shell's
    # form, and workers off EFA get no library path at all
    shapes = ((graph("trtllm", nodes=1, gpus=8), "h100-efa"), (graph("sglang", nodes=2, gpus=8), "h100-efa"),
              (graph("vllm", nodes=2, gpus=8), "h100-efa"), (graph("trtllm", nodes=2, gpus=8, pool="h100"), "h100"))
    for other, pool in shapes:
        path = datapath.data_path(other, group_of(other, "prefill"), POOLS[pool])
        assert "LD_LIBRARY_PATH" not in path.env, (other.name, pool)
        assert path.library_path == (datapath.EFA_LIBRARY_PATH if POOLS[pool].has_efa else ())


def test_a_groups_env_replaces_the_unwrapped_library_path() -> None:
    spec = graph("trtllm", nodes=2, gpus=8)
    own = replace(group_of(spec, "prefill"), env={"LD_LIBRARY_PATH": "/opt/amazon/efa/lib:/opt/mine"})
    spec = replace(spec, groups=(own, group_of(spec, "decode")))
    found = {c["name"]: c["podTemplate"]["spec"]["containers"][0]
             for c in dgd_manifest(spec, POOLS, WIRING)["spec"]["components"]}
    assert env_of(found["prefill"])["LD_LIBRARY_PATH"] == "/opt/amazon/efa/lib:/opt/mine"
    assert env_of(found["decode"])["LD_LIBRARY_PATH"] == TRTLLM_UNWRAPPED_PATH
    assert [e["name"] for e in found["prefill"]["env"]].count("LD_LIBRARY_PATH") == 1


def operator_injects(container: dict[str, Any], flags: str, framework: str) -> dict[str, Any]:
    """What Dynamo's operator does to a shell-wrapped container of a multi-node replica (its
    injectFlagsIntoPythonCommand, as read from ai-dynamo/dynamo deploy/operator): the flags go
    right after the first `python... <framework>...` word of the shell's script."""
    pattern = re.compile(rf"(python[0-9.]*\s+[^|&;]*{framework}[^|&;]*?)(\s|$|[|&;])")
    script = pattern.sub(lambda m: f"{m.group(1).strip()} {flags}{m.group(2)}", container["args"][0], count=1)
    return {**container, "args": [script]}


@pytest.mark.parametrize("backend", ["vllm", "sglang"])
def test_multinode_flags_the_operator_injects_reach_the_engine(tmp_path: Path, backend: str) -> None:
    spec = graph(backend, nodes=2, gpus=8)
    manifest = dgd_manifest(spec, POOLS, WIRING)
    container = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    flags = "--nnodes 2 --node-rank 1 --master-addr leader-0 --master-port 29500"
    injected = operator_injects(container, flags, backend)
    seen = run_container(injected["command"], injected["args"], fake_python(tmp_path), "/usr/lib")
    assert seen[1:4] == ["-m", f"dynamo.{backend}", "--nnodes"]
    assert set(engine_args(container)) <= set(seen[1:])  # every argument of ours is still there


# --- huge pages -------------------------------------------------------------------------------------


def test_huge_pages_are_requested_only_where_the_nodes_have_enough_for_every_pod() -> None:
    spec = graph("vllm", nodes=1, gpus=1)
    group = group_of(spec, "prefill")
    none = POOLS["h100-efa"]
    assert datapath.data_path(spec, group, none).huge_pages is None
    assert datapath.data_path(spec, group, none).env["FI_EFA_USE_HUGE_PAGE"] == "0"
    short = replace(none, huge_pages_2mi="20Gi")  # 8 one-GPU pods fit on a node: 40Gi needed
    assert datapath.data_path(spec, group, short).huge_pages is None
    enough = replace(none, huge_pages_2mi="40Gi")
    assert datapath.data_path(spec, group, enough).huge_pages == "5120Mi"
    assert datapath.data_path(spec, group, enough).env["FI_EFA_USE_HUGE_PAGE"] == "1"
    whole = graph("vllm", nodes=2, gpus=8)  # one pod per node
    assert datapath.data_path(whole, group_of(whole, "prefill"), replace(none, huge_pages_2mi="5Gi")).huge_pages


def test_eks_efa_pools_allocate_huge_pages_at_boot() -> None:
    config = parse(stack_config("prod"), "prod")
    pools = {p.name: p for p in config.node_pools}
    group = pools["h100-efa"].eks
    assert group is not None
    assert (pools["h100-efa"].huge_pages_2mi, group.huge_pages_2mi) == ("40960Mi", 20480)  # 8 GPUs x 5120Mi
    data = base64.b64decode(launch_template_props("h100-efa", group)["userData"]).decode()
    assert data == huge_pages_user_data(20480)
    assert data.startswith("MIME-Version: 1.0\nContent-Type: multipart/mixed;")
    assert "sysctl -w vm.nr_hugepages=20480" in data
    assert "vm.nr_hugepages = 20480" in data  # and on every boot after
    assert "userData" not in launch_template_props("h100-efa", replace(group, huge_pages_2mi=0))


def test_huge_pages_must_be_whole_pages_and_are_declared_for_existing_nodes() -> None:
    values = stack_config("prod")
    values["nodePools"][0]["hugePages2Mi"] = "3Mi"
    with pytest.raises(ConfigError) as error:
        parse(values, "prod")
    assert any("nodePools[0].hugePages2Mi: is 3Mi, not a whole number of 2Mi pages" in str(p)
               for p in error.value.problems)
    dev = parse(stack_config("dev"), "dev")
    assert dev.node_pools[0].huge_pages_2mi == "0"


# --- images, /dev/shm and memory ------------------------------------------------------------------


def graph_values(**worker: Any) -> dict[str, Any]:
    values = stack_config("prod")
    values["graphs"][1]["prefill"] |= worker
    return values


def problems_of(values: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(values, "prod")
    return [str(p) for p in error.value.problems]


def test_a_custom_image_needs_an_efa_image_for_workers_on_efa_pools() -> None:
    values = stack_config("prod")
    values["graphs"][1]["image"] = "registry.example/vllm:custom-1"
    [problem] = problems_of(values)
    assert problem.startswith("dynamo-cluster:graphs[1].efaImage: is not set, but image is and workers run on EFA "
                              "pool(s) h100-efa; allowed: an image with the EFA installer")
    values["graphs"][1]["efaImage"] = "registry.example/vllm:custom-1-efa"
    graph_spec = parse(values, "prod").dynamo.graphs[1]
    assert (graph_spec.image, graph_spec.efa_image) == ("registry.example/vllm:custom-1",
                                                        "registry.example/vllm:custom-1-efa")
    values["graphs"][1]["efaImage"] = "registry.example/vllm:latest"
    assert any("graphs[1].efaImage: is 'registry.example/vllm:latest'" in p for p in problems_of(values))


def test_shared_memory_cannot_exceed_the_memory_it_counts_against() -> None:
    [problem] = problems_of(graph_values(sharedMemory="2Ti"))
    assert "graphs[1].prefill.sharedMemory: is 2Ti, more than resources.memory (1000Gi)" in problem
    values = stack_config("prod")
    del values["graphs"][1]["prefill"]["resources"]
    prefill = group_of(parse(values, "prod").dynamo.graphs[1], "prefill")
    assert (prefill.shared_memory, prefill.resources.memory) == ("80Gi", "144Gi")


# --- NIXL telemetry ---------------------------------------------------------------------------------


def test_nixl_telemetry_is_on_where_one_agent_runs_per_pod_unless_forced() -> None:
    one = graph("sglang", nodes=1, gpus=1)
    path = datapath.data_path(one, group_of(one, "decode"), POOLS["h100-efa"])
    assert path.nixl_telemetry
    assert {"NIXL_TELEMETRY_ENABLE": "y", "NIXL_TELEMETRY_EXPORTER": "prometheus",
            "NIXL_TELEMETRY_PROMETHEUS_PORT": "19090"}.items() <= path.env.items()
    eight = graph("sglang", nodes=1, gpus=8)
    off = datapath.data_path(eight, group_of(eight, "decode"), POOLS["h100-efa"])
    assert not off.nixl_telemetry
    assert "8 NIXL agents per pod would share port 19090" in off.telemetry_note
    assert "NIXL_TELEMETRY_ENABLE" not in off.env
    forced = replace(eight, nixl_telemetry="on")
    assert datapath.data_path(forced, group_of(forced, "decode"), POOLS["h100-efa"]).nixl_telemetry
    silenced = replace(one, nixl_telemetry="off")
    assert not datapath.data_path(silenced, group_of(silenced, "decode"), POOLS["h100-efa"]).nixl_telemetry
    # off EFA too: telemetry is about NIXL, not about the fabric
    tcp = graph("vllm", nodes=1, gpus=1, pool="l40s")
    assert datapath.data_path(tcp, group_of(tcp, "prefill"), POOLS["l40s"]).nixl_telemetry


def test_the_nixl_pod_monitor_selects_the_exporting_workers_on_the_operators_nixl_port() -> None:
    spec = graph("vllm", nodes=1, gpus=1)
    manifest = dgd_manifest(spec, POOLS, WIRING)
    for component in manifest["spec"]["components"]:
        labels = component["podTemplate"]["metadata"]["labels"]
        assert (NIXL_TELEMETRY_LABEL in labels) == (component["name"] != "frontend")
    monitor = nixl_pod_monitor(spec, "dynamo")
    assert monitor["spec"]["selector"]["matchLabels"] == {"dynamo-cluster/graph": spec.name,
                                                          NIXL_TELEMETRY_LABEL: "true"}
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "nixl", "path": "/metrics"}]


def test_a_graph_with_telemetry_gets_its_pod_monitor_when_observability_is_on() -> None:
    values = stack_config("prod")
    values["graphs"][2]["decode"] |= {"gpusPerNode": 1, "nodes": 1, "tensorParallel": 1}
    values["graphs"][2]["prefill"] |= {"gpusPerNode": 1, "nodes": 1, "tensorParallel": 1}
    values["graphs"][2]["checkParallelism"] = False
    monitors = [r.inputs["metadata"]["name"] for r in by_kind(plan_config(values, "prod"), "PodMonitor")]
    assert "kimi-k2-nixl" in monitors
    values["observability"] = {"enabled": False}
    assert "kimi-k2-nixl" not in [r.inputs["metadata"]["name"]
                                  for r in by_kind(plan_config(values, "prod"), "PodMonitor")]
    # the chart's own NIXL monitor stays off: it would scrape workers that export nothing
    [operator] = [r for r in plan_stack("prod").resources if r.inputs.get("chart") == "dynamo-platform"]
    assert operator.inputs["values"]["dynamo-operator"]["dynamo"]["metrics"]["podMonitors"]["nixlTelemetry"] is False


# --- Pod Security and the summary ---------------------------------------------------------------------


def pod_security(registry: Registry) -> dict[str, dict[str, str]]:
    return {r.inputs["metadata"]["name"]: {k.rsplit("/", 1)[1]: v for k, v in r.inputs["metadata"]["labels"].items()
                                           if k.startswith("pod-security.kubernetes.io/")}
            for r in by_kind(registry, "Namespace")}


def test_only_namespaces_that_need_privilege_are_privileged() -> None:
    prod, dev = pod_security(plan_stack("prod")), pod_security(plan_stack("dev"))
    assert prod["dynamo"] == {"enforce": "privileged", "warn": "baseline", "audit": "baseline"}  # EFA graphs
    assert dev["dynamo"] == {"enforce": "baseline", "warn": "restricted", "audit": "restricted"}
    for levels in (prod, dev):
        assert levels["dynamo-system"]["enforce"] == "baseline"
        assert levels["monitoring"]["enforce"] == "privileged"  # the node exporter reads the host
    assert namespace_manifest("x", "x")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"  # type: ignore[index]


def test_the_summary_says_how_each_graph_moves_kv_and_why_not_over_rdma() -> None:
    prod = "\n".join(data_path_lines(parse(stack_config("prod"), "prod")))
    assert "- Graph `llama-405b` (vllm, disagg):" in prod
    assert ("  - prefill on `h100-efa`: NIXL over LIBFABRIC (EFA RDMA), RDMA; image "
            "`nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa`; 32 EFA interfaces per pod, privileged, "
            "/dev/shm 80Gi, huge pages 5120Mi per pod;") in prod
    dev = "\n".join(data_path_lines(parse(stack_config("dev"), "dev")))
    assert "none, no RDMA: simulated engine: no KV transfer" in dev


def test_trtllm_engine_configmap_names_nixl_only_on_efa() -> None:
    spec = graph("trtllm", nodes=2, gpus=4)
    efa = engine_configmap(spec, POOLS, "cm", "dynamo")
    assert efa is not None
    assert yaml.safe_load(efa["data"]["decode.yaml"])["cache_transceiver_config"] == {"backend": "NIXL"}
    plain = engine_configmap(graph("trtllm", nodes=2, gpus=4, pool="l40s"), POOLS, "cm", "dynamo")
    assert plain is not None
    assert yaml.safe_load(plain["data"]["decode.yaml"])["cache_transceiver_config"] == {"backend": "DEFAULT"}


def test_group_env_replaces_the_recipe_key_by_key() -> None:
    spec = graph("sglang", nodes=1, gpus=1)
    groups = tuple(replace(g, env={"FI_EFA_FORK_SAFE": "1"}) for g in spec.groups)
    manifest = dgd_manifest(replace(spec, groups=groups), POOLS, WIRING)
    env = env_of(manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0])
    assert env["FI_EFA_FORK_SAFE"] == "1"
    assert env["FI_PROVIDER"] == "efa"
