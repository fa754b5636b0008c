"""The GitHub Actions workflows and the composite action they share.

Generic correctness is actionlint's (with shellcheck on every script). What is checked here is this
project's own: pins (every third-party action at a full commit SHA or an exact release tag),
references (scripts, make targets, local actions and paths exist in the repository), timeouts, and
the delivery rules: pull requests never change a stack, prod changes only in the protected `prod`
environment, destroy is manual.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / ".github" / "actions"
PULUMI_ACTION = "pulumi/actions"
STACKS = ["dev", "prod"]
CHANGING_COMMANDS = {"up", "update", "destroy", "refresh"}
PINNED_REF = re.compile(r"^[0-9a-f]{40}$|^v\d+\.\d+\.\d+$")
CONTROL_TOKENS = {";", "&&", "||", "|", "&", "(", ")", "then", "do", "else", "elif", "if", "while", "!", "{"}
INTERPRETERS = {"bash", "sh", "python", "python3", "source", "."}


# --- reading workflows -------------------------------------------------------------------------


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def action_files() -> list[Path]:
    return sorted([*ACTIONS.glob("*/action.yml"), *ACTIONS.glob("*/action.yaml")])


def triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """The `on:` block as a mapping (YAML 1.1 reads the bare key `on` as the boolean true)."""
    on = workflow["on"] if "on" in workflow else workflow.get(True)
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), "a workflow needs an `on:` block"
    return on


def steps(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(job id or "action", step) for every step of a workflow or a composite action."""
    if "jobs" in document:
        for job_id, job in document["jobs"].items():
            for step in job.get("steps", []):
                yield job_id, step
    else:
        yield from (("action", step) for step in document["runs"]["steps"])


def all_steps() -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    for path in [*workflow_files(), *action_files()]:
        for job_id, step in steps(load(path)):
            yield path, job_id, step


def action_name(step: Mapping[str, Any]) -> str:
    return str(step.get("uses", "")).split("@", 1)[0]


