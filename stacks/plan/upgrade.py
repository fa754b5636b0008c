"""What changes when the stack's Dynamo release differs from the one deployed: the offline plan's
"Upgrade" section (`python -m stacks plan --deployed-version X.Y.Z`), and the one refusal: going
back across a CRD storage version. docs/upgrade.md is the runbook these lines summarize.

The deployed release is either an entry of the release table or a release this project deployed
before it had one (1.1.x: graphs in `nvidia.com/v1alpha1`, NATS and etcd mandatory, the chart's
`nats.enabled` key), described by `LEGACY`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.dynamo.releases import RELEASES, DynamoRelease
from components.dynamo.transport import TransportPlan


class UpgradeRefused(Exception):
    """The move cannot be planned: the message says why and what to do instead."""


@dataclass(frozen=True)
class DeployedRelease:
    """What the plan needs to know of the release a cluster runs."""

    version: str
    api_version: str
    crd_storage_version: str
    image_tag: str
    needs_nats_and_etcd: bool  # its graphs could not run without both


# Releases an earlier version of this project deployed, by minor version.
LEGACY = {"1.1": DeployedRelease(version="1.1", api_version="nvidia.com/v1alpha1", crd_storage_version="v1alpha1",
                                 image_tag="1.1", needs_nats_and_etcd=True)}
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def deployed_release(version: str) -> DeployedRelease:
    """The facts of a deployed release; raises `UpgradeRefused` for one this project never deployed."""
    match = _VERSION.match(version)
    if match is None:
        raise UpgradeRefused(f"--deployed-version {version!r} is not a release version such as 1.4.2")
    if version in RELEASES:
        release = RELEASES[version]
        return DeployedRelease(version=version, api_version=release.api_version,
                               crd_storage_version=release.crd_storage_version, image_tag=release.image_tag,
                               needs_nats_and_etcd=False)
    minor = f"{match.group(1)}.{match.group(2)}"
    if minor in LEGACY:
        legacy = LEGACY[minor]
        return DeployedRelease(version=version, api_version=legacy.api_version,
                               crd_storage_version=legacy.crd_storage_version, image_tag=version,
                               needs_nats_and_etcd=True)
    known = ", ".join([*RELEASES, *(f"{m}.x" for m in LEGACY)])
    raise UpgradeRefused(f"--deployed-version {version}: no release this project deployed ({known}); see "
                         "docs/upgrade.md")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def upgrade_lines(deployed_version: str, target: DynamoRelease, plan: TransportPlan) -> list[str]:
    """Markdown lines of what `pulumi up` changes when moving the cluster's Dynamo from
    `deployed_version` to `target`. Raises `UpgradeRefused` when the move goes back across a CRD
    storage version (objects stored in the newer version could not be read back)."""
    deployed = deployed_release(deployed_version)
    if deployed.version == target.version:
        return [f"The cluster runs Dynamo {target.version}, the release this stack deploys: no release change."]
    backwards = _key(target.version) < _key(deployed.version)
    if backwards and deployed.crd_storage_version != target.crd_storage_version:
        raise UpgradeRefused(
            f"going back from Dynamo {deployed.version} to {target.version} crosses the DynamoGraphDeployment CRD's "
            f"storage version ({deployed.crd_storage_version} back to {target.crd_storage_version}): objects stored "
            f"as {deployed.crd_storage_version} would be left to a CRD that no longer stores them. Stay on "
            f"{deployed.version}, or follow docs/upgrade.md (\"Rolling back\")")
    lines = [f"From Dynamo {deployed.version} (deployed) to {target.version} "
             f"({'a downgrade' if backwards else 'an upgrade'}), in the order `pulumi up` applies it:", ""]
    step = 1

    def add(text: str) -> None:
        nonlocal step
        lines.append(f"{step}. {text}")
        step += 1

    add(f"The dynamo-platform release moves to chart {target.chart.version} first: every graph depends on it. Its "
        "CRD job applies the new DynamoGraphDeployment CRD before the new operator starts (`upgradeCRD`).")
    if deployed.needs_nats_and_etcd:
        add("The chart's `nats.enabled` / `etcd.enabled` keys of 1.1 are gone (1.2 and later refuse them); this stack "
            "sets `global.nats.install` and `global.etcd.install` to false and wires its own servers as the transport "
            f"plan says ({plan.describe()}).")
        removed = [name for name, used in (("NATS", plan.uses_nats), ("etcd", plan.uses_etcd)) if not used]
        if removed:
            both = len(removed) > 1
            add(f"{' and '.join(removed)}, which 1.1 needed, {'are' if both else 'is'} not in the transport plan: "
                f"`pulumi preview` shows what this stack ran for {'them' if both else 'it'} deleted once the "
                "graphs have moved (its volumes are kept or not as docs/data-safety.md says).")
    if deployed.api_version != target.api_version:
        add(f"Each graph moves from {deployed.api_version} to {target.api_version}: `pulumi preview` shows an update "
            f"of each DynamoGraphDeployment (the earlier type is an alias), not a replacement; the operator's "
            "conversion webhook serves both versions while objects are rewritten.")
    if deployed.crd_storage_version != target.crd_storage_version:
        add(f"The CRD's storage version moves from {deployed.crd_storage_version} to {target.crd_storage_version}: "
            f"objects are stored as {target.crd_storage_version} when next written (each graph update rewrites its "
            "object). Going back afterwards is refused by this plan.")
    else:
        add(f"The CRD keeps storing {target.crd_storage_version}.")
    add(f"Graphs that do not pin `image` move from runtime images {deployed.image_tag} to {target.image_tag}: their "
        "pods roll, replica by replica where the graph has several.")
    if not target.artifacts_confirmed:
        add(f"Check that the {target.version} images exist in your registry first: the release table's tags for it "
            "were not read from a published artifact list.")
    return lines
