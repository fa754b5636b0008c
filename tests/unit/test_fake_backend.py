"""A fifth backend, added in one module (tests/fake_backend.py) and registered, is planned end to end:
config reading, its checks, the graph's command lines, image and EFA recipe, the capacity plan, the
summary, the policy pack and the dashboards all ask its profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.dynamo import backends
from components.dynamo.releases import DEFAULT_RELEASE
from components.observability.dashboards.datapath import datapath_dashboard
from components.observability.observed import Observed
from policy.rules import gpu_limit_problems
from stacks.plan import command as plan
from tests.fake_backend import FAKE
from tests.harness import ROOT

POOL = {"name": "h100", "kind": "eks", "instanceType": "p5.48xlarge", "subnetIds": ["subnet-0abc12345"],
        "availabilityZone": "us-east-1a", "minNodes": 0, "maxNodes": 2, "efa": True}


@pytest.fixture
def fake_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends.BACKENDS, FAKE.name, FAKE)


def stack_file(tmp_path: Path, graph: dict[str, Any]) -> Path:
    config = {"dynamo-cluster:environment": "prod",
              "dynamo-cluster:aws": {"region": "us-east-1", "clusterName": "gpu", "vpcId": "vpc-0abc12345",
                                     "clusterSecurityGroupId": "sg-0abc12345"},
              "dynamo-cluster:kubernetes": {"context": "gpu", "kubeconfigPath": "~/.kube/config"},
              "dynamo-cluster:nodePools": [POOL],
              "dynamo-cluster:graphs": [graph]}
    path = tmp_path / "Pulumi.fake.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


GRAPH = {"name": "fakey", "backend": "fake", "model": "org/fake-7b", "mode": "disagg", "endpoint": {"kind": "cluster"},
         "prefill": {"pool": "h100", "gpusPerNode": 4, "tensorParallel": 4},
         "decode": {"pool": "h100", "gpusPerNode": 4, "tensorParallel": 4}}


@pytest.mark.usefixtures("fake_registered")
def test_the_fifth_backend_is_planned_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan"
    assert plan.run(ROOT, "fake", stack_file(tmp_path, GRAPH), out) == 0, capsys.readouterr().err
    [dgd] = [yaml.safe_load(p.read_text()) for p in (out / "manifests").rglob("*.yaml")
             if "DynamoGraphDeployment" in p.read_text()]
    assert dgd["spec"]["backendFramework"] == "fake"
    workers = {c["name"]: c["podTemplate"]["spec"]["containers"][0] for c in dgd["spec"]["components"]}
    prefill = workers["prefill"]
    assert prefill["image"] == f"nvcr.io/nvidia/ai-dynamo/fake-runtime:{DEFAULT_RELEASE.efa_image_tag}"
    line = prefill["args"][0]  # the EFA recipe's library-path wrapper
    assert "exec python3 -m dynamo.fake --weights org/fake-7b --name org/fake-7b --shards 4 --role prefill " \
           "--emit-kv-events" in line
    env = {e["name"]: e.get("value") for e in prefill["env"]}
    assert env["FAKE_NIXL_BACKEND"] == "LIBFABRIC"
    assert prefill["resources"]["limits"]["nvidia.com/gpu"] == "4"
    summary = (out / "summary.md").read_text()
    assert "Graph `fakey` (fake, disagg)" in summary
    assert "NIXL over LIBFABRIC (EFA RDMA)" in summary
    # the policy pack asks the profile which frameworks need GPUs
    assert gpu_limit_problems("kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment", dgd) == []
    no_gpu = json.loads(json.dumps(dgd))
    for component in no_gpu["spec"]["components"]:
        pod = component["podTemplate"]["spec"]
        pod["containers"][0]["resources"]["limits"].pop("nvidia.com/gpu", None)
        for placement in ("tolerations", "nodeSelector", "affinity"):  # only the backend's rule is left
            pod.pop(placement, None)
    assert any("fake prefill" in p for p in gpu_limit_problems(
        "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment", no_gpu))


@pytest.mark.usefixtures("fake_registered")
def test_the_fifth_backends_own_checks_reach_the_config_errors(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    odd = {**GRAPH, "prefill": {"pool": "h100", "gpusPerNode": 3, "tensorParallel": 3}}
    assert plan.run(ROOT, "fake", stack_file(tmp_path, odd), tmp_path / "plan") == 2
    assert "graphs[0].prefill.tensorParallel: is 3; allowed: an even number for FakeLLM" in capsys.readouterr().err


@pytest.mark.usefixtures("fake_registered")
def test_the_fifth_backends_transfer_metrics_reach_the_dashboards() -> None:
    observed = Observed(platform_namespace="dynamo-system", gpu_pool_label="dynamo-cluster/pool",
                        kv_transfer_graphs=("fakey",))
    text = json.dumps(datapath_dashboard(observed).to_json())
    assert "FakeLLM KV hand-over time" in text
    assert "fake_kv_bytes_sum" in text


def test_unregistered_it_is_an_unknown_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.run(ROOT, "fake", stack_file(tmp_path, GRAPH), tmp_path / "plan") == 2
    assert "graphs[0].backend: is 'fake'; allowed: one of vllm, sglang, trtllm, mocker" in capsys.readouterr().err
