"""One download per model, as pure builders: which graphs share a Job, the Job, the script it runs,
the init container pods wait in, and what the DGD builder makes of them; the engines' loader flags."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.dynamo.commands import worker_args
from components.dynamo.dgd import GraphWiring, dgd_manifest
from components.storage import hf_download
from components.storage.downloads import (
    DOWNLOAD_LABEL,
    SCRIPT_KEY,
    DownloadSettings,
    ModelRef,
    download_job,
    download_network_policy,
    download_plans,
    is_repo_id,
    job_name,
    marker_path,
    model_ref,
    script_configmap,
    snapshot_path,
    wait_init_container,
)
from tests.graph_fixtures import POOLS, engine_args, graph, group_of
from tests.harness import schema_problems

SETTINGS = DownloadSettings(exclude=("original/*",))
WIRING = GraphWiring(namespace="dynamo", hf_token_secret="hf-token", model_cache_claim="model-cache",
                     model_wait_seconds=3600)


def test_graphs_of_one_model_and_revision_share_one_plan_and_paths_need_none() -> None:
    a = replace(graph("vllm", name="a"), model="org/big", model_size_gib=700)
    b = replace(graph("sglang", name="b"), model="org/big")
    c = replace(graph("vllm", name="c"), model="org/big", model_revision="f" * 40)
    local = replace(graph("vllm", name="local"), model="/models/s3/big")
    uncached = replace(graph("vllm", name="uncached"), model="org/other", use_model_cache=False)
    plans = download_plans([a, b, c, local, uncached])
    assert [(str(p.ref), p.graphs, p.size_gib) for p in plans] == [
        ("org/big@main", ("a", "b"), 700), (f"org/big@{'f' * 40}", ("c",), None)]
    assert model_ref(local) is None
    assert model_ref(uncached) is None


@pytest.mark.parametrize(("model", "repo"), [("Qwen/Qwen3-0.6B", True), ("gpt2", True), ("/models/x", False),
                                             ("s3://bucket/x", False), ("org/name/extra", False)])
def test_repository_ids_and_paths(model: str, repo: bool) -> None:
    assert is_repo_id(model) is repo


def test_a_changed_model_or_revision_is_another_job_named_after_both() -> None:
    main = ModelRef("meta-llama/Llama-3.1-405B-Instruct", "main")
    pinned = ModelRef("meta-llama/Llama-3.1-405B-Instruct", "a" * 40)
    assert job_name(main).startswith("model-llama-3-1-405b-instruct-")
    assert job_name(main) != job_name(pinned)
    assert job_name(main) != job_name(ModelRef("meta-llama/Llama-3.1-70B-Instruct", "main"))
    long = ModelRef("org/" + "x" * 100, "main")
    assert len(job_name(long)) <= 52
    assert job_name(long) == job_name(long)  # stable: Pulumi sees the same Job on every run


def test_the_job_downloads_once_with_the_token_from_its_secret() -> None:
    [plan] = download_plans([graph("vllm")])
    job = download_job(plan, SETTINGS, namespace="dynamo", claim="model-cache", mount_path="/models",
                       script_configmap_name="model-download-script", token_secret="hf-token", token_key="HF_TOKEN")
    assert schema_problems([job], "1.33") == []
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["podReplacementPolicy"]) == (6, 14400, "Failed")
    assert job["metadata"]["labels"][DOWNLOAD_LABEL] == plan.ref.digest
    assert job["metadata"]["annotations"]["pulumi.com/replaceUnready"] == "true"
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert "tolerations" not in pod
    assert "nodeSelector" not in pod
    [container] = pod["containers"]
    assert container["image"].startswith("python:3.12.12-slim-bookworm@sha256:")
    assert container["command"] == ["python3", f"/opt/dynamo-cluster/{SCRIPT_KEY}"]
    assert container["args"] == ["--repo", "Qwen/Qwen3-0.6B", "--revision", "main", "--cache", "/models",
                                 "--workers", "8", "--termination-log", "/dev/termination-log",
                                 "--exclude", "original/*"]
    # the token by reference, never as a literal
    assert container["env"][0] == {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-token",
                                                                                      "key": "HF_TOKEN"}}}
    assert all("value" not in e for e in container["env"] if e["name"] == "HF_TOKEN")
    assert pod["volumes"][0] == {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
    assert container["volumeMounts"][0] == {"name": "model-cache", "mountPath": "/models"}


def test_without_a_token_the_job_downloads_anonymously() -> None:
    [plan] = download_plans([graph("vllm")])
    job = download_job(plan, SETTINGS, namespace="dynamo", claim="c", mount_path="/m", script_configmap_name="s",
                       token_secret=None, token_key="HF_TOKEN")
    assert [e["name"] for e in job["spec"]["template"]["spec"]["containers"][0]["env"]] == [
        "PYTHONUNBUFFERED", "HOME", "TMPDIR"]


@pytest.mark.parametrize("mount", ["/models", "/cache/"])
def test_the_builders_know_the_layout_the_script_writes(mount: str) -> None:
    ref = ModelRef("org/model", "main")
    assert marker_path(mount, ref) == hf_download.marker_path(mount, "org/model", "main")
    assert snapshot_path(mount, "org/model", "a" * 40) == hf_download.snapshot_path(mount, "org/model", "a" * 40)
    assert "components.storage.hf_download" not in model_download_imports()


def model_download_imports() -> set[str]:
    import ast
    import inspect

    from components.storage import downloads as model_download

    tree = ast.parse(inspect.getsource(model_download))
    return {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        f"{n.module}.{a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}


def test_the_configmap_ships_the_script_itself() -> None:
    configmap = script_configmap("model-download-script", "dynamo")
    assert schema_problems([configmap], "1.33") == []
    assert "def download(settings: Settings" in configmap["data"][SCRIPT_KEY]


def test_every_pod_of_a_graph_waits_for_its_model_and_loads_offline() -> None:
    spec = graph("vllm", nodes=2, gpus=4)
    manifest = dgd_manifest(spec, POOLS, WIRING)
    env = {e["name"]: e.get("value") for e in manifest["spec"]["env"]}
    assert (env["HF_HOME"], env["HF_HUB_OFFLINE"]) == ("/models", "1")
    ref = ModelRef("Qwen/Qwen3-0.6B", "main")
    for component in manifest["spec"]["components"]:
        pod = component["podTemplate"]["spec"]
        [wait] = pod["initContainers"]
        assert wait == wait_init_container(ref, image=pod["containers"][0]["image"], mount_path="/models",
                                           volume="model-cache", wait_seconds=3600)
        assert {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}} in pod["volumes"]


def test_without_download_jobs_pods_neither_wait_nor_go_offline() -> None:
    manifest = dgd_manifest(graph("vllm"), POOLS, replace(WIRING, model_wait_seconds=None))
    assert all("initContainers" not in c["podTemplate"]["spec"] for c in manifest["spec"]["components"])
    assert "HF_HUB_OFFLINE" not in {e["name"] for e in manifest["spec"]["env"]}


def test_a_graph_whose_model_is_a_path_does_not_wait() -> None:
    manifest = dgd_manifest(replace(graph("vllm"), model="/models/s3/qwen"), POOLS, WIRING)
    assert all("initContainers" not in c["podTemplate"]["spec"] for c in manifest["spec"]["components"])


def run_wait(tmp_path: Any, *, marker: bool, wait_seconds: int) -> subprocess.CompletedProcess[str]:
    ref = ModelRef("org/model", "main")
    container = wait_init_container(ref, image="x", mount_path=str(tmp_path), volume="v", wait_seconds=wait_seconds)
    if marker:
        path = tmp_path / marker_path(str(tmp_path), ref).removeprefix(str(tmp_path) + "/")
        path.parent.mkdir(parents=True)
        path.write_text("{}")
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e} | {"POD_NAMESPACE": "dynamo"}
    return subprocess.run(container["command"], env=env, capture_output=True, text=True, timeout=30, check=False)


def test_the_init_container_returns_once_the_marker_is_there(tmp_path: Any) -> None:
    result = run_wait(tmp_path, marker=True, wait_seconds=60)
    assert result.returncode == 0
    assert result.stdout.strip().startswith("model org/model (revision main) is in the cache")


def test_the_init_container_gives_up_naming_the_job(tmp_path: Any) -> None:
    result = run_wait(tmp_path, marker=False, wait_seconds=0)
    assert result.returncode == 1
    job = job_name(ModelRef("org/model", "main"))
    assert result.stderr.strip() == (f"model org/model (revision main) is not in the cache after 0s: its download Job "
                                     f"{job} has not finished; see kubectl -n dynamo logs job/{job}")


def test_a_pinned_commit_is_handed_to_the_engines_as_its_cache_path() -> None:
    snapshot = "/models/hub/models--Qwen--Qwen3-0.6B/snapshots/" + "a" * 40
    spec = replace(graph("vllm", mode="agg", nodes=1, gpus=1), model_revision="a" * 40, model_source=snapshot)
    args = worker_args(spec, group_of(spec, "worker"))
    assert args[:4] == ["--model", snapshot, "--served-model-name", "Qwen/Qwen3-0.6B"]
    sglang = replace(graph("sglang"), model_source=snapshot)
    assert worker_args(sglang, group_of(sglang, "prefill"))[:2] == ["--model-path", snapshot]


def test_the_streaming_loader_is_vllms_own_flag() -> None:
    spec = replace(graph("vllm", nodes=2, gpus=4), load_format="runai_streamer", loader_concurrency=16)
    container: dict[str, Any] = {"command": ["python3", "-m", "dynamo.vllm"],
                                 "args": worker_args(spec, group_of(spec, "prefill"))}
    args = engine_args(container)
    assert args[args.index("--load-format") + 1] == "runai_streamer"
    assert json.loads(args[args.index("--model-loader-extra-config") + 1]) == {"concurrency": 16}
    assert "--load-format" not in worker_args(graph("vllm"), group_of(graph("vllm"), "prefill"))


def test_the_download_runs_unprivileged_and_only_the_ownership_step_is_root() -> None:
    [plan] = download_plans([graph("vllm")])
    job = download_job(plan, SETTINGS, namespace="dynamo", claim="c", mount_path="/models", script_configmap_name="s",
                       token_secret="hf-token", token_key="HF_TOKEN")
    assert schema_problems([job], "1.33") == []
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"] == {"runAsUser": 10001, "runAsGroup": 10001, "runAsNonRoot": True, "fsGroup": 10001,
                                      "fsGroupChangePolicy": "OnRootMismatch",
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    [container] = pod["containers"]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert {"name": "scratch", "mountPath": "/tmp"} in container["volumeMounts"]
    [own] = pod["initContainers"]
    assert own["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert own["securityContext"]["readOnlyRootFilesystem"] is True
    assert own["securityContext"]["allowPrivilegeEscalation"] is False
    # it owns exactly what the script writes: the model's directory and the markers' directory
    assert own["command"][4:] == ["/models/hub/models--Qwen--Qwen3-0.6B",
                                  "/models/dynamo-cluster/downloads/Qwen--Qwen3-0.6B", "10001:10001"]
    assert hf_download.marker_path("/models", "Qwen/Qwen3-0.6B", "main").startswith(own["command"][5] + "/")
    assert hf_download.snapshot_path("/models", "Qwen/Qwen3-0.6B", "a" * 40).startswith(own["command"][4] + "/")
    without = download_job(plan, SETTINGS, namespace="dynamo", claim="c", mount_path="/models",
                           script_configmap_name="s", token_secret=None, token_key="HF_TOKEN", own_dirs=False)
    assert "initContainers" not in without["spec"]["template"]["spec"]


def test_the_ownership_step_really_hands_the_directories_over(tmp_path: Path) -> None:
    """The init container's command, run here: it creates both directories and would hand them to the
    download's user (chown is replaced by a recorder: the test may not run as root)."""
    [plan] = download_plans([graph("vllm")])
    job = download_job(plan, SETTINGS, namespace="dynamo", claim="c", mount_path=str(tmp_path),
                       script_configmap_name="s", token_secret=None, token_key="HF_TOKEN")
    command = job["spec"]["template"]["spec"]["initContainers"][0]["command"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "chown").write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/chown.log\n')
    (bin_dir / "chown").chmod(0o755)
    done = subprocess.run(command, env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    model, markers = command[4], command[5]
    assert Path(model).is_dir()
    assert Path(markers).is_dir()
    assert (tmp_path / "chown.log").read_text().splitlines() == [f"-R 10001:10001 {model}", f"10001:10001 {markers}"]


def test_download_pods_reach_only_dns_and_https_and_nothing_reaches_them() -> None:
    policy = download_network_policy("model-downloads", "dynamo")
    assert schema_problems([policy], "1.33") == []
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchExpressions": [{"key": DOWNLOAD_LABEL, "operator": "Exists"}]}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == []
    ports = [p for rule in spec["egress"] for p in rule["ports"]]
    assert ports == [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}, {"protocol": "TCP", "port": 443}]
    assert spec["egress"][1]["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]
