"""What changes when the stack's Dynamo release differs from the one deployed: the offline plan's
"Upgrade" section (`python -m stacks plan --deployed-version X.Y.Z`), and its refusals.
docs/upgrade.md is the runbook these lines summarize.

Upstream supports a move within a minor release or to the adjacent minor, and asks for every
intermediate minor to be applied in order (the deprecations ledgers of 1.6.2 and 1.7.1). So a move
is a chain of steps, one minor each. A minor with release-table entries is a step onto its newest
patch, done with `pulumi up`; a minor without one (`LEGACY`: 1.1, which an earlier version of this
project deployed, and 1.2 and 1.3, which it never did) is a step done by hand with upstream's chart.
The last step lands on the stack's own release. A chain of more than one step means the stack's
`operator.version` is more than one minor ahead of the cluster (`Upgrade.skips`).

Refused (`UpgradeRefused`): a version this project knows nothing of, one newer than every entry, a
move back by more than one minor, and a move back across a CRD storage version.

Each step tells what moves on the cluster (the chart, its CRD, the bundled Grove and KAI), from the
release the step starts on, and what this project's `pulumi up` changes (the chart values, the
graphs' API version, images and backend flags), from the release `pulumi up` applied last: a step
done by hand leaves those as they were.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from components.dynamo.backends import BACKENDS
from components.dynamo.backends.base import Backend, Worker
from components.dynamo.releases import RELEASES, DynamoRelease
from components.dynamo.transport import TransportPlan
from components.kit.charts import DYNAMO_PLATFORM_REPOSITORY

NOT_KNOWN = "not known"
Minor = tuple[int, int]


class UpgradeRefused(Exception):
    """The move cannot be planned: the message says why and what to do instead."""


@dataclass(frozen=True)
class UpstreamMinor:
    """A minor release this project has no release-table entry for, as far as it knows it (None:
    not known). The facts come from upstream's release notes and docs, not its chart or CRD."""

    minor: str
    chart_version: str | None  # the newest chart of the minor upstream's docs name: where a step lands
    api_version: str | None  # the DynamoGraphDeployment version it serves, and its docs and examples use
    crd_storage_version: str | None
    efa_suffix: str | None  # the EFA runtime images are tagged <version><efa_suffix>
    efa_images: str  # which runtimes have the EFA variant
    images: str  # what else is known of its runtime images
    grove_version: str | None = None  # bundled with its chart
    kai_version: str | None = None
    needs_nats_and_etcd: bool | None = None  # its graphs could not run without both
    dropped_keys: tuple[str, ...] = ()  # chart keys of this minor that the next minor's chart refuses
    notes: tuple[str, ...] = ()  # what upstream's notes say a deployer must know of it