def pulumi_commands(job: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(command, stack-name) of every pulumi/actions step of a job that runs a command."""
    out = []
    for step in job.get("steps", []):
        if action_name(step) == PULUMI_ACTION and "command" in step.get("with", {}):
            out.append((str(step["with"]["command"]), str(step["with"].get("stack-name", ""))))
    return out


def environment_name(job: Mapping[str, Any]) -> str | None:
    environment = job.get("environment")
    if isinstance(environment, Mapping):
        return str(environment.get("name"))
    return None if environment is None else str(environment)


# --- what a step references --------------------------------------------------------------------


def pin_problem(uses: str) -> str | None:
    """Why a `uses:` reference is not pinned, or None."""
    if uses.startswith("./"):
        return None
    if uses.startswith("docker://"):
        return None if "@sha256:" in uses else "a docker image without a digest"
    name, _, ref = uses.partition("@")
    if not ref or "/" not in name:
        return "no ref"
    if not PINNED_REF.match(ref):
        return f"ref {ref!r} is neither a 40-hex commit SHA nor an exact vX.Y.Z tag"
    return None


def shell_references(script: str) -> tuple[set[str], set[str]]:
    """(scripts run by path, make targets) in a `run:` script."""
    scripts: set[str] = set()
    targets: set[str] = set()
    for line in script.splitlines():
        line = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", line)  # noqa: PLW2901 (a GitHub expression is one word)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()!")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        command_position = True
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if token in CONTROL_TOKENS:
                command_position = True
            elif command_position:
                command_position = False
                if token == "make":
                    while index + 1 < len(tokens) and tokens[index + 1] not in CONTROL_TOKENS:
                        index += 1
                        if not tokens[index].startswith("-") and "=" not in tokens[index]:
                            targets.add(tokens[index])
                elif token in INTERPRETERS and index + 1 < len(tokens):
                    index += 1
                    if "/" in tokens[index] and not tokens[index].startswith(("$", "-")):
                        scripts.add(tokens[index])
                elif "/" in token and not token.startswith("$"):
                    scripts.add(token)
            index += 1
    return scripts, targets


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", text, flags=re.MULTILINE))


def input_paths(step: Mapping[str, Any]) -> set[str]:
    """Repository paths a step hands an action: policy packs, work dirs, cache keys."""
    given = step.get("with", {})
    paths: set[str] = set()
    for key in ("policyPacks", "work-dir", "cache-dependency-path"):
        if key in given:
            paths |= {line.strip() for line in str(given[key]).splitlines() if line.strip()}
    return paths


def test_pin_problem() -> None:
    assert pin_problem("actions/checkout@1af3b93b6815bc44a9784bd300feb67ff0d1eeb3") is None
    assert pin_problem("pulumi/actions@v7.0.0") is None
    assert pin_problem("./.github/actions/stack-setup") is None
    assert pin_problem("actions/checkout@v6") is not None
    assert pin_problem("actions/checkout@main") is not None
    assert pin_problem("actions/checkout@1af3b93") is not None
    assert pin_problem("actions/checkout") is not None
    assert pin_problem("docker://alpine:3.20") is not None


def test_shell_references() -> None:
    script = "bash .ci/run\nmake venv policy-venv && ./tools/x.sh --flag\nmake plan STACK=${{ matrix.stack }}\n" \
             'if [ "$REF" != "refs/heads/main" ]; then echo "::error::a/b"; fi\n.ci/stack-kubeconfig "$STACK"'
    assert shell_references(script) == ({".ci/run", "./tools/x.sh", ".ci/stack-kubeconfig"},
                                         {"venv", "policy-venv", "plan"})


# --- shape ---------------------------------------------------------------------------------------


def test_there_are_the_three_delivery_workflows() -> None:
    assert [p.name for p in workflow_files()] == ["deploy.yml", "destroy.yml", "pull-request.yml"]


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    """actionlint (from the dev requirements) on `paths`, with shellcheck on every `run:` script."""
    bin_dir = Path(sys.executable).parent
    return subprocess.run([str(bin_dir / "actionlint"), "-no-color", "-oneline",
                           f"-shellcheck={bin_dir / 'shellcheck'}",
                           "-pyflakes=", *map(str, paths)], cwd=ROOT, capture_output=True, text=True, check=False,
                          timeout=120)


def test_actionlint_finds_nothing() -> None:
    result = actionlint(*workflow_files())
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_actionlint_would_find_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a job without a runner, a step needing an unknown job, a bad script."""
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    needs: [nope]\n    steps:\n      - run: echo $1\n")
    result = actionlint(broken)
    assert result.returncode == 1
    assert '"runs-on" section is missing in job "a"' in result.stdout
    assert 'job "a" needs job "nope" which does not exist' in result.stdout


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_every_job_has_a_timeout(path: Path) -> None:
    for job_id, job in load(path)["jobs"].items():
        assert job.get("timeout-minutes"), f"{path.name}: job {job_id} has no timeout"


@pytest.mark.parametrize("path", action_files(), ids=lambda p: p.parent.name)
def test_composite_action_run_steps_name_their_shell(path: Path) -> None:
    action = load(path)
    assert action["runs"]["using"] == "composite"
    for _, step in steps(action):
        if "run" in step:
            assert step.get("shell") == "bash", "a composite action's run step must name its shell"


# --- pins and references -------------------------------------------------------------------------


def test_every_action_is_pinned() -> None:
    problems = {f"{path.relative_to(ROOT)}:{job}: {step['uses']}": problem
                for path, job, step in all_steps()
                if "uses" in step and (problem := pin_problem(str(step["uses"])))}
    assert problems == {}


def test_sha_pins_name_their_release() -> None:
    """A SHA says nothing to a reader: the line carries the release it is, as `# vX.Y.Z`."""
    for path in [*workflow_files(), *action_files()]:
        for line in path.read_text().splitlines():
            match = re.search(r"uses:\s*\S+@([0-9a-f]{40})(.*)$", line)
            if match:
                assert re.search(r"#\s*v\d+\.\d+\.\d+\s*$", match.group(2)), f"{path.name}: {line.strip()}"


def test_the_same_action_is_pinned_to_one_version_everywhere() -> None:
    pins: dict[str, set[str]] = {}
    for _, _, step in all_steps():
        uses = str(step.get("uses", ""))
        if "@" in uses:
            name, ref = uses.split("@", 1)
            pins.setdefault(name, set()).add(ref)
    assert {name: refs for name, refs in pins.items() if len(refs) > 1} == {}


def test_referenced_scripts_targets_actions_and_paths_exist() -> None:
    targets = makefile_targets()
    missing: list[str] = []
    for path, job, step in all_steps():
        where = f"{path.relative_to(ROOT)}:{job}"
        if "run" in step:
            scripts, make_targets = shell_references(str(step["run"]))
            missing += [f"{where}: script {s}" for s in scripts if not (ROOT / s).is_file()]
            missing += [f"{where}: script {s} is not executable" for s in scripts
                        if (ROOT / s).is_file() and step["run"].lstrip().startswith(s)
                        and not os.access(ROOT / s, os.X_OK)]
            missing += [f"{where}: make target {t}" for t in make_targets if t not in targets]
        uses = str(step.get("uses", ""))
        if uses.startswith("./") and not ((ROOT / uses / "action.yml").is_file() or
                                          (ROOT / uses / "action.yaml").is_file()):
            missing.append(f"{where}: local action {uses}")
        missing += [f"{where}: path {p}" for p in input_paths(step) if not (ROOT / p).exists()]
    assert missing == []


def test_the_policy_pack_the_workflows_name_is_a_pack() -> None:
    packs = {p for _, _, step in all_steps() for p in input_paths(step) if "policyPacks" in step.get("with", {})}
    assert packs == {"policy"}
    for name in ("PulumiPolicy.yaml", "__main__.py", "requirements.txt"):
        assert (ROOT / "policy" / name).is_file()


def test_ci_scripts_are_executable() -> None:
    for script in (ROOT / ".ci").iterdir():
        assert script.stat().st_mode & stat.S_IXUSR, f"{script.name} is not executable"


# --- delivery rules ------------------------------------------------------------------------------


def workflows_triggered_by(*events: str) -> list[tuple[Path, dict[str, Any]]]:
    return [(p, w) for p in workflow_files() if set(triggers(w := load(p))) & set(events)]


def test_pull_request_workflows_never_change_a_stack() -> None:
    pr_workflows = workflows_triggered_by("pull_request", "pull_request_target")
    assert pr_workflows
    for path, workflow in pr_workflows:
        assert "pull_request_target" not in triggers(workflow), "pull_request_target runs forks with secrets"
        for job_id, job in workflow["jobs"].items():
            commands = {command for command, _ in pulumi_commands(job)}
            assert not commands & CHANGING_COMMANDS, f"{path.name}: {job_id} runs {commands}"
            for step in job["steps"]:
                assert not re.search(r"\bpulumi\s+(up|update|destroy|refresh|import|state|cancel)\b",
                                     str(step.get("run", ""))), f"{path.name}: {job_id} changes a stack"


def test_pull_requests_get_tests_plans_and_previews_of_each_stack() -> None:
    (_, workflow), = workflows_triggered_by("pull_request")
    jobs = workflow["jobs"]
    assert any("bash .ci/run" in str(step.get("run")) for job in jobs.values() for step in job["steps"])
    plan = next(job for job in jobs.values() if any("make plan" in str(s.get("run")) for s in job["steps"]))
    assert plan["strategy"]["matrix"]["stack"] == STACKS
    assert any("STACK=${{ matrix.stack }}" in str(s.get("run")) for s in plan["steps"])
    upload = next(s for s in plan["steps"] if action_name(s) == "actions/upload-artifact")
    assert upload["with"]["path"].startswith("build/plan/${{ matrix.stack }}")
    preview = next(job for job in jobs.values() if pulumi_commands(job))
    assert preview["strategy"]["matrix"]["stack"] == STACKS
    assert pulumi_commands(preview) == [("preview", "${{ matrix.stack }}")]
    step = next(s for s in preview["steps"] if action_name(s) == PULUMI_ACTION and "command" in s["with"])
    assert step["with"]["comment-on-pr"] is True
    assert step["with"]["policyPacks"] == "policy"
    assert preview["permissions"]["pull-requests"] == "write"
    # previews run in unprotected environments holding read-only credentials
    assert environment_name(preview) == "${{ matrix.stack }}-preview"
    setup = next(s for s in preview["steps"] if str(s.get("uses", "")).startswith("./"))
    assert setup["with"]["aws-role-arn"] == "${{ vars.AWS_PREVIEW_ROLE_ARN }}"


def test_merges_deploy_dev_then_prod_behind_the_prod_environment() -> None:
    (_, workflow), = workflows_triggered_by("push")
    assert triggers(workflow)["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    ups = {job_id: pulumi_commands(job) for job_id, job in jobs.items() if pulumi_commands(job)}
    assert sorted(ups.values()) == [[("up", "dev")], [("up", "prod")]]
    dev = next(j for j, commands in ups.items() if commands == [("up", "dev")])
    prod = next(j for j, commands in ups.items() if commands == [("up", "prod")])
    assert environment_name(jobs[dev]) == "dev"
    assert environment_name(jobs[prod]) == "prod"
    assert dev in ([jobs[prod]["needs"]] if isinstance(jobs[prod]["needs"], str) else jobs[prod]["needs"])
    for job_id in (dev, prod):
        step = next(s for s in jobs[job_id]["steps"] if action_name(s) == PULUMI_ACTION and "command" in s["with"])
        assert step["with"]["policyPacks"] == "policy"


def test_stacks_change_only_in_their_own_environment() -> None:
    """Every up or destroy runs in the GitHub environment named after its stack, so prod's required
    reviewers gate every change to prod."""
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            for command, stack in pulumi_commands(job):
                if command in CHANGING_COMMANDS:
                    assert environment_name(job) == stack, f"{path.name}: {job_id} {command} {stack}"
                    concurrency = job.get("concurrency", {})
                    assert concurrency.get("cancel-in-progress") is False, f"{path.name}: {job_id}"
                    assert concurrency.get("group") == f"pulumi-{stack}", f"{path.name}: {job_id}"


def test_destroy_is_manual_with_a_stack_choice_and_a_typed_confirmation() -> None:
    workflow = load(WORKFLOWS / "destroy.yml")
    assert set(triggers(workflow)) == {"workflow_dispatch"}
    inputs = triggers(workflow)["workflow_dispatch"]["inputs"]
    assert inputs["stack"]["type"] == "choice"
    assert inputs["stack"]["options"] == STACKS
    assert inputs["confirm"]["type"] == "string"
    assert inputs["confirm"]["required"] is True
    jobs = workflow["jobs"]
    assert [command for job in jobs.values() for command, _ in pulumi_commands(job)] == ["destroy"]
    destroy = next(job for job in jobs.values() if pulumi_commands(job))
    guard = jobs[destroy["needs"]]
    script = "\n".join(str(s.get("run", "")) for s in guard["steps"])
    assert '"$CONFIRM" != "destroy $STACK"' in script
    assert '"$REF" != "refs/heads/main"' in script
    for workflow_path in workflow_files():
        if workflow_path.name != "destroy.yml":
            for job in load(workflow_path)["jobs"].values():
                assert "destroy" not in {command for command, _ in pulumi_commands(job)}


def test_destroy_confirmation_script_refuses_anything_but_the_exact_phrase() -> None:
    guard = next(job for job in load(WORKFLOWS / "destroy.yml")["jobs"].values() if not pulumi_commands(job))
    script = guard["steps"][0]["run"]

    def run(stack: str, confirm: str, ref: str = "refs/heads/main") -> int:
        env = {"PATH": os.environ["PATH"], "STACK": stack, "CONFIRM": confirm, "REF": ref}
        return subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=False).returncode

    assert run("prod", "destroy prod") == 0
    assert run("prod", "destroy dev") != 0
    assert run("prod", "prod") != 0
    assert run("dev", "destroy dev ") != 0
    assert run("dev", "destroy dev", "refs/heads/feature") != 0


# --- permissions, concurrency, secrets -----------------------------------------------------------


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_least_privilege_permissions(path: Path) -> None:
    workflow = load(path)
    top = workflow.get("permissions")
    assert isinstance(top, dict), "declare the workflow's token permissions (read-only)"
    assert set(top.values()) <= {"read", "none"}
    for job_id, job in workflow["jobs"].items():
        permissions = job.get("permissions", {})
        assert isinstance(permissions, dict), f"{job_id}: permissions must be listed, not read-all/write-all"
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= {"id-token", "pull-requests"}, f"{job_id} writes {writes}"
        uses = {str(step.get("uses", "")) for step in job["steps"]}
        if "id-token" in writes:
            assert "./.github/actions/stack-setup" in uses, f"{job_id}: an OIDC token nothing uses"
        if "pull-requests" in writes:
            assert any(step.get("with", {}).get("comment-on-pr") for step in job["steps"]), job_id


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_concurrency_groups(path: Path) -> None:
    workflow = load(path)
    for job_id, job in workflow["jobs"].items():
        if pulumi_commands(job):
            assert workflow.get("concurrency") or job.get("concurrency"), f"{path.name}: {job_id}"
    if "pull_request" in triggers(workflow):
        assert workflow["concurrency"]["cancel-in-progress"] is True
    if "push" in triggers(workflow):
        assert workflow["concurrency"]["cancel-in-progress"] is False


def test_checkouts_do_not_keep_the_token() -> None:
    for path, job, step in all_steps():
        if action_name(step) == "actions/checkout":
            assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: {job}"


def test_secrets_reach_steps_through_env_or_inputs_only() -> None:
    """Expressions with secrets or user-controlled text are never pasted into a shell script."""
    unsafe = re.compile(r"\$\{\{\s*(secrets\.|inputs\.|github\.event\.|github\.head_ref)")
    for path, job, step in all_steps():
        assert not unsafe.search(str(step.get("run", ""))), f"{path.name}: {job}: {step.get('name')}"
    for path in workflow_files():
        for job_id, job in load(path)["jobs"].items():
            if pulumi_commands(job):
                assert job["env"]["PULUMI_ACCESS_TOKEN"] == "${{ secrets.PULUMI_ACCESS_TOKEN }}", job_id
                setup = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("./"))
                assert setup["with"]["kubeconfig"] == "${{ secrets.KUBECONFIG }}", job_id


