"""Moving between Dynamo releases: what the plan's Upgrade section says, the refusal to go back
across a CRD storage version, and graphs that update (not replace) across API versions."""

import subprocess
import sys
from pathlib import Path

import pytest

from components.dynamo.releases import RELEASES
from components.dynamo.transport import TransportPlan
from stacks.plan.upgrade import UpgradeRefused, upgrade_lines
from tests.harness import ROOT, plan_stack

NATS_EVENTS = TransportPlan(event_plane="nats")


def test_from_1_1_the_graphs_move_api_version_and_the_chart_keys_change() -> None:
    lines = upgrade_lines("1.1.0", RELEASES["1.4.2"], NATS_EVENTS)
    text = "\n".join(lines)
    assert lines[0] == "From Dynamo 1.1.0 (deployed) to 1.4.2 (an upgrade), in the order `pulumi up` applies it:"
    assert "1. The dynamo-platform release moves to chart 1.4.2 first" in text
    assert "`nats.enabled` / `etcd.enabled` keys of 1.1 are gone" in text
    assert "etcd, which 1.1 needed, is not in the transport plan" in text  # NATS is: the event plane uses it
    assert "Each graph moves from nvidia.com/v1alpha1 to nvidia.com/v1beta1: `pulumi preview` shows an update" in text
    assert "The CRD keeps storing v1alpha1." in text


def test_from_1_4_to_1_5_the_storage_version_moves_and_the_images_want_checking() -> None:
    text = "\n".join(upgrade_lines("1.4.2", RELEASES["1.5.0"], TransportPlan()))
    assert "The CRD's storage version moves from v1alpha1 to v1beta1" in text
    assert "Each graph moves" not in text  # both write v1beta1
    assert "Check that the 1.5.0 images exist in your registry first" in text
    assert "keys of 1.1" not in text


def test_going_back_across_the_storage_version_is_refused() -> None:
    with pytest.raises(UpgradeRefused, match=r"^going back from Dynamo 1\.5\.0 to 1\.4\.2 crosses the "
                                             r"DynamoGraphDeployment CRD's storage version \(v1beta1 back to "
                                             r"v1alpha1\)"):
        upgrade_lines("1.5.0", RELEASES["1.4.2"], TransportPlan())


def test_the_same_release_changes_nothing_and_unknown_ones_are_named() -> None:
    assert upgrade_lines("1.4.2", RELEASES["1.4.2"], TransportPlan()) == [
        "The cluster runs Dynamo 1.4.2, the release this stack deploys: no release change."]
    with pytest.raises(UpgradeRefused, match=r"--deployed-version 0\.9\.0: no release this project deployed "
                                             r"\(1\.4\.2, 1\.5\.0, 1\.5\.1, 1\.6\.1, 1\.1\.x\)"):
        upgrade_lines("0.9.0", RELEASES["1.4.2"], TransportPlan())
    with pytest.raises(UpgradeRefused, match="is not a release version"):
        upgrade_lines("latest", RELEASES["1.4.2"], TransportPlan())


def test_the_plan_command_writes_the_section_or_refuses(tmp_path: Path) -> None:
    def plan(config: str, deployed: str, out: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stacks", "plan", "--config", config, "--out", str(out),
                               "--deployed-version", deployed], cwd=ROOT, capture_output=True, text=True, check=False)

    done = plan("Pulumi.prod.yaml", "1.1.0", tmp_path / "up")
    assert done.returncode == 0, done.stderr
    summary = (tmp_path / "up" / "summary.md").read_text()
    assert "## Upgrade\n\nFrom Dynamo 1.1.0 (deployed) to 1.4.2 (an upgrade)" in summary
    refused = plan("Pulumi.prod.yaml", "1.5.0", tmp_path / "down")
    assert refused.returncode == 2
    assert "crosses the DynamoGraphDeployment CRD's storage version" in refused.stderr
    assert not (tmp_path / "down").exists()


def test_graphs_alias_the_api_version_earlier_releases_wrote() -> None:
    dgds = [r for r in plan_stack("dev").resources if r.type.endswith(":DynamoGraphDeployment")]
    assert [r.type for r in dgds] == ["kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"]
    assert dgds[0].options["aliasTypes"] == ["kubernetes:nvidia.com/v1alpha1:DynamoGraphDeployment"]
