"""Helm releases: one pinned chart, one `helm.sh/v3:Release` resource, values from a pure builder.

`HelmRelease` registers the release the way `components.register.kube.KubeObject` registers
Kubernetes objects: with pulumi-kubernetes' own type token (``kubernetes:helm.sh/v3:Release``), its
wire property names and the provider version its SDK pins, so the engine and the provider treat it
exactly as the SDK's `helm.v3.Release` (same URN, same inputs, same await logic), without importing
that SDK module and what it loads (its YAML and HTTP stacks: about 80 ms of every plan).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.kit.charts import ChartRef

__all__ = ["HelmRelease", "helm_release"]

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"


def _provider_version() -> pulumi.ResourceOptions:
    """What the SDK's resources carry: the kubernetes provider plugin version it was built for."""
    from pulumi_kubernetes import _utilities

    version: str = _utilities.get_version()  # type: ignore[no-untyped-call]
    download: str | None = _utilities.get_plugin_download_url()  # type: ignore[no-untyped-call]
    return pulumi.ResourceOptions(version=version, plugin_download_url=download)


class HelmRelease(pulumi.CustomResource):
    """One Helm release, from the SDK's wire properties (camelCase, as the provider schema names them)."""

    name: pulumi.Output[str]
    namespace: pulumi.Output[str]
    status: pulumi.Output[Any]

    def __init__(self, resource_name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions) -> None:
        # `compat` is what the SDK's Release always sends; `status` is the output the provider fills in.
        all_props = {**props, "compat": "true", "status": None}
        options = pulumi.ResourceOptions.merge(_provider_version(), opts)
        super().__init__(RELEASE_TYPE, resource_name, all_props, options)


def helm_release(resource_name: str, *, chart: ChartRef, release_name: str, namespace: object,
                 values: Mapping[str, Any], opts: pulumi.ResourceOptions, timeout_seconds: int = 600) -> HelmRelease:
    """Install or upgrade `chart` atomically: a failed upgrade rolls back, hooks run, and the
    release waits for its workloads (and jobs) to become ready."""
    props: dict[str, Any] = {
        "atomic": True,
        "chart": f"{chart.repository.rstrip('/')}/{chart.name}" if chart.oci else chart.name,
        "cleanupOnFail": True,
        "maxHistory": 10,
        "name": release_name,
        "namespace": namespace,
        "timeout": timeout_seconds,
        "values": dict(values),
        "version": chart.version,
        "waitForJobs": True,
    }
    if not chart.oci:
        props["repositoryOpts"] = {"repo": chart.repository}
    return HelmRelease(resource_name, props, opts)
