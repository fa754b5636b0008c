"""`python -m stacks plan`, end to end in a subprocess, as `make plan` runs it."""

import json
import subprocess
import sys
from pathlib import Path

import yaml

from stacks.config.stackfile import PLACEHOLDER_PREFIX
from tests.harness import ROOT

EXPECTED = {"resources.json", "releases.yaml", "graph.mmd", "summary.md"}


def plan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks", "plan", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def files(out: Path) -> set[str]:
    return {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


def test_plans_the_dev_stack(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    result = plan("--stack", "dev", "--out", str(out))
    assert result.returncode == 0, result.stderr
    written = files(out)
    assert written >= EXPECTED
    assert any(f.startswith("manifests/") for f in written)
    rows = json.loads((out / "resources.json").read_text())
    assert {r["type"] for r in rows} >= {"pulumi:pulumi:Stack", "pulumi:providers:kubernetes"}
    assert isinstance(yaml.safe_load((out / "releases.yaml").read_text()), list)


def test_plans_any_stack_file_and_names_the_stack_after_it(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.staging.yaml"
    config.write_text(yaml.safe_dump({"config": {
        "dynamo-cluster:environment": "prod",
        "dynamo-cluster:kubeconfig": {"secure": "v1:AAAA"},
    }}))
    out = tmp_path / "out"
    result = plan("--config", str(config), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "plan staging:" in result.stdout
    text = "".join((out / f).read_text() for f in files(out))
    assert "[secret]" in text
    assert PLACEHOLDER_PREFIX not in text
    assert "v1:AAAA" not in text


def test_broken_config_exits_2_lists_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.broken.yaml"
    config.write_text(yaml.safe_dump({"config": {
        "dynamo-cluster:environment": "prod",
        "dynamo-cluster:kubernetes": {"version": 1.33, "kubeconfigPath": "/k"},   # wrong type; no context
        "dynamo-cluster:namespaces": {"platform": "UPPER", "workload": "x"},      # bad label; unknown key
        "dynamo-cluster:allowDataLoss": "sometimes",                              # wrong type
        "dynamo-cluster:etcd": {"replicas": -1},                                  # negative count
    }}))
    out = ROOT / "build" / "plan" / "broken"
    assert not out.exists()
    result = plan("--config", str(config))
    assert result.returncode == 2
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert "plan: invalid stack config (6 problems):" in lines
    for expected in (
        "dynamo-cluster:allowDataLoss: expected true or false, got the string 'sometimes'; allowed: true or false",
        "dynamo-cluster:etcd.replicas: is -1; allowed: 1, 3 or 5 members (an odd size: 3 tolerates one failure, "
        "5 two)",
        "dynamo-cluster:kubernetes.context: is required with kubernetes.kubeconfigPath; allowed: a context name "
        "in that file, so the current-context is never used by accident",
        "dynamo-cluster:kubernetes.version: expected a non-empty string, got the number 1.33; allowed: one of "
        "1.31, 1.32, 1.33, 1.34, 1.35",
        "dynamo-cluster:namespaces.platform: is 'UPPER'; allowed: a DNS label: lower-case letters, digits and "
        "'-', at most 63",
        "dynamo-cluster:namespaces.workload: unknown key (did you mean 'workloads'?); allowed: one of "
        "monitoring, platform, workloads",
    ):
        assert expected in lines
    assert not out.exists()


def test_unreadable_stack_file_exits_2(tmp_path: Path) -> None:
    result = plan("--config", str(tmp_path / "Pulumi.none.yaml"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert not (tmp_path / "o").exists()


def test_help_documents_the_command() -> None:
    result = subprocess.run([sys.executable, "-m", "stacks", "plan", "--help"], cwd=ROOT, capture_output=True,
                            text=True, check=True)
    for word in ("--stack", "--config", "--out", "exit status"):
        assert word in result.stdout


def test_make_plan_names_the_stack_after_the_config_file(tmp_path: Path) -> None:
    """`make plan CONFIG=...` (the README's command) plans that file as its own stack, not as dev."""
    config = tmp_path / "Pulumi.staging.yaml"
    config.write_text((ROOT / "Pulumi.dev.yaml").read_text())
    out = tmp_path / "out"
    result = subprocess.run(["make", "-s", "-C", str(ROOT), "plan", f"CONFIG={config}", f"OUT={out}"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("plan staging:")
    assert "urn:pulumi:staging::" in (out / "resources.json").read_text()


def make_plan(tmp_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """`make plan` with this interpreter, without (re)installing the virtualenv."""
    return subprocess.run(["make", "-s", "-o", ".venv/.installed", "plan", f"PY={sys.executable}",
                           f"CONFIG={config}", f"OUT={tmp_path / 'out'}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_make_plan_names_an_invalid_config_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "Pulumi.bad.yaml"
    config.write_text("config:\n  dynamo-cluster:storageClass: 2024-01-01\n")
    direct = plan("--config", str(config), "--out", str(tmp_path / "out"))
    assert direct.returncode == 2
    assert "Traceback" not in direct.stderr
    made = make_plan(tmp_path, config)
    assert made.returncode == 2
    assert "dynamo-cluster:storageClass: is a YAML date" in made.stderr
    assert "make plan: invalid stack config (exit 2)" in made.stderr
    assert not (tmp_path / "out").exists()


def test_make_plan_tells_a_program_error_from_an_invalid_config(tmp_path: Path) -> None:
    """make exits 2 for any failed recipe; the recipe says which failure it was."""
    config = tmp_path / "Pulumi.dev.yaml"
    config.write_text((ROOT / "Pulumi.dev.yaml").read_text())
    out = tmp_path / "out"
    out.write_text("a file where the plan's directory goes: writing fails, a program error")
    made = make_plan(tmp_path, config)
    assert made.returncode != 0
    assert "make plan: program error (exit 1), not a config problem" in made.stderr
    assert "invalid stack config" not in made.stderr
