"""`python -m stacks preflight`, as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT


def preflight(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks", "preflight", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def test_dev_has_nothing_to_check_on_aws() -> None:
    result = preflight("--stack", "dev", "--aws", "--no-cluster")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("preflight dev\naws (no region): passed\n  ok        aws  the stack has no eks node "
                             "pools, no model cache on AWS and no load balancer endpoint; nothing to check\n"
                             "1 check: 1 ok; result: passed (exit 0)\n")


def test_a_kind_of_check_must_be_chosen() -> None:
    result = preflight("--stack", "dev", "--no-cluster")
    assert result.returncode == 2
    assert result.stderr == "preflight: choose what to check: drop --no-cluster, or add --aws\n"


def test_the_cluster_is_checked_by_default_at_the_stacks_kubeconfig(tmp_path: Path) -> None:
    result = preflight("--stack", "dev", env={**os.environ, "HOME": str(tmp_path),
                                              "KUBECONFIG": str(tmp_path / "ambient")})
    assert result.returncode == 1, result.stderr
    assert result.stdout == (
        "preflight dev\n"
        "cluster (context kind-dynamo of kubeconfig ~/.kube/config): failed\n"
        "  FAIL      kubernetes api  kubeconfig ~/.kube/config does not exist\n"
        "                            fix: set dynamo-cluster:kubernetes.kubeconfigPath and kubernetes.context to a "
        "kubeconfig file and a context in it, or the secret dynamo-cluster:kubeconfig\n"
        "1 check: 0 ok, 1 failed; result: failed (exit 1)\n")


def test_the_report_as_json() -> None:
    import json

    result = preflight("--stack", "dev", "--aws", "--no-cluster", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["status"], document["exit"]) == ("ok", 0)
    assert document["sections"][0]["findings"][0]["check"] == "aws"


def test_help_documents_the_exit_codes() -> None:
    result = preflight("--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "exit status: 0 every check passed, 1 a check failed, 2 invalid config" in text
    assert "--no-cluster skip the cluster checks" in text
    assert "never the ambient KUBECONFIG" in text