def test_the_cli_matches_the_sdk_and_the_pack_matches_the_dev_pin() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), flags=re.MULTILINE)
        return {name.lower(): version for name, version in found}

    runtime, dev, pack = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-dev.txt"), \
        pins(ROOT / "policy" / "requirements.txt")
    for path in workflow_files():
        workflow = load(path)
        if any(pulumi_commands(job) for job in workflow["jobs"].values()):
            assert workflow["env"]["PULUMI_VERSION"] == runtime["pulumi"], path.name
    assert pack["pulumi-policy"] == dev["pulumi-policy"]
    assert pack["pulumi"] == runtime["pulumi"]


# --- the kubeconfig script -----------------------------------------------------------------------


@pytest.fixture
def fake_pulumi(tmp_path: Path) -> Path:
    """A `pulumi` on PATH that logs its arguments and standard input, and knows one config key."""
    log = tmp_path / "calls.log"
    script = tmp_path / "bin" / "pulumi"
    script.parent.mkdir()
    script.write_text(f"""#!/usr/bin/env bash
echo "ARGS $*" >> {log}
case " $* " in *" --secret "*) echo "STDIN $(cat)" >> {log};; esac
if [ "$1 $2" = "config get" ]; then [ -n "${{HAS_PATH:-}}" ]; exit $?; fi
exit 0
""")
    script.chmod(0o755)
    return tmp_path


