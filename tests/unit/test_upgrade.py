"""Moving between Dynamo releases: one minor release at a time, as upstream supports it. The plan's
Upgrade section lists every step (a table entry with `pulumi up`, a minor without one by hand) and
what changes at it; a move back by more than one minor or across a CRD storage version is refused;
graphs update (not replace) across API versions."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.dynamo.backends.base import BackendRelease
from components.dynamo.releases import RELEASES
from components.dynamo.transport import TransportPlan
from stacks.plan.upgrade import DEFAULT_INSTALL, Install, UpgradeRefused, backend_changes, upgrade, upgrade_lines
from tests.harness import ROOT, plan_stack

NATS_EVENTS = TransportPlan(event_plane="nats")


def landings(deployed: str, target: str) -> list[tuple[str, bool]]:
    """(the version each step lands on, whether it is done by hand)."""
    return [(step.after.version, step.by_hand) for step in upgrade(deployed, RELEASES[target], TransportPlan()).steps]


def steps_text(deployed: str, target: str, plan: TransportPlan = NATS_EVENTS,
               install: Install = DEFAULT_INSTALL) -> list[str]:
    """The section's text before the first step, then each step's, in order."""
    return "\n".join(upgrade_lines(deployed, RELEASES[target], plan, install)).split("\n### ")


def test_two_minors_up_is_two_steps_each_with_what_changes_at_it() -> None:
    move = upgrade("1.4.2", RELEASES["1.6.1"], TransportPlan())
    assert [(s.before.version, s.after.version) for s in move.steps] == [("1.4.2", "1.5.1"), ("1.5.1", "1.6.1")]
    assert move.skips
    head, to_1_5, to_1_6 = steps_text("1.4.2", "1.6.1")
    assert head.startswith("From Dynamo 1.4.2 (deployed) to 1.6.1, this stack's `operator.version`: an upgrade in 2 "
                           "steps, one minor release each.")
    assert "one `pulumi up` may move only one minor" in head
    assert "it would skip 1.5" in head
    assert "1. Set `operator.version: 1.5.1`, plan again with `--deployed-version 1.4.2`, and run `pulumi up`" in head
    assert "2. Plan again with `--deployed-version 1.5.1`, then run `pulumi up` with this stack's " \
           "`operator.version: 1.6.1`" in head

    assert to_1_5.startswith("Step 1 of 2: 1.4.2 → 1.5.1, `pulumi up` with `operator.version: 1.5.1`")
    assert "The dynamo-platform release moves from chart 1.4.2 to chart 1.5.1 first" in to_1_5
    assert "The chart values keys this project may set gain " \
           "`kai-scheduler.scheduler.args.default-staleness-grace-period`." in to_1_5
    assert "Bundled Grove v0.1.0-alpha.12-rc1 → v0.1.0-alpha.13; KAI scheduler v0.13.4 → v0.17.0" in to_1_5
    assert "The CRD's storage version moves from v1alpha1 to v1beta1" in to_1_5
    assert "Graphs stay `nvidia.com/v1beta1` DynamoGraphDeployments." in to_1_5  # both write v1beta1
    assert "runtime images `1.4.2` to `1.5.1` (`1.4.2-efa` to `1.5.1-efa` on EFA pools)" in to_1_5
    assert "TensorRT-LLM" not in to_1_5  # the same flag on both sides of the step
    assert "SGLang workers drop `--skip-tokenizer-init`" in to_1_5
    assert "Check that the 1.5.1 images exist in your registry first" in to_1_5

    assert to_1_6.startswith("Step 2 of 2: 1.5.1 → 1.6.1, `pulumi up` with this stack's `operator.version: 1.6.1`")
    assert "from chart 1.5.1 to chart 1.6.1 first" in to_1_6
    assert "The chart values keys this project may set do not change." in to_1_6
    assert "Bundled Grove v0.1.0-alpha.13 → not known; KAI scheduler v0.17.0 → not known" in to_1_6
    assert "The CRD keeps storing v1beta1." in to_1_6
    assert "runtime images `1.5.1` to `1.6.1` (`1.5.1-efa` to `1.6.1-efa` on EFA pools)" in to_1_6
    assert "Backend flags: TensorRT-LLM workers publish KV events with `--publish-kv-events --publish-metrics` " \
           "instead of `--publish-kv-events`." in to_1_6
    assert "SGLang" not in to_1_6


def test_a_step_within_a_minor_lands_on_its_newest_patch_and_one_step_does_not_skip() -> None:
    assert landings("1.4.2", "1.6.1") == [("1.5.1", False), ("1.6.1", False)]
    assert landings("1.4.2", "1.5.0") == [("1.5.0", False)]  # the last step is the stack's own release
    assert landings("1.5.0", "1.5.1") == [("1.5.1", False)]
    one = upgrade("1.4.2", RELEASES["1.5.0"], TransportPlan())
    assert not one.skips
    text = "\n".join(one.lines)
    assert one.lines[0] == "From Dynamo 1.4.2 (deployed) to 1.5.0 (an upgrade), in the order `pulumi up` applies it:"
    assert "### Step" not in text
    assert "Each graph moves" not in text
    assert "keys of 1.1" not in text


def test_backend_flags_are_derived_from_the_profiles_and_each_release() -> None:
    assert backend_changes(RELEASES["1.4.2"], RELEASES["1.5.1"]) == [
        "SGLang workers drop `--skip-tokenizer-init`"]
    assert backend_changes(RELEASES["1.5.1"], RELEASES["1.6.1"]) == [
        "TensorRT-LLM workers publish KV events with `--publish-kv-events --publish-metrics` instead of "
        "`--publish-kv-events`"]
    assert backend_changes(RELEASES["1.5.0"], RELEASES["1.5.1"]) == []
    # a release that changes another backend's flags says so, with no text written for it
    changed = dataclasses.replace(RELEASES["1.5.1"], backends={
        "vllm": BackendRelease(worker_args=("--enforce-eager",)),
        "mocker": BackendRelease(kv_events_args=("--publish-events",))})
    assert backend_changes(RELEASES["1.5.1"], changed) == [
        "vLLM workers add `--enforce-eager`",
        "TensorRT-LLM workers publish KV events with `--publish-kv-events --publish-metrics` instead of "
        "`--publish-kv-events`",
        "mocker workers publish KV events with `--publish-events` instead of nothing"]


def test_from_1_1_the_minors_without_an_entry_are_applied_by_hand_first() -> None:
    assert landings("1.1.0", "1.4.2") == [("1.2.1", True), ("1.3.0", True), ("1.4.2", False)]
    head, to_1_2, to_1_3, to_1_4 = steps_text("1.1.0", "1.4.2")
    assert "it would skip 1.2 and 1.3" in head
    assert "1. Apply upstream's chart 1.2.1 by hand (step 1).\n2. Apply upstream's chart 1.3.0 by hand (step 2)." \
           in head

    assert to_1_2.startswith("Step 1 of 3: 1.1.0 → 1.2.1, by hand, with upstream's chart")
    assert "run no `pulumi up` until a step says so" in to_1_2
    assert "helm get values dynamo-platform -n dynamo-system -o yaml > dynamo-platform-values.yaml" in to_1_2
    assert "# delete nats.enabled and etcd.enabled from dynamo-platform-values.yaml: the 1.2 chart refuses them" \
           in to_1_2
    assert "helm upgrade dynamo-platform dynamo-platform --repo https://helm.ngc.nvidia.com/nvidia/ai-dynamo " \
           "--version 1.2.1 -n dynamo-system -f dynamo-platform-values.yaml" in to_1_2
    assert "Its operator serves DynamoGraphDeployments as `nvidia.com/v1beta1`; the graphs this project registered " \
           "as `nvidia.com/v1alpha1` keep working" in to_1_2
    assert "The CRD keeps storing v1alpha1." in to_1_2
    assert "Bundled Grove and KAI scheduler versions: not known." in to_1_2
    assert "Graphs keep their images (`1.1.0`) until this project's next `pulumi up` moves them" in to_1_2
    assert "1.2's runtime images: `1.2.1`, `1.2.1-efa` on EFA pools (vLLM and SGLang; TensorRT-LLM's: not known)" \
           in to_1_2
    assert "from upstream's release notes and docs, not from its chart, CRD or wheels" in to_1_2

    assert "--version 1.3.0" in to_1_3
    assert "# delete" not in to_1_3  # 1.2's values hold nothing the 1.3 chart is known to refuse
    assert "`1.3.0-efa` on EFA pools (vLLM, SGLang and TensorRT-LLM); CUDA 13 only" in to_1_3

    assert to_1_4.startswith("Step 3 of 3: 1.3.0 → 1.4.2, `pulumi up` with this stack's `operator.version: 1.4.2`")
    assert "moves from chart 1.3.0 to chart 1.4.2 first" in to_1_4
    assert "`pulumi preview` compares with Pulumi's state (the release it applied last)" in to_1_4
    assert "The chart's `nats.enabled` / `etcd.enabled` keys of 1.1 are gone (1.2 and later refuse them)" in to_1_4
    assert "etcd, which 1.1 needed, is not in the transport plan" in to_1_4  # NATS is: the event plane uses it
    assert "Each graph moves from nvidia.com/v1alpha1 to nvidia.com/v1beta1: `pulumi preview` shows an update" in to_1_4
    assert "The CRD keeps storing v1alpha1." in to_1_4
    assert "runtime images `1.1.0` to `1.4.2` (`1.1.0-efa-amd64` to `1.4.2-efa` on EFA pools)" in to_1_4
    assert "what the graphs ran with on 1.1.0 is not in the release table" in to_1_4


def test_from_1_2_and_1_3_there_is_a_path_to_1_4_2_and_beyond() -> None:
    assert landings("1.2.0", "1.4.2") == [("1.3.0", True), ("1.4.2", False)]
    assert landings("1.2.1", "1.6.1") == [("1.3.0", True), ("1.4.2", False), ("1.5.1", False), ("1.6.1", False)]
    assert landings("1.3.0", "1.5.1") == [("1.4.2", False), ("1.5.1", False)]
    one = upgrade("1.3.4", RELEASES["1.4.2"], NATS_EVENTS)
    assert not one.skips
    text = "\n".join(one.lines)
    assert "The release's values become this stack's" in text
    assert "one an earlier version of this project registered as `nvidia.com/v1alpha1` is updated, not replaced" in text
    assert "runtime images `1.3.4` to `1.4.2` (`1.3.4-efa` to `1.4.2-efa` on EFA pools)" in text
    assert "keys of 1.1" not in text


def test_a_step_by_hand_names_the_stacks_release_and_an_oci_mirror() -> None:
    install = Install(release_name="dynamo", namespace="platform", repository="oci://registry.example.com/charts")
    _, to_1_3, _ = steps_text("1.2.0", "1.4.2", install=install)
    assert "helm get values dynamo -n platform -o yaml > dynamo-values.yaml" in to_1_3
    assert "helm upgrade dynamo oci://registry.example.com/charts/dynamo-platform --version 1.3.0 -n platform " \
           "-f dynamo-values.yaml" in to_1_3


def test_one_minor_back_within_a_storage_version_is_one_step() -> None:
    move = upgrade("1.6.1", RELEASES["1.5.1"], TransportPlan())
    assert not move.skips
    text = "\n".join(move.lines)
    assert move.lines[0] == "From Dynamo 1.6.1 (deployed) to 1.5.1 (a downgrade), in the order `pulumi up` applies it:"
    assert "moves back from chart 1.6.1 to chart 1.5.1 first" in text
    assert "TensorRT-LLM workers publish KV events with `--publish-kv-events` instead of " \
           "`--publish-kv-events --publish-metrics`" in text


def test_going_back_across_the_storage_version_or_two_minors_is_refused() -> None:
    with pytest.raises(UpgradeRefused, match=r"^going back from Dynamo 1\.5\.0 to 1\.4\.2 crosses the "
                                             r"DynamoGraphDeployment CRD's storage version \(v1beta1 back to "
                                             r"v1alpha1\): .* Stay on 1\.5\.0, or follow docs/upgrade\.md"):
        upgrade_lines("1.5.0", RELEASES["1.4.2"], TransportPlan())
    with pytest.raises(UpgradeRefused, match=r"^going back from Dynamo 1\.6\.1 to 1\.4\.2 goes back 2 minor "
                                             r"releases, where upstream supports one at a time, and crosses the "
                                             r"DynamoGraphDeployment CRD's storage version \(v1beta1 back to "
                                             r"v1alpha1\)"):
        upgrade_lines("1.6.1", RELEASES["1.4.2"], TransportPlan())


def test_the_same_release_changes_nothing_and_unknown_or_newer_ones_are_refused() -> None:
    assert upgrade_lines("1.4.2", RELEASES["1.4.2"], TransportPlan()) == [
        "The cluster runs Dynamo 1.4.2, the release this stack deploys: no release change."]
    for version in ("0.9.0", "1.4.1"):
        with pytest.raises(UpgradeRefused, match=rf"--deployed-version {version}: not a release this project can "
                                                 r"plan a move from \(1\.1\.x, 1\.2\.x, 1\.3\.x, 1\.4\.2, 1\.5\.0, "
                                                 r"1\.5\.1, 1\.6\.1\)"):
            upgrade_lines(version, RELEASES["1.4.2"], TransportPlan())
    for version in ("1.6.2", "1.7.0"):
        with pytest.raises(UpgradeRefused, match=rf"--deployed-version {version} is newer than every release this "
                                                 r"project deploys \(the newest is 1\.6\.1\)"):
            upgrade_lines(version, RELEASES["1.6.1"], TransportPlan())
    with pytest.raises(UpgradeRefused, match="is not a release version"):
        upgrade_lines("latest", RELEASES["1.4.2"], TransportPlan())


def plan(config: str | Path, deployed: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stacks", "plan", "--config", str(config), "--out", str(out),
                           "--deployed-version", deployed], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def upgrade_section(out: Path) -> str:
    summary = (out / "summary.md").read_text()
    return summary.split("\n## Upgrade\n\n", 1)[1].split("\n## ", 1)[0]


def test_the_plan_command_prints_every_step_and_exits_1_when_the_stack_skips_a_minor(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.on-1-6.yaml"
    stack.write_text(yaml.safe_dump({"config": {
        "dynamo-cluster:environment": "dev",
        "dynamo-cluster:kubernetes": {"kubeconfigPath": "~/.kube/config", "context": "kind-dynamo"},
        "dynamo-cluster:operator": {"version": "1.6.1"}}}))
    skip = plan(stack, "1.4.2", tmp_path / "skip")
    assert skip.returncode == 1, skip.stderr
    assert "one `pulumi up` may move only one minor release: first set operator.version to 1.5.1" in skip.stderr
    section = upgrade_section(tmp_path / "skip")
    assert section.startswith("From Dynamo 1.4.2 (deployed) to 1.6.1, this stack's `operator.version`: an upgrade "
                              "in 2 steps")
    step_1, step_2 = section.split("\n### ")[1:]
    assert step_1.startswith("Step 1 of 2: 1.4.2 → 1.5.1")
    assert "The CRD's storage version moves from v1alpha1 to v1beta1" in step_1
    assert "SGLang workers drop `--skip-tokenizer-init`" in step_1
    assert "`--publish-kv-events --publish-metrics` instead of `--publish-kv-events`" in step_2
    assert "runtime images `1.4.2` to `1.5.1`" in step_1
    assert step_2.startswith("Step 2 of 2: 1.5.1 → 1.6.1")
    assert "runtime images `1.5.1` to `1.6.1`" in step_2

    adjacent = plan(stack, "1.5.1", tmp_path / "adjacent")
    assert adjacent.returncode == 0, adjacent.stderr
    assert upgrade_section(tmp_path / "adjacent").startswith(
        "From Dynamo 1.5.1 (deployed) to 1.6.1 (an upgrade), in the order `pulumi up` applies it:")


def test_the_plan_command_walks_a_1_1_install_through_and_refuses_going_back(tmp_path: Path) -> None:
    done = plan("Pulumi.prod.yaml", "1.1.0", tmp_path / "up")
    assert done.returncode == 1, done.stderr
    assert "first apply chart 1.2.1 by hand" in done.stderr
    section = upgrade_section(tmp_path / "up")
    assert section.startswith("From Dynamo 1.1.0 (deployed) to 1.4.2, this stack's `operator.version`: an upgrade in "
                              "3 steps")
    assert "helm upgrade dynamo-platform dynamo-platform --repo https://helm.ngc.nvidia.com/nvidia/ai-dynamo " \
           "--version 1.2.1 -n dynamo-system" in section
    assert "### Step 3 of 3: 1.3.0 → 1.4.2" in section
    refused = plan("Pulumi.prod.yaml", "1.6.1", tmp_path / "down")
    assert refused.returncode == 2
    assert "goes back 2 minor releases" in refused.stderr
    assert "crosses the DynamoGraphDeployment CRD's storage version" in refused.stderr
    assert not (tmp_path / "down").exists()


def test_graphs_alias_the_api_version_earlier_releases_wrote() -> None:
    dgds = [r for r in plan_stack("dev").resources if r.type.endswith(":DynamoGraphDeployment")]
    assert [r.type for r in dgds] == ["kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"]
    assert dgds[0].options["aliasTypes"] == ["kubernetes:nvidia.com/v1alpha1:DynamoGraphDeployment"]