# Sources (the reference folders that steer this project): upstream's deprecations ledger in the 1.4
# docs (1.2.0 serves DynamoGraphDeployments as v1beta1, converting v1alpha1; 1.2 is the last release
# with CUDA 12 images; 1.3.0 ships CUDA 13 only, with the notes below), the release-artifacts pages
# (1.0/1.1 `-efa-amd64`, 1.2 `-efa` for vLLM and SGLang, 1.3.0 `-efa` for all three runtimes and chart
# 1.3.0), the 1.5-era EKS guide (chart 1.2.1), and 1.5.0's notes, which promote the storage version
# from v1alpha1: 1.1 (a v1alpha1-only CRD) to 1.4 store v1alpha1. 1.1's chart keys and its need for
# NATS and etcd are what an earlier version of this project deployed. Bundled Grove and KAI: not read.
LEGACY: Mapping[str, UpstreamMinor] = {
    "1.1": UpstreamMinor(
        minor="1.1", chart_version=None, api_version="nvidia.com/v1alpha1", crd_storage_version="v1alpha1",
        efa_suffix="-efa-amd64", efa_images="which runtimes: not known", images="with `-cuda13` variants",
        needs_nats_and_etcd=True, dropped_keys=("nats.enabled", "etcd.enabled")),
    "1.2": UpstreamMinor(
        minor="1.2", chart_version="1.2.1", api_version="nvidia.com/v1beta1", crd_storage_version="v1alpha1",
        efa_suffix="-efa", efa_images="vLLM and SGLang; TensorRT-LLM's: not known",
        images="vLLM and SGLang in CUDA 12.9 and CUDA 13 (`-cuda13`) variants, TensorRT-LLM CUDA 13 only; the "
               "last release with CUDA 12 images",
        notes=("duration settings are named with their unit (`*_ttl` became `*_ttl_secs`): check the graphs' "
               "`extraArgs`",)),
    "1.3": UpstreamMinor(
        minor="1.3", chart_version="1.3.0", api_version="nvidia.com/v1beta1", crd_storage_version="v1alpha1",
        efa_suffix="-efa", efa_images="vLLM, SGLang and TensorRT-LLM",
        images="CUDA 13 only (the plain tags are CUDA 13; `-cuda13` is an alias)",
        notes=("workers given no `--disaggregation-mode` run aggregated (`agg`); `prefill_and_decode` is "
               "deprecated (`pd`)",
               "multimodal workers need `--enable-multimodal`",
               "the router's backpressure defaults are higher (queue threshold 16, active prefill tokens 64)")),
}
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass(frozen=True)
class Install:
    """Where the stack's dynamo-platform release is, for the commands of a step done by hand."""

    release_name: str = "dynamo-platform"
    namespace: str = "dynamo-system"
    repository: str = DYNAMO_PLATFORM_REPOSITORY

    def chart(self) -> str:
        """The chart as `helm upgrade` takes it from this repository."""
        if self.repository.startswith("oci://"):
            return f"{self.repository.rstrip('/')}/dynamo-platform"
        return f"dynamo-platform --repo {self.repository}"


DEFAULT_INSTALL = Install()


@dataclass(frozen=True)
class Stop:
    """A release the cluster runs or a step lands on: a release-table entry (`entry`), or one of a
    minor this project does not deploy (`upstream`)."""

    version: str
    entry: DynamoRelease | None = None
    upstream: UpstreamMinor | None = None
    chart: str | None = None  # the dynamo-platform chart version (None: not known)

    @staticmethod
    def of(release: DynamoRelease) -> Stop:
        return Stop(version=release.version, entry=release, chart=release.chart.version)

    @property
    def minor(self) -> Minor:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)

    @property
    def api_version(self) -> str | None:
        return self.entry.api_version if self.entry else self.upstream.api_version if self.upstream else None

    @property
    def crd_storage_version(self) -> str | None:
        if self.entry:
            return self.entry.crd_storage_version
        return self.upstream.crd_storage_version if self.upstream else None

    @property
    def image_tag(self) -> str:
        return self.entry.image_tag if self.entry else self.version

    @property
    def efa_image_tag(self) -> str | None:
        if self.entry:
            return self.entry.efa_image_tag
        suffix = self.upstream.efa_suffix if self.upstream else None
        return None if suffix is None else f"{self.version}{suffix}"

    @property
    def grove_version(self) -> str | None:
        return self.entry.grove_version if self.entry else self.upstream.grove_version if self.upstream else None

    @property
    def kai_version(self) -> str | None:
        return self.entry.kai_version if self.entry else self.upstream.kai_version if self.upstream else None


@dataclass(frozen=True)
class Step:
    """One minor (or one patch) of a move: from `before` to `after`, where `applied` is the release
    this project's `pulumi up` applied last (the graphs' images and flags, the chart's values)."""

    before: Stop
    after: Stop
    applied: Stop

    @property
    def by_hand(self) -> bool:
        return self.after.entry is None


