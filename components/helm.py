"""Helm releases: one pinned chart, one `helm.v3.Release`, values from a pure builder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs


@dataclass(frozen=True)
class ChartRef:
    """A chart pinned to one version in one repository (an HTTP index or an ``oci://`` registry)."""

    name: str
    version: str
    repository: str

    def __post_init__(self) -> None:
        if not self.version or self.version in ("latest", "*"):
            raise ValueError(f"chart {self.name}: a release needs a pinned version, got {self.version!r}")


def helm_release(resource_name: str, *, chart: ChartRef, release_name: str, namespace: pulumi.Input[str],
                 values: Mapping[str, Any], opts: pulumi.ResourceOptions, timeout_seconds: int = 600) -> Release:
    """Install or upgrade `chart` atomically: a failed upgrade rolls back, hooks run, and the
    release waits for its workloads (and jobs) to become ready."""
    oci = chart.repository.startswith("oci://")
    return Release(
        resource_name,
        name=release_name,
        namespace=namespace,
        chart=f"{chart.repository.rstrip('/')}/{chart.name}" if oci else chart.name,
        version=chart.version,
        repository_opts=None if oci else RepositoryOptsArgs(repo=chart.repository),
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        wait_for_jobs=True,
        timeout=timeout_seconds,
        max_history=10,
        opts=opts,
    )
