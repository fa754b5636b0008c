"""`python -m stacks preflight`, as a user runs it."""

import subprocess
import sys

from tests.harness import ROOT


def preflight(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks", "preflight", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


def test_dev_has_nothing_to_check_on_aws() -> None:
    result = preflight("--stack", "dev", "--aws")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ("preflight dev:\nPASS  aws: the stack has no eks node pools; nothing to check\n"
                             "1 checks, 0 failed\n")


def test_a_kind_of_check_must_be_chosen() -> None:
    result = preflight("--stack", "dev")
    assert result.returncode == 2
    assert result.stderr == "preflight: choose what to check: --aws\n"


def test_help_documents_the_exit_codes() -> None:
    result = preflight("--help")
    assert result.returncode == 0
    assert "exit status: 0 every check passed, 1 a check failed, 2 invalid config" in " ".join(result.stdout.split())
