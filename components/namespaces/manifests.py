"""The namespaces every later component lives in: platform, monitoring and workloads, each with the
Pod Security Standard its pods are held to.

Pod Security levels (Kubernetes' Pod Security admission, `pod-security.kubernetes.io/*` labels):

- platform (the Dynamo operator, Grove, KAI, NATS, etcd): `baseline` enforced, `restricted` warned
  and audited.
- workloads (the graphs): `privileged` only when a graph runs workers on an EFA pool, which the EFA
  guide requires to be privileged (the policy pack then allows privilege only in containers that
  request EFA interfaces); `baseline` otherwise. Either way the next level up is warned and audited.
- monitoring: `privileged`, because its node agents (the Prometheus node exporter) read the host's
  network, process and file-system namespaces; `baseline` is warned and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from components.kit.kube import labels

PodSecurityLevel = Literal["privileged", "baseline", "restricted"]
_STRICTER: dict[PodSecurityLevel, PodSecurityLevel] = {
    "privileged": "baseline", "baseline": "restricted", "restricted": "restricted"}
POD_SECURITY_PREFIX = "pod-security.kubernetes.io/"


@dataclass(frozen=True)
class NamespaceNames:
    platform: str
    monitoring: str
    workloads: str


def pod_security_labels(level: PodSecurityLevel) -> dict[str, str]:
    """Enforce `level`; warn about and audit what the next stricter level would refuse."""
    stricter = _STRICTER[level]
    return {f"{POD_SECURITY_PREFIX}enforce": level, f"{POD_SECURITY_PREFIX}warn": stricter,
            f"{POD_SECURITY_PREFIX}audit": stricter}


def namespace_manifest(name: str, role: str, pod_security: PodSecurityLevel = "baseline") -> dict[str, object]:
    """A Namespace labelled with its role in the cluster and its Pod Security level."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": labels(name, role, {"dynamo-cluster/role": role,
                                                                 **pod_security_labels(pod_security)})},
    }


def workloads_level(efa_workers: bool) -> PodSecurityLevel:
    return "privileged" if efa_workers else "baseline"
