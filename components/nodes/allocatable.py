"""What a node of a known instance type leaves to pods: its vCPUs and memory (`catalog`) less what
the kubelet keeps for itself, estimated with the EKS AMI's reservation formulas.

- CPU kept: 6% of the first core, 1% of the second, 0.5% of the third and fourth, 0.25% of every
  core after that (amazon-eks-ami's kube-reserved CPU ranges, as GKE's).
- Memory kept: 255 MiB plus 11 MiB per pod the node may run (amazon-eks-ami's kube-reserved memory),
  counted for 250 pods (the most EKS sets on large instances: an upper bound, so the estimate errs
  towards refusing a pod that would just fit), plus the kubelet's 100 MiB hard eviction threshold.

A pod whose requests exceed this stays Pending on every node of the pool; the config check refuses
it before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.nodes.catalog import lookup

MAX_PODS = 250
EVICTION_MIB = 100


@dataclass(frozen=True)
class Allocatable:
    millicores: int
    mebibytes: int


def reserved_millicores(vcpus: int) -> int:
    steps = ((1, 60), (1, 10), (2, 5), (max(0, vcpus - 4), 2.5))  # (cores, millicores kept per core)
    kept, left = 0.0, vcpus
    for cores, per_core in steps:
        take = min(cores, left)
        kept += take * per_core
        left -= take
    return int(kept + 0.999)


def reserved_mebibytes() -> int:
    return 255 + 11 * MAX_PODS + EVICTION_MIB


def allocatable(instance_type: str | None) -> Allocatable | None:
    """The estimate for `instance_type`; None for a type the catalog does not hold."""
    facts = lookup(instance_type) if instance_type else None
    if facts is None:
        return None
    return Allocatable(millicores=facts.vcpus * 1000 - reserved_millicores(facts.vcpus),
                       mebibytes=facts.memory_gib * 1024 - reserved_mebibytes())