@dataclass(frozen=True)
class Upgrade:
    """The Upgrade section, and the steps it is made of."""

    deployed: Stop
    target: DynamoRelease
    steps: tuple[Step, ...]
    lines: tuple[str, ...]

    @property
    def skips(self) -> bool:
        """The stack's release is more than one step from the cluster's: `pulumi up` as configured
        would skip a minor release."""
        return len(self.steps) > 1

    def skip_message(self) -> str:
        first = self.steps[0].after
        how = f"apply chart {first.version} by hand" if first.entry is None else \
            f"set operator.version to {first.version} and run `pulumi up`"
        return (f"operator.version {self.target.version} is {len(self.steps)} steps from the deployed "
                f"{self.deployed.version}, and one `pulumi up` may move only one minor release: first {how}. "
                "summary.md's Upgrade section lists every step")


def _known(value: str | None) -> str:
    return NOT_KNOWN if value is None else value


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _minor_text(minor: Minor) -> str:
    return f"{minor[0]}.{minor[1]}"


def _code(words: Sequence[str]) -> str:
    return "`" + " ".join(words) + "`" if words else "nothing"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- the path ---------------------------------------------------------------------------------------

def deployed_release(version: str) -> Stop:
    """The release a cluster runs; raises `UpgradeRefused` for one this project cannot plan a move from."""
    match = _VERSION.match(version)
    if match is None:
        raise UpgradeRefused(f"--deployed-version {version!r} is not a release version such as 1.4.2")
    if version in RELEASES:
        return Stop.of(RELEASES[version])
    newest = max(RELEASES, key=_key)
    if _key(version) > _key(newest):
        raise UpgradeRefused(
            f"--deployed-version {version} is newer than every release this project deploys (the newest is "
            f"{newest}): it cannot plan a move from it. Stay on {version}; this project can take the cluster over "
            "once its release table has an entry for it (docs/contributing.md, \"Adding a Dynamo release\")")
    minor = f"{match.group(1)}.{match.group(2)}"
    if minor in LEGACY:
        return Stop(version=version, upstream=LEGACY[minor])
    known = ", ".join(sorted([*RELEASES, *(f"{m}.x" for m in LEGACY)], key=lambda v: _key(v.replace("x", "0"))))
    raise UpgradeRefused(f"--deployed-version {version}: not a release this project can plan a move from ({known}); "
                         "see docs/upgrade.md")


def landing(minor: Minor) -> Stop:
    """Where a step through `minor` lands: the table's newest patch of it, else upstream's chart."""
    entries = [r for r in RELEASES.values() if r.minor == minor]
    if entries:
        return Stop.of(max(entries, key=lambda r: _key(r.version)))
    text = _minor_text(minor)
    upstream = LEGACY.get(text) or UpstreamMinor(
        minor=text, chart_version=None, api_version=None, crd_storage_version=None, efa_suffix=None,
        efa_images=NOT_KNOWN, images=NOT_KNOWN)
    return Stop(version=upstream.chart_version or f"{text}.x", upstream=upstream, chart=upstream.chart_version)


def _refuse_going_back(deployed: Stop, target: DynamoRelease) -> None:
    minors_back = deployed.minor[1] - target.minor[1]
    crosses = deployed.crd_storage_version != target.crd_storage_version
    if minors_back <= 1 and not crosses:
        return
    reasons = []
    if minors_back > 1:
        reasons.append(f"goes back {minors_back} minor releases, where upstream supports one at a time")
    if crosses:
        reasons.append(f"crosses the DynamoGraphDeployment CRD's storage version "
                       f"({_known(deployed.crd_storage_version)} back to {target.crd_storage_version})")
    message = f"going back from Dynamo {deployed.version} to {target.version} {', and '.join(reasons)}"
    if crosses:
        raise UpgradeRefused(
            f"{message}: objects stored as {_known(deployed.crd_storage_version)} would be left to a CRD that no "
            f"longer stores them. Stay on {deployed.version}, or follow docs/upgrade.md (\"Rolling back\")")
    back = landing((deployed.minor[0], deployed.minor[1] - 1))
    raise UpgradeRefused(f"{message}: set operator.version to {back.version} first, run `pulumi up`, and plan again "
                         "from there (docs/upgrade.md, \"Rolling back\")")