def run_kubeconfig_script(tmp: Path, env: Mapping[str, str]) -> tuple[int, list[str]]:
    full = {"PATH": f"{tmp / 'bin'}:{os.environ['PATH']}", **env}
    result = subprocess.run([str(ROOT / ".ci" / "stack-kubeconfig"), "prod"], env=full, capture_output=True,
                            text=True, check=False, stdin=subprocess.DEVNULL)
    log = tmp / "calls.log"
    return result.returncode, log.read_text().splitlines() if log.exists() else []


def test_kubeconfig_script_stores_the_secret_from_stdin(fake_pulumi: Path) -> None:
    code, calls = run_kubeconfig_script(fake_pulumi, {"KUBECONFIG_DATA": "apiVersion: v1", "HAS_PATH": "1",
                                                      "KUBE_CONTEXT": "ci"})
    assert code == 0
    assert calls == [
        "ARGS config get --stack prod --path dynamo-cluster:kubernetes.kubeconfigPath",
        "ARGS config rm --stack prod --path dynamo-cluster:kubernetes.kubeconfigPath",
        "ARGS config set --stack prod --path dynamo-cluster:kubernetes.context ci",
        "ARGS config set --stack prod --secret dynamo-cluster:kubeconfig",
        "STDIN apiVersion: v1",
    ]


def test_kubeconfig_script_keeps_the_stack_context_and_refuses_an_empty_secret(fake_pulumi: Path) -> None:
    code, calls = run_kubeconfig_script(fake_pulumi, {"KUBECONFIG_DATA": "apiVersion: v1"})
    assert code == 0
    assert [c for c in calls if c.startswith("ARGS config set")] == [
        "ARGS config set --stack prod --secret dynamo-cluster:kubeconfig"]
    assert not any("config rm" in c for c in calls)
    (fake_pulumi / "calls.log").unlink()
    code, calls = run_kubeconfig_script(fake_pulumi, {"KUBECONFIG_DATA": ""})
    assert code != 0
    assert calls == []


def test_every_workflow_is_documented() -> None:
    text = (ROOT / "docs" / "delivery.md").read_text()
    for path in [*workflow_files(), *action_files()]:
        link = str(path.relative_to(ROOT))
        assert f"(../{link})" in text, f"docs/delivery.md does not link {link}"
