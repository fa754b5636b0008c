"""The check report: one line per check, the fix under each failure, exit 0 only when all passed."""

from stacks.preflight.report import CheckResult, exit_code, render


def test_report_lines_and_exit_codes() -> None:
    results = [CheckResult.passed("eks cluster c", "ACTIVE, Kubernetes 1.33"),
               CheckResult.failed("pool a subnet s", "does not exist", "use another subnet")]
    assert render("preflight prod:", results) == (
        "preflight prod:\n"
        "PASS  eks cluster c: ACTIVE, Kubernetes 1.33\n"
        "FAIL  pool a subnet s: does not exist\n"
        "      fix: use another subnet\n"
        "2 checks, 1 failed\n")
    assert exit_code(results) == 1
    assert exit_code(results[:1]) == 0


def test_no_checks_is_not_a_pass() -> None:
    assert render("t", []) == "t\nno checks ran\n"
    assert exit_code([]) == 1