def upgrade_path(deployed: Stop, target: DynamoRelease) -> list[Stop]:
    """Where each step lands, in order: one step per minor release, the last on `target`. Raises
    `UpgradeRefused` for a move back that upstream does not support or that this plan refuses."""
    if deployed.version == target.version:
        return []
    if deployed.minor[0] != target.minor[0]:
        raise UpgradeRefused(f"a move from Dynamo {deployed.version} to {target.version} crosses a major release, "
                             "which upstream's one-minor-at-a-time path does not cover; see docs/upgrade.md")
    if _key(target.version) < _key(deployed.version):
        _refuse_going_back(deployed, target)
        return [Stop.of(target)]
    between = range(deployed.minor[1] + 1, target.minor[1])
    return [*(landing((target.minor[0], minor)) for minor in between), Stop.of(target)]


def chain(deployed: Stop, landings: Sequence[Stop]) -> list[Step]:
    """The steps to the landings: a step done by hand leaves what `pulumi up` applied as it was."""
    out = []
    before = applied = deployed
    for after in landings:
        out.append(Step(before=before, after=after, applied=applied))
        before = after
        if after.entry is not None:
            applied = after
    return out


# -- what each step changes -------------------------------------------------------------------------

def _sample(backend: Backend, release: DynamoRelease, kv_events: bool) -> Worker:
    return Worker(role="worker", model="MODEL", served_model_name="MODEL", kv_events=kv_events,
                  release=release.backend(backend.name))


def _kv_events_args(backend: Backend, release: DynamoRelease) -> list[str]:
    """The flags a worker publishes KV events with on `release`."""
    return backend.kv_events_args(_sample(backend, release, kv_events=True))


def _worker_args(backend: Backend, release: DynamoRelease) -> list[str]:
    """An aggregated worker's command line on `release`, without KV events."""
    return backend.worker_args(_sample(backend, release, kv_events=False))


def backend_changes(old: DynamoRelease, new: DynamoRelease) -> list[str]:
    """Per backend whose flags differ between two releases: what its workers pass differently."""
    out = []
    for backend in BACKENDS.values():
        changes = []
        before, after = _kv_events_args(backend, old), _kv_events_args(backend, new)
        if before != after:
            changes.append(f"publish KV events with {_code(after)} instead of {_code(before)}")
        before, after = _worker_args(backend, old), _worker_args(backend, new)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before, b=after, autojunk=False).get_opcodes():
            if tag in ("delete", "replace"):
                changes.append(f"drop {_code(before[i1:i2])}")
            if tag in ("insert", "replace"):
                changes.append(f"add {_code(after[j1:j2])}")
        if changes:
            out.append(f"{backend.title} workers {_and(changes)}")
    return out


def _move(name: str, old: str | None, new: str | None) -> str:
    if old == new:
        return f"{name} {NOT_KNOWN}" if new is None else f"{name} stays {new}"
    return f"{name} {_known(old)} → {_known(new)}"


def _bundled(before: Stop, after: Stop) -> str:
    if not any((before.grove_version, before.kai_version, after.grove_version, after.kai_version)):
        return "Bundled Grove and KAI scheduler versions: not known."
    return (f"Bundled {_move('Grove', before.grove_version, after.grove_version)}; "
            f"{_move('KAI scheduler', before.kai_version, after.kai_version)} (installed when a graph spans nodes).")


def _storage(before: Stop, after: Stop) -> str:
    old, new = before.crd_storage_version, after.crd_storage_version
    if old == new and new is not None:
        return f"The CRD keeps storing {new}."
    if old is None or new is None:
        return f"The CRD's storage version: {_known(old)} before, {_known(new)} after."
    return (f"The CRD's storage version moves from {old} to {new}: objects are stored as {new} when next "
            "written (each graph update rewrites its object). Going back afterwards is refused by this plan.")


def _images(before: Stop, after: Stop) -> str:
    return (f"runtime images `{before.image_tag}` to `{after.image_tag}` (`{_known(before.efa_image_tag)}` to "
            f"`{_known(after.efa_image_tag)}` on EFA pools)")


