"""Spreading the members of a replicated service over nodes and zones.

Members of a quorum (etcd, the JetStream meta group) must not share a node: losing one node would
take two members and the quorum with them. So prod requires distinct nodes (a pod stays Pending
rather than doubling up), dev only prefers them (a one-node kind cluster still works). Zones are
a best-effort spread: clusters whose nodes carry no zone label, or have one zone, still schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HOSTNAME_KEY = "kubernetes.io/hostname"
ZONE_KEY = "topology.kubernetes.io/zone"


def anti_affinity(pod_labels: Mapping[str, str], required: bool) -> dict[str, Any]:
    """Pod anti-affinity that keeps pods with `pod_labels` on distinct nodes."""
    term = {"labelSelector": {"matchLabels": dict(pod_labels)}, "topologyKey": HOSTNAME_KEY}
    if required:
        return {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
    return {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": term}]}}


def zone_constraint() -> dict[str, Any]:
    """The zone spread, without its label selector (callers add the one that fits their format)."""
    return {"maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}


def zone_spread(pod_labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A topologySpreadConstraints list that spreads pods with `pod_labels` over zones."""
    return [{**zone_constraint(), "topologyKey": ZONE_KEY, "labelSelector": {"matchLabels": dict(pod_labels)}}]
