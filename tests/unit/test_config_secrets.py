"""Secrets anywhere in config stay secret end to end, or are refused where they cannot; credentials
written in plain text are refused wherever they would reach a pod, a manifest or a log."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kit.secret import SecretValue
from stacks.config.credentials import credential_shape
from stacks.config.load import load
from stacks.config.reader import ConfigError
from stacks.config.stack import parse_config
from stacks.config.stackfile import PLACEHOLDER_PREFIX
from stacks.plan.command import render
from tests.harness import ROOT, raw_config, stack_config

API_KEY = ("graphs", 1, "prefill", "env", "VENDOR_API_KEY")


def project(tmp_path: Path, config: dict[str, Any]) -> Path:
    """A project directory with the real Pulumi.yaml and a stack file `Pulumi.test.yaml`."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}))
    return tmp_path


def prod_with(mutate: Any) -> dict[str, Any]:
    values = copy.deepcopy(stack_config("prod"))
    mutate(values)
    return {f"dynamo-cluster:{k}": v for k, v in values.items()}


def problems(values: dict[str, Any], secrets: tuple[str, ...] = ()) -> list[str]:
    """Problems of `values` as the Pulumi runtime hands them over, `secrets` keys marked secret whole."""
    raw, keys = raw_config(values)
    keys |= {f"dynamo-cluster:{key}" for key in secrets}
    with pytest.raises(ConfigError) as error:
        parse_config(raw, keys, "prod")
    return [str(p) for p in error.value.problems]


def test_a_secret_worker_env_entry_reaches_the_pod_through_a_secret_and_nowhere_in_plain_text(
        tmp_path: Path) -> None:
    def mutate(values: dict[str, Any]) -> None:
        values["graphs"][1]["prefill"]["env"] = {"VENDOR_API_KEY": {"secure": "v1:c2VjcmV0"}, "LOG_LEVEL": "info"}

    stack_file, config = load(project(tmp_path, prod_with(mutate)), "test")
    assert stack_file.secret_paths == {"graphs[1].prefill.env.VENDOR_API_KEY"}
    [llama] = [g for g in config.dynamo.graphs if g.name == "llama-405b"]
    [prefill] = [g for g in llama.groups if g.role == "prefill"]
    assert prefill.env.get("LOG_LEVEL") == "info"
    assert "VENDOR_API_KEY" not in prefill.env
    assert isinstance(prefill.secret_env["VENDOR_API_KEY"], SecretValue)

    plan = render(stack_file, config)
    [dgd] = [r for r in plan.registry.resources if r.type.endswith("DynamoGraphDeployment")
             and r.inputs["metadata"]["name"] == "llama-405b"]
    [component] = [c for c in dgd.inputs["spec"]["components"] if c["name"] == "prefill"]
    env = {e["name"]: e for e in component["podTemplate"]["spec"]["containers"][0]["env"]}
    assert env["VENDOR_API_KEY"] == {"name": "VENDOR_API_KEY", "valueFrom": {"secretKeyRef": {
        "name": "llama-405b-prefill-env", "key": "VENDOR_API_KEY"}}}
    [secret] = [r for r in plan.registry.resources if r.type == "kubernetes:core/v1:Secret"
                and r.inputs["metadata"]["name"] == "llama-405b-prefill-env"]
    assert secret.inputs["stringData"] == {"VENDOR_API_KEY": "[secret]"}
    assert secret.urn in dgd.dependencies  # the graph waits for its Secret
    text = "".join(plan.files().values())
    assert PLACEHOLDER_PREFIX not in text
    assert "c2VjcmV0" not in text