def _values_lines(step: Step, target: DynamoRelease, plan: TransportPlan) -> list[str]:
    """What `pulumi up` changes of the chart's values: the keys this project sets, or, after a
    release it did not apply, its values taking over from what was there."""
    applied = step.applied
    if applied.entry is None:
        out = []
        dropped = applied.upstream.dropped_keys if applied.upstream else ()
        if dropped:
            later = _minor_text((applied.minor[0], applied.minor[1] + 1))
            out.append(f"The chart's {' / '.join(f'`{k}`' for k in dropped)} keys of {_minor_text(applied.minor)} "
                       f"are gone ({later} and later refuse them); "
                       "this stack sets `global.nats.install` and `global.etcd.install` to false and wires its own "
                       f"servers as the transport plan says ({plan.describe()}).")
        else:
            out.append(f"The release's values become this stack's ({len(target.values_keys)} keys it may set): the "
                       "chart's own NATS and etcd off (`global.nats.install`, `global.etcd.install` false), its own "
                       f"servers wired as the transport plan says ({plan.describe()}).")
        if applied.upstream is not None and applied.upstream.needs_nats_and_etcd:
            removed = [name for name, used in (("NATS", plan.uses_nats), ("etcd", plan.uses_etcd)) if not used]
            if removed:
                both = len(removed) > 1
                out.append(f"{' and '.join(removed)}, which {applied.upstream.minor} needed, "
                           f"{'are' if both else 'is'} not in the transport plan: `pulumi preview` shows what this "
                           f"stack ran for {'them' if both else 'it'} deleted once the graphs have moved (its volumes "
                           "are kept or not as docs/data-safety.md says).")
        return out
    old = applied.entry
    added, removed = sorted(target.values_keys - old.values_keys), sorted(old.values_keys - target.values_keys)
    changes = [f"gain {', '.join(f'`{k}`' for k in added)}"] if added else []
    changes += [f"lose {', '.join(f'`{k}`' for k in removed)}"] if removed else []
    out = [f"The chart values keys this project may set {' and '.join(changes)}." if changes else
           "The chart values keys this project may set do not change."]
    if target.kai_staleness_check and not old.kai_staleness_check:
        out.append(f"The {target.chart.version} chart refuses bundled KAI with Grove unless KAI's stale-PodGroup "
                   "eviction is off: this stack turns it off (\"-1\") when it installs both.")
    elif old.kai_staleness_check and not target.kai_staleness_check:
        out.append(f"The {target.chart.version} chart does not check KAI's stale-PodGroup eviction: this stack "
                   "stops setting it.")
    return out


def _api_line(step: Step, target: DynamoRelease) -> str:
    old = step.applied.api_version
    if old != target.api_version:
        return (f"Each graph moves from {_known(old)} to {target.api_version}: `pulumi preview` shows an update of "
                "each DynamoGraphDeployment (the earlier type is an alias), not a replacement; the operator's "
                "conversion webhook serves both versions while objects are rewritten.")
    if step.applied.entry is None:
        earlier = " or ".join(f"`{v}`" for v in target.earlier_api_versions)
        return (f"Graphs are `{target.api_version}` DynamoGraphDeployments; one an earlier version of this project "
                f"registered as {earlier} is updated, not replaced (the earlier type is an alias).")
    return f"Graphs stay `{target.api_version}` DynamoGraphDeployments."


def _flags_line(step: Step, target: DynamoRelease) -> str:
    old = step.applied.entry
    if old is None:
        return (f"Backend flags: what the graphs ran with on {step.applied.version} is not in the release table; "
                f"every worker gets {target.version}'s. Check each graph's `extraArgs` against the {target.version} "
                "backend documentation first: a flag the release dropped fails only when the pod starts.")
    changes = backend_changes(old, target)
    return "Backend flags: " + ("; ".join(changes) + "." if changes else "none change.")


def _evidence_lines(target: DynamoRelease) -> list[str]:
    out = []
    if not target.artifacts_confirmed:
        out.append(f"Check that the {target.version} images exist in your registry first: the release table's tags "
                   "for it were not read from a published artifact list.")
    others = [text for text in target.evidence.unconfirmed() if text != "its image tags"]
    if others:
        out.append(f"Not read from {target.version}'s own artifacts: {_and(others)}; compare the chart's "
                   "`helm show values` with this plan before `pulumi up`.")
    return out


