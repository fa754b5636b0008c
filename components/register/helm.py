"""Helm releases: one pinned chart, one `helm.v3.Release`, values from a pure builder.

pulumi-kubernetes is imported when a release is registered, not with this module, so code that only
reads settings (the stack config, preflight, verify) never loads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pulumi

from components.kit.charts import ChartRef

if TYPE_CHECKING:
    from pulumi_kubernetes.helm.v3 import Release

__all__ = ["helm_release"]


def helm_release(resource_name: str, *, chart: ChartRef, release_name: str, namespace: pulumi.Input[str],
                 values: Mapping[str, Any], opts: pulumi.ResourceOptions, timeout_seconds: int = 600) -> Release:
    """Install or upgrade `chart` atomically: a failed upgrade rolls back, hooks run, and the
    release waits for its workloads (and jobs) to become ready."""
    from pulumi_kubernetes.helm.v3 import Release, RepositoryOptsArgs

    return Release(
        resource_name,
        name=release_name,
        namespace=namespace,
        chart=f"{chart.repository.rstrip('/')}/{chart.name}" if chart.oci else chart.name,
        version=chart.version,
        repository_opts=None if chart.oci else RepositoryOptsArgs(repo=chart.repository),
        values=dict(values),
        atomic=True,
        cleanup_on_fail=True,
        wait_for_jobs=True,
        timeout=timeout_seconds,
        max_history=10,
        opts=opts,
    )
