"""Cluster preflight of the nodes NATS and etcd run on: enough of them before the first `pulumi up`.

NATS servers and etcd members tolerate no taint, select nodes by ``nats.nodeSelector`` /
``etcd.nodeSelector`` when set, and in prod must each run on a node of its own (required pod
anti-affinity, `components.kit.spread`): a cluster with fewer such nodes than replicas leaves servers
Pending, and the release never becomes ready. So a node counts when it is Ready, schedulable (not
cordoned), matches the service's node selector and carries no NoSchedule or NoExecute taint: GPU
nodes, tainted ``nvidia.com/gpu`` (NoSchedule) by the node groups this stack creates, never count,
nor do control-plane nodes that keep their taint. A dev stack only prefers separate nodes: one such
node is enough there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import NodeInfo
from stacks.ops.report import Finding

NAME = "platform nodes"
# The replica counts NATS and etcd accept (stacks.config.nats / stacks.config.etcd).
SIZES = (1, 3, 5)


@dataclass(frozen=True)
class PlatformService:
    """A replicated service of the platform and what it asks of nodes."""

    title: str  # NATS, etcd
    member: str  # what one replica is called: server, member
    key: str  # its config section
    replicas: int
    separate_nodes: bool  # one replica per node (prod)
    node_selector: Mapping[str, str] = field(default_factory=dict)

    @property
    def nodes_needed(self) -> int:
        return self.replicas if self.separate_nodes else 1

    def describe(self) -> str:
        return f"{self.title} {self.replicas} {self.member}{'s' if self.replicas != 1 else ''}"


def platform_services(config: StackConfig) -> list[PlatformService]:
    services = []
    if config.nats is not None:
        nats = config.nats
        services.append(PlatformService("NATS", "server", "nats", nats.replicas, nats.separate_nodes,
                                        nats.node_selector))
    if config.etcd is not None:
        etcd = config.etcd
        services.append(PlatformService("etcd", "member", "etcd", etcd.replicas, etcd.separate_nodes,
                                        etcd.node_selector))
    return services


def _selector(selector: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))


def _why_not(node: NodeInfo) -> str | None:
    """Why NATS and etcd cannot run on the node; None when they can."""
    if not node.ready:
        return "not Ready"
    if node.unschedulable:
        return "cordoned"
    if node.repelling_taints:
        return "taint " + ", ".join(str(t) for t in node.repelling_taints)
    return None


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def _left_out(nodes: Sequence[NodeInfo], limit: int = 5) -> str:
    reasons = [(n.name, why) for n in nodes if (why := _why_not(n)) is not None]
    shown = ", ".join(f"{name} ({why})" for name, why in reasons[:limit])
    more = f" and {len(reasons) - limit} more" if len(reasons) > limit else ""
    return f"; left out: {shown}{more}" if reasons else ""


def check_platform_nodes(services: Sequence[PlatformService], nodes: Sequence[NodeInfo]) -> list[Finding]:
    """One result per node selector the services use (one, unless NATS and etcd select differently)."""
    if not services:
        return [Finding.passed(NAME, "the stack runs neither NATS nor etcd: its transport plan needs neither")]
    by_selector: dict[str, list[PlatformService]] = {}
    for service in services:
        by_selector.setdefault(_selector(service.node_selector), []).append(service)
    results = []
    for selector, group in by_selector.items():
        matched = [n for n in nodes if n.matches(group[0].node_selector)]
        usable = [n for n in matched if _why_not(n) is None]
        need = max(s.nodes_needed for s in group)
        who = _and([s.title for s in group])
        kind = "Ready, schedulable, without a NoSchedule or NoExecute taint" + (f", labelled {selector}" if selector
                                                                                else "")
        placement = "one per node" if any(s.separate_nodes for s in group) else "sharing nodes (dev)"
        asks = f"{_and([s.describe() for s in group])}, {placement}"
        have = len(usable)
        counted = f"{have} node{'s' if have != 1 else ''} can run {who} ({kind})"
        if have >= need:
            results.append(Finding.passed(NAME, f"{counted}; they need {need}: {asks}"))
            continue
        results.append(Finding.failed(NAME, f"{counted}, but they need {need}: {asks}{_left_out(matched)}",
                                          _fix(group, have, need, selector)))
    return results


def _fix(group: Sequence[PlatformService], have: int, need: int, selector: str) -> str:
    labelled = f", labelled {selector}" if selector else ""
    options = [f"add a system node group of at least {need - have} node{'s' if need - have != 1 else ''} without "
               f"NoSchedule or NoExecute taints{labelled} (NATS and etcd tolerate none)"]
    crowded = [s for s in group if s.separate_nodes and s.replicas > have]
    if crowded and have >= 1:
        size = max(n for n in SIZES if n <= have)
        options.append(f"lower {_and([s.key + '.replicas' for s in crowded])} to {size} (fewer replicas survive "
                       f"fewer node failures; only a dev stack lets them share nodes)")
    if selector:
        options.append(f"change {_and([s.key + '.nodeSelector' for s in group])} to labels more such nodes carry")
    return ", or ".join(options)