def pulumi_step_items(step: Step, target: DynamoRelease, plan: TransportPlan) -> list[str]:
    """A step onto a table entry, in the order `pulumi up` applies it."""
    backwards = _key(target.version) < _key(step.before.version)
    chart = (f"The dynamo-platform release moves {'back ' if backwards else ''}"
             + (f"from chart {step.before.chart} " if step.before.chart else "")
             + f"to chart {target.chart.version} first: every graph depends on it. Its CRD job applies the "
               f"{target.version} DynamoGraphDeployment CRD before the {target.version} operator starts "
               "(`upgradeCRD`).")
    if step.applied != step.before:
        chart += (" `pulumi preview` compares with Pulumi's state (the release it applied last), not with the "
                  "charts applied by hand.")
    after = step.after
    return [chart, *_values_lines(step, target, plan), _bundled(step.before, after), _api_line(step, target),
            _storage(step.before, after),
            f"Graphs that do not pin `image` move from {_images(step.applied, after)}: their pods roll, replica by "
            "replica where the graph has several.",
            _flags_line(step, target), *_evidence_lines(target)]


def hand_step_lines(step: Step, install: Install) -> list[str]:
    """A step onto a minor this project does not deploy: upstream's chart, applied by hand."""
    after, upstream = step.after, step.after.upstream
    assert upstream is not None  # a step by hand lands on a minor without an entry
    dropped = step.before.upstream.dropped_keys if step.before.upstream else ()
    values = f"{install.release_name}-values.yaml"
    lines = [f"This project has no release-table entry for {upstream.minor}: apply upstream's dynamo-platform chart "
             f"of {upstream.minor} by hand, and run no `pulumi up` until a step says so (it would move the release "
             "straight to this stack's `operator.version`).", ""]
    if after.chart is None:
        lines += [f"The chart version of {upstream.minor} is not known here: take its newest patch from upstream's "
                  "release artifacts.", ""]
    else:
        lines += ["```sh",
                  f"helm get values {install.release_name} -n {install.namespace} -o yaml > {values}"]
        if dropped:
            lines.append(f"# delete {' and '.join(dropped)} from {values}: the {upstream.minor} chart refuses them")
        lines += [f"helm upgrade {install.release_name} {install.chart()} --version {after.chart} "
                  f"-n {install.namespace} -f {values}", "```", ""]
    items = [
        (f"Chart {after.chart}: the newest {upstream.minor} chart upstream's docs name (a later {upstream.minor} "
         "patch: not known here)." if after.chart else f"Chart of {upstream.minor}: {NOT_KNOWN}.")
        + (" `helm show values` of it says which keys take the place of the ones it refuses." if dropped else
           " `helm show values` of it lists the keys it takes."),
        f"Its operator serves DynamoGraphDeployments as `{_known(upstream.api_version)}`"
        + (f"; the graphs this project registered as `{step.applied.api_version}` keep working through the "
           "conversion webhook until its next `pulumi up` updates them."
           if step.applied.api_version not in (None, upstream.api_version) else "."),
        _storage(step.before, after),
        _bundled(step.before, after),
        f"Graphs keep their images (`{step.applied.image_tag}`) until this project's next `pulumi up` moves them. "
        f"{upstream.minor}'s runtime images: `{after.image_tag}`, `{_known(after.efa_image_tag)}` on EFA pools "
        f"({upstream.efa_images}); {upstream.images}.",
        f"Backend flags of {upstream.minor}: not in the release table."
        + (f" Upstream's notes on it: {'; '.join(upstream.notes)}." if upstream.notes else ""),
        f"What this project knows of {upstream.minor} comes from upstream's release notes and docs, not from its "
        "chart, CRD or wheels.",
    ]
    return lines + _numbered(items)


def _numbered(items: Sequence[str]) -> list[str]:
    return [f"{n}. {text}" for n, text in enumerate(items, 1)]


