"""The one report of preflight, verify and open: findings in sections, as text or JSON, and the exit
status each command derives from them."""

import json

from stacks.ops.report import PREFLIGHT_WORDS, VERIFY_WORDS, Finding, Report, Section, Status


def test_a_preflight_report_passes_only_when_every_check_passed() -> None:
    results = [Finding.passed("eks cluster c", "ACTIVE, Kubernetes 1.33"),
               Finding.failed("pool a subnet s", "does not exist", "use another subnet")]
    report = Report("preflight prod", [Section("aws (us-east-1)", results)], policy="any-problem-fails",
                    summaries=PREFLIGHT_WORDS)
    assert report.text() == (
        "preflight prod\n"
        "aws (us-east-1): failed\n"
        "  ok        eks cluster c    ACTIVE, Kubernetes 1.33\n"
        "  FAIL      pool a subnet s  does not exist\n"
        "                             fix: use another subnet\n"
        "2 checks: 1 ok, 1 failed; result: failed (exit 1)\n")
    assert report.exit_code == 1
    assert Report("p", [Section("s", results[:1])], policy="any-problem-fails").exit_code == 0


def test_no_checks_is_not_a_pass() -> None:
    report = Report("t", [], policy="any-problem-fails", summaries=PREFLIGHT_WORDS)
    assert report.text() == "t\nno checks ran (exit 1)\n"
    assert report.exit_code == 1


def test_verify_exits_with_the_gravest_status_and_says_the_cause() -> None:
    sections = [Section("NATS nats://x:4222", [Finding("cluster", Status.DEGRADED, "2 of 3", cause="a server is down"),
                                             Finding("reachability", Status.OK, "connected")]),
                Section("etcd", note="not deployed (discovery is kubernetes)")]
    report = Report("verify", sections, summaries=VERIFY_WORDS)
    assert report.exit_code == 1
    assert report.text().splitlines() == [
        "verify",
        "NATS nats://x:4222: degraded but serving",
        "  DEGRADED  cluster       2 of 3",
        "                          likely cause: a server is down",
        "  ok        reachability  connected",
        "etcd: not deployed (discovery is kubernetes)",
        "2 checks: 1 ok, 1 degraded; result: degraded but serving (exit 1)"]
    down = Report("verify", [Section("x", [Finding.failed("probe", "no answer")])], summaries=VERIFY_WORDS)
    assert down.exit_code == 2


def test_the_json_form_carries_the_same_findings_and_exit_status() -> None:
    report = Report("preflight dev", [Section("cluster", [Finding.failed("storage", "no default class", "add one")])],
                    policy="any-problem-fails", summaries=PREFLIGHT_WORDS)
    document = json.loads(report.render(as_json=True))
    assert document == {"title": "preflight dev", "status": "failed", "exit": 1, "sections": [
        {"title": "cluster", "status": "failed",
         "findings": [{"check": "storage", "status": "failed", "detail": "no default class", "fix": "add one"}]}]}
