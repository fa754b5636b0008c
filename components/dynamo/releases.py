"""The Dynamo releases this project deploys: one typed entry per release, holding what differs
between them. `operator.version` in stack config picks the entry; a version with no entry is a
config error (docs/upgrade.md says how to move from one that is not here).

Each entry says which of its facts were read from that release's own artifacts (`Evidence`); the
plan warns about every other one. Where the facts were read (the reference folders that steer this
project; SOURCE.txt in each):

- 1.4.2: the dynamo-platform chart 1.4.2 (Chart.yaml, values.yaml and the operator subchart's, at
  tag v1.4.2); the artifact list of the release-artifacts page, which calls v1.4.2 the current
  stable release (runtime images with ``1.4.2`` and ``1.4.2-efa`` tags, dynamo-frontend,
  dynamo-planner, kubernetes-operator); the DynamoGraphDeployment CRD of the 1.4 branch (v1beta1
  served, v1alpha1 the storage version); the Grove name-length limit and the 25-component limit;
  the v1beta1 examples (SGLang workers run with ``--skip-tokenizer-init``); the ai-dynamo 1.4.2
  wheels, whose TensorRT-LLM wrapper calls the examples' ``--publish-events-and-metrics`` a
  deprecated alias of ``--publish-kv-events`` (so 1.4.2 gets the latter, as 1.5 does).
- 1.5.0: the dynamo-platform chart 1.5.0 values and Chart.yaml of the 1.5 branch before its release
  cut (Grove v0.1.0-alpha.13, KAI v0.17.0), the 1.5 examples (``--publish-kv-events``, no
  ``--skip-tokenizer-init``) and the 1.5 notes that v1beta1 becomes the storage version. No
  published artifact list of 1.5.0 was available: its image tags follow the 1.4.2 naming.
- 1.5.1 (a patch release, 2026-10-06): its wheels; the chart, bundled versions and CRD are taken
  to be 1.5.0's (a patch release changes none in upstream's release notes), not read.
- 1.6.1: its wheels (every worker and frontend flag the tests check; TensorRT-LLM's
  ``--publish-events-and-metrics`` gone, ``--publish-kv-events`` and ``--publish-metrics`` in its
  place); the 1.6-era multi-node orchestration page (``global.grove.install``,
  ``global.kai-scheduler.install``, external Grove at least v0.1.0-alpha.14-rc1 and KAI at least
  v0.17.0, role-specific pod templates and the ``DYNAMO_RANK``/``DYNAMO_LEADER_ADDRESS``
  variables of 1.6); the 1.6-era chart's install-time checks. The 1.6 chart's values, its bundled
  Grove and KAI versions and its CRD could not be read: the values keys are 1.5's, unconfirmed.

The chart's install-time check on KAI's stale-PodGroup eviction (`kai_staleness_check`): the 1.4
chart (validate-values.yaml last changed 2026-07-07) has none; 1.5-era and 1.6-era main refuse an
install with bundled KAI and Grove unless ``kai-scheduler.scheduler.args.default-staleness-grace-period``
renders as ``-1`` (dynamo-1.4/SOURCE.txt and dynamo-1.7/repo-index-1.6-era/chart-checks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from components.dynamo.backends.base import NO_CHANGES, Backend, BackendRelease
from components.kit.charts import DYNAMO_PLATFORM, ChartRef

REGISTRY = "nvcr.io/nvidia/ai-dynamo"

# The values keys of the dynamo-platform chart this project sets, as dotted paths: present in the
# 1.4.2 and the 1.5.0 chart alike (their values.yaml and the operator subchart's). A key outside a
# release's set is never sent to that release's chart (tests/unit/test_operator.py).
PLATFORM_VALUES_KEYS = frozenset({
    "global.nats.install", "global.etcd.install",
    "global.grove.install", "global.grove.enabled",
    "global.kai-scheduler.install", "global.kai-scheduler.enabled",
    "dynamo-operator.upgradeCRD", "dynamo-operator.natsAddr", "dynamo-operator.etcdAddr",
    "dynamo-operator.discoveryBackend", "dynamo-operator.imagePullSecrets", "dynamo-operator.env",
    "dynamo-operator.controllerManager.affinity",
    "dynamo-operator.controllerManager.manager.resources", "dynamo-operator.controllerManager.manager.image.tag",
    "dynamo-operator.dynamo.metrics.prometheusEndpoint", "dynamo-operator.dynamo.metrics.podMonitors.enabled",
    "dynamo-operator.dynamo.metrics.podMonitors.nixlTelemetry",
    "kai-scheduler.global.affinity",
})
# The 1.5 and later charts' check on KAI's stale-PodGroup eviction reads this key (the module docstring).
STALENESS_VALUES_KEYS = PLATFORM_VALUES_KEYS | {"kai-scheduler.scheduler.args.default-staleness-grace-period"}


@dataclass(frozen=True)
class NameLimits:
    """What the operator refuses or rewrites, by name length and count.

    On the Grove path the PodCliqueSet name (the graph's) plus a component's name must fit
    `grove_combined`; a component that spans nodes also adds its longest PodClique role name,
    ``<component>-ldr`` / ``<component>-wkr`` (`multinode_role_suffix` more characters)."""

    grove_combined: int = 45
    multinode_role_suffix: int = 4
    components_per_graph: int = 25

    def clique_length(self, component: str, multinode: bool) -> int:
        """What one component adds to the PodCliqueSet name on the Grove path."""
        return 2 * len(component) + self.multinode_role_suffix if multinode else len(component)

    def graph_name_room(self, components: Sequence[tuple[str, bool]]) -> int:
        """The longest graph name the operator takes as it is for these (name, spans nodes) components."""
        return self.grove_combined - max(self.clique_length(name, multinode) for name, multinode in components)

    def problems(self, graph: str, components: Sequence[tuple[str, bool]]) -> list[tuple[str, str]]:
        """(what is wrong, what is allowed) for a graph name and its components."""
        out: list[tuple[str, str]] = []
        if len(components) > self.components_per_graph:
            out.append((f"has {len(components)} components", f"at most {self.components_per_graph} per graph"))
        room = self.graph_name_room(components)
        if len(graph) > room:
            name, multinode = max(components, key=lambda c: self.clique_length(*c))
            clique = f"{name}-ldr" if multinode else name
            out.append((f"is {graph!r} ({len(graph)} characters): on the Grove path the operator names pods "
                        f"after the graph and its longest clique, {clique!r}"
                        + (f" of the {name} component that spans nodes" if multinode else "")
                        + f", within {self.grove_combined} characters",
                        f"a name of at most {room} characters for this graph"))
        return out


@dataclass(frozen=True)
class Evidence:
    """Which facts of an entry were read from the release's own artifacts. A fact that was not
    follows the previous release (or a pre-release) and the plan says so."""

    chart: bool  # the chart's values keys and bundled Grove/KAI, from its Chart.yaml and values.yaml
    crd: bool  # the DynamoGraphDeployment CRD's versions, from the release's CRD
    images: bool  # the image tags, from a published artifact list
    runtime: bool  # worker and frontend flags, from the release's ai-dynamo wheels (the conformance suite runs them)

    def unconfirmed(self) -> tuple[str, ...]:
        """What the plan warns about, in words."""
        return tuple(text for fact, text in (
            (self.chart, "its chart's values keys and bundled Grove and KAI versions"),
            (self.crd, "its DynamoGraphDeployment CRD versions"),
            (self.images, "its image tags"),
            (self.runtime, "its worker and frontend flags"),
        ) if not fact)

    @property
    def complete(self) -> bool:
        return self.chart and self.crd and self.images and self.runtime


@dataclass(frozen=True)
class DynamoRelease:
    version: str
    chart: ChartRef
    api_version: str  # of DynamoGraphDeployments
    crd_storage_version: str  # the version the API server stores DynamoGraphDeployments in
    image_tag: str
    efa_image_tag: str
    grove_version: str | None  # the Grove and KAI charts bundled with dynamo-platform (None: not known)
    kai_version: str | None
    evidence: Evidence
    # Whether the chart refuses bundled KAI with Grove unless KAI's stale-PodGroup eviction is off.
    kai_staleness_check: bool = False
    # The ai-dynamo / ai-dynamo-runtime wheels of this release are published (the conformance suite runs them).
    runtime_wheels: bool = True
    # What the release changes of a backend's defaults (its profile holds the newest release's), by name.
    backends: Mapping[str, BackendRelease] = field(default_factory=dict)
    values_keys: frozenset[str] = PLATFORM_VALUES_KEYS
    limits: NameLimits = NameLimits()
    # DynamoGraphDeployment API versions earlier releases of this project wrote (1.1 wrote v1alpha1).
    earlier_api_versions: tuple[str, ...] = ("nvidia.com/v1alpha1",)

    def backend(self, name: str) -> BackendRelease:
        """What this release changes of the backend `name`."""
        return self.backends.get(name, NO_CHANGES)

    def runtime_image(self, backend: Backend, *, efa: bool = False) -> str:
        """The runtime image of a backend's workers (and frontend), the EFA variant on EFA pools."""
        tag = self.efa_image_tag if efa and backend.efa_image else self.image_tag
        return f"{REGISTRY}/{backend.image_repository}:{tag}"

    @property
    def frontend_image(self) -> str:
        """The standalone frontend image. Graphs run their frontend from the runtime image, as
        upstream's examples do; this one is the release's own, for a `frontend.image` override."""
        return f"{REGISTRY}/dynamo-frontend:{self.image_tag}"

    @property
    def planner_image(self) -> str:
        return f"{REGISTRY}/dynamo-planner:{self.image_tag}"

    @property
    def operator_image(self) -> str:
        return f"{REGISTRY}/kubernetes-operator:{self.image_tag}"

    @property
    def artifacts_confirmed(self) -> bool:
        """The image tags were read from a published artifact list."""
        return self.evidence.images

    @property
    def minor(self) -> tuple[int, int]:
        major, minor = self.version.split(".")[:2]
        return int(major), int(minor)


# What the releases before 1.6 change of the backends' defaults (the profiles hold 1.6's): TensorRT-LLM
# publishes KV events, and with them its metrics, with --publish-kv-events alone (1.6 splits them).
_TRTLLM_BEFORE_1_6 = BackendRelease(kv_events_args=("--publish-kv-events",))

RELEASES: Mapping[str, DynamoRelease] = {
    "1.4.2": DynamoRelease(
        version="1.4.2", chart=DYNAMO_PLATFORM["1.4.2"],
        api_version="nvidia.com/v1beta1", crd_storage_version="v1alpha1", image_tag="1.4.2",
        efa_image_tag="1.4.2-efa", grove_version="v0.1.0-alpha.12-rc1", kai_version="v0.13.4",
        evidence=Evidence(chart=True, crd=True, images=True, runtime=True),
        backends={
            "trtllm": _TRTLLM_BEFORE_1_6,
            # The 1.4 examples run SGLang workers without a tokenizer of their own (the frontend tokenizes).
            "sglang": BackendRelease(worker_args=("--skip-tokenizer-init",)),
        }),
    "1.5.0": DynamoRelease(
        version="1.5.0", chart=DYNAMO_PLATFORM["1.5.0"],
        api_version="nvidia.com/v1beta1", crd_storage_version="v1beta1", image_tag="1.5.0",
        efa_image_tag="1.5.0-efa", grove_version="v0.1.0-alpha.13", kai_version="v0.17.0",
        evidence=Evidence(chart=False, crd=False, images=False, runtime=True), kai_staleness_check=True,
        values_keys=STALENESS_VALUES_KEYS, backends={"trtllm": _TRTLLM_BEFORE_1_6}),
    "1.5.1": DynamoRelease(
        version="1.5.1", chart=DYNAMO_PLATFORM["1.5.1"],
        api_version="nvidia.com/v1beta1", crd_storage_version="v1beta1", image_tag="1.5.1",
        efa_image_tag="1.5.1-efa", grove_version="v0.1.0-alpha.13", kai_version="v0.17.0",
        evidence=Evidence(chart=False, crd=False, images=False, runtime=True), kai_staleness_check=True,
        values_keys=STALENESS_VALUES_KEYS, backends={"trtllm": _TRTLLM_BEFORE_1_6}),
    "1.6.1": DynamoRelease(
        version="1.6.1", chart=DYNAMO_PLATFORM["1.6.1"],
        api_version="nvidia.com/v1beta1", crd_storage_version="v1beta1", image_tag="1.6.1",
        efa_image_tag="1.6.1-efa", grove_version=None, kai_version=None,
        evidence=Evidence(chart=False, crd=False, images=False, runtime=True), kai_staleness_check=True,
        values_keys=STALENESS_VALUES_KEYS),
}
# The newest release whose chart, CRD and runtime were all read from its own artifacts (README,
# "Dynamo releases").
DEFAULT_VERSION = "1.4.2"
DEFAULT_RELEASE = RELEASES[DEFAULT_VERSION]