# -- the section ------------------------------------------------------------------------------------

def _order_lines(steps: Sequence[Step], target: DynamoRelease) -> list[str]:
    """What to do, step by step, when the stack's release is more than one step away."""
    out = []
    for n, step in enumerate(steps, 1):
        if step.by_hand:
            out.append(f"Apply upstream's chart {step.after.version} by hand (step {n}).")
        elif step.after.version == target.version:
            out.append(f"Plan again with `--deployed-version {step.before.version}`, then run `pulumi up` with this "
                       f"stack's `operator.version: {target.version}` (step {n}).")
        else:
            out.append(f"Set `operator.version: {step.after.version}`, plan again with `--deployed-version "
                       f"{step.before.version}`, and run `pulumi up` (step {n}).")
    return _numbered(out)


def _step_title(n: int, total: int, step: Step, target: DynamoRelease) -> str:
    if step.by_hand:
        how = "by hand, with upstream's chart"
    elif step.after.version == target.version:
        how = f"`pulumi up` with this stack's `operator.version: {target.version}`"
    else:
        how = f"`pulumi up` with `operator.version: {step.after.version}`"
    return f"### Step {n} of {total}: {step.before.version} → {step.after.version}, {how}"


def _step_lines(n: int, steps: Sequence[Step], target: DynamoRelease, plan: TransportPlan,
                install: Install) -> list[str]:
    step = steps[n - 1]
    lines = ["", _step_title(n, len(steps), step, target), ""]
    if step.after.entry is None:
        return lines + hand_step_lines(step, install)
    return [*lines, "In the order `pulumi up` applies it:", "",
            *_numbered(pulumi_step_items(step, step.after.entry, plan))]


def section_lines(steps: Sequence[Step], target: DynamoRelease, plan: TransportPlan, install: Install) -> list[str]:
    """The Upgrade section: no change, one step, or the order of the steps and each step."""
    if not steps:
        return [f"The cluster runs Dynamo {target.version}, the release this stack deploys: no release change."]
    deployed = steps[0].before
    if len(steps) == 1:
        backwards = _key(target.version) < _key(deployed.version)
        return [f"From Dynamo {deployed.version} (deployed) to {target.version} "
                f"({'a downgrade' if backwards else 'an upgrade'}), in the order `pulumi up` applies it:", "",
                *_numbered(pulumi_step_items(steps[0], target, plan))]
    minors = [_minor_text(s.after.minor) for s in steps[:-1]]
    lines = [f"From Dynamo {deployed.version} (deployed) to {target.version}, this stack's `operator.version`: "
             f"an upgrade in {len(steps)} steps, one minor release each.", "",
             "Upstream supports moving within a minor release or to the adjacent minor, and asks for every "
             "intermediate minor to be applied in order: one `pulumi up` may move only one minor. **Do not run "
             f"`pulumi up` with this stack's `operator.version` now**: it would skip {_and(minors)}. In order:", "",
             *_order_lines(steps, target)]
    for n in range(1, len(steps) + 1):
        lines += _step_lines(n, steps, target, plan, install)
    return lines


def upgrade(deployed_version: str, target: DynamoRelease, plan: TransportPlan,
            install: Install = DEFAULT_INSTALL) -> Upgrade:
    """The steps from `deployed_version` to `target` and the Markdown lines that say them. Raises
    `UpgradeRefused` for a version it cannot plan from and a move back it refuses."""
    deployed = deployed_release(deployed_version)
    steps = chain(deployed, upgrade_path(deployed, target))
    lines = section_lines(steps, target, plan, install)
    return Upgrade(deployed=deployed, target=target, steps=tuple(steps), lines=tuple(lines))


def upgrade_lines(deployed_version: str, target: DynamoRelease, plan: TransportPlan,
                  install: Install = DEFAULT_INSTALL) -> list[str]:
    """Markdown lines of what moving the cluster's Dynamo from `deployed_version` to `target` takes."""
    return list(upgrade(deployed_version, target, plan, install).lines)