@pytest.mark.parametrize(("path", "key"), [
    (("graphs", 1, "model"), "graphs[1].model"),
    (("graphs", 1, "prefill", "extraArgs"), "graphs[1].prefill.extraArgs"),
    (("operator", "repository"), "operator.repository"),
    (("nodePools", 0, "labels", "team"), "nodePools[0].labels"),
])
def test_a_secret_where_it_would_be_written_in_plain_text_is_refused(tmp_path: Path, path: tuple[Any, ...],
                                                                      key: str) -> None:
    def mutate(values: dict[str, Any]) -> None:
        node = values
        for step in path[:-1]:
            node = node.setdefault(step, {}) if isinstance(step, str) else node[step]
        node[path[-1]] = {"secure": "v1:c2VjcmV0"}

    with pytest.raises(ConfigError) as error:
        load(project(tmp_path, prod_with(mutate)), "test")
    found = [str(p) for p in error.value.problems]
    start = f"dynamo-cluster:{key}: holds a value set with `pulumi config set --secret`"
    assert any(p.startswith(start) for p in found), found


def test_without_the_stack_file_a_secret_key_is_secret_whole() -> None:
    # What the Pulumi runtime alone says: `graphs` is secret. Its env values stay secret, and the
    # rest of it is refused with the way out: set only the secret leaves.
    values = stack_config("prod")
    values["graphs"][1]["prefill"]["env"] = {"VENDOR_API_KEY": "not-a-shape"}
    found = problems(values, secrets=("graphs",))
    assert [p for p in found if p.startswith("dynamo-cluster:graphs")] == [
        "dynamo-cluster:graphs: is set as a secret as a whole, so every value in it would be written in plain text "
        "(manifests, Helm values, logs); allowed: plain values, with only the secret ones set as secrets, one by "
        "one: `pulumi config set --secret --path 'dynamo-cluster:graphs[0].prefill.env.NAME' ...`"]


@pytest.mark.parametrize(("value", "shape"), [
    ("hf_" + "a1B2" * 9, "a Hugging Face access token"),
    ("nvapi-" + "Zx9_" * 12, "an NGC API key"),
    ("AKIA" + "ABCDEFGHIJKLMNOP", "an AWS access key id"),
    ("ghp_" + "x" * 36, "a GitHub token"),
    ("https://user:hunter2@charts.example.com/dynamo", "a URL with a password"),
    ("-----BEGIN RSA PRIVATE KEY-----", "a private key"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQ", "a JSON Web Token"),
])
def test_credential_shapes(value: str, shape: str) -> None:
    assert credential_shape(value) == shape
    assert credential_shape(f"--flag={value}") == shape


@pytest.mark.parametrize("value", ["Qwen/Qwen3-0.6B", "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2-efa",
                                   "registry.example/vllm@sha256:" + "a" * 64, "https://helm.ngc.nvidia.com/nvidia",
                                   "oci://registry.example/charts", "hf_transfer", "/models/hub", "sk-learn"])
def test_ordinary_values_are_not_credentials(value: str) -> None:
    assert credential_shape(value) is None


def test_plain_text_credentials_are_refused_where_they_would_reach_pods_or_logs() -> None:
    token = "hf_" + "a1B2" * 9
    values = stack_config("prod")
    values["graphs"][1]["prefill"]["env"] = {"HF_TOKEN": token}
    values["graphs"][1]["decode"]["extraArgs"] = ["--api-key", "nvapi-" + "Zx9_" * 12]
    values["graphs"][0]["prefill"]["engineConfig"] = {"speculative_config": {"token": token}}
    values["operator"] = {**values.get("operator", {}), "repository": "https://ci:hunter2@charts.example.com/x"}
    found = problems(values)
    expected = {
        "dynamo-cluster:graphs[1].prefill.env.HF_TOKEN: looks like a Hugging Face access token",
        "dynamo-cluster:graphs[1].decode.extraArgs[1]: looks like an NGC API key",
        "dynamo-cluster:graphs[0].prefill.engineConfig.speculative_config.token: looks like a Hugging Face",
        "dynamo-cluster:operator.repository: looks like a URL with a password",
    }
    for start in expected:
        assert any(p.startswith(start) for p in found), (start, found)
    [env_problem] = [p for p in found if ".env.HF_TOKEN" in p]
    assert "pulumi config set --secret --path 'dynamo-cluster:graphs[1].prefill.env.HF_TOKEN'" in env_problem
    assert token not in json.dumps(found)  # the message names the key, never the value
