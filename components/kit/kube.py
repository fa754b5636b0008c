"""Registering Kubernetes objects from plain manifests.

Value builders return complete manifests as plain dicts. `KubeObject` registers one of them with
the type token pulumi-kubernetes uses for its kind (``kubernetes:apps/v1:StatefulSet``), so state,
previews and the provider's await logic are those of the typed SDK classes, while the manifest the
plan writes is exactly the object sent to the API server. It also keeps the offline plan fast: the
typed SDK modules cost a quarter of a second to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

# The cluster DNS domain Services are published under.
CLUSTER_DOMAIN = "cluster.local"

# Labels every object we create carries (kubernetes.io recommended labels).
PART_OF = "dynamo-cluster"
MANAGED_BY = "pulumi"

# Kinds whose payload fields hold secret material.
_SECRET_FIELDS = {"Secret": ("data", "stringData")}


def type_token(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type token of a kind: the core group is spelled ``core``."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def service_host(service: str, namespace: str) -> str:
    """The in-cluster DNS name of a Service: ``<service>.<namespace>.svc.cluster.local``."""
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def secret_value_from(secret_name: pulumi.Input[str], key: str) -> dict[str, Any]:
    """An EnvVar's source: key `key` of Secret `secret_name` (charts that take env as a map use it alone)."""
    return {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def secret_env_var(name: str, secret_name: pulumi.Input[str], key: str | None = None) -> dict[str, Any]:
    """An EnvVar whose value is read from key `key` (default: `name`) of Secret `secret_name`."""
    return {"name": name, **secret_value_from(secret_name, key or name)}


def labels(name: str, component: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The recommended labels for an object that is part of `component`."""
    out = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }
    out.update(extra or {})
    return out


class KubeObject(pulumi.CustomResource):
    """One Kubernetes object, registered from its manifest."""

    metadata: pulumi.Output[dict[str, Any]]

    def __init__(self, resource_name: str, manifest: Mapping[str, Any],
                 opts: pulumi.ResourceOptions) -> None:
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        props: dict[str, Any] = dict(manifest)
        secret_fields = [f for f in _SECRET_FIELDS.get(kind, ()) if f in props]
        for f in secret_fields:
            # Each value is secret, the keys are not: the plan then shows a Secret's shape (and
            # validates against the schema) without its contents.
            value = props[f]
            props[f] = ({k: pulumi.Output.secret(v) for k, v in value.items()} if isinstance(value, Mapping)
                        else pulumi.Output.secret(value))
        if secret_fields:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                additional_secret_outputs=secret_fields))
        super().__init__(type_token(api_version, kind), resource_name, props, opts)

    @property
    def name(self) -> pulumi.Output[str]:
        """metadata.name once the object exists: depend on the object by using it."""
        return self.metadata.apply(lambda m: str(m["name"]))
