"""What every Kubernetes manifest of the project shares: type tokens, labels, Service names and
env entries read from a Secret. Pure: `components.register.kube.KubeObject` registers the manifests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.kit.ref import Ref

# The cluster DNS domain Services are published under.
CLUSTER_DOMAIN = "cluster.local"

# Labels every object we create carries (kubernetes.io recommended labels).
PART_OF = "dynamo-cluster"
MANAGED_BY = "pulumi"

# Kinds whose payload fields hold secret material.
SECRET_FIELDS = {"Secret": ("data", "stringData")}


def type_token(api_version: str, kind: str) -> str:
    """The pulumi-kubernetes type token of a kind: the core group is spelled ``core``."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def service_host(service: str, namespace: str) -> str:
    """The in-cluster DNS name of a Service: ``<service>.<namespace>.svc.cluster.local``."""
    return f"{service}.{namespace}.svc.{CLUSTER_DOMAIN}"


def secret_value_from(secret_name: Ref, key: str) -> dict[str, Any]:
    """An EnvVar's source: key `key` of Secret `secret_name` (charts that take env as a map use it alone)."""
    return {"valueFrom": {"secretKeyRef": {"name": secret_name, "key": key}}}


def secret_env_var(name: str, secret_name: Ref, key: str | None = None) -> dict[str, Any]:
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


def secret_manifest(name: str, namespace: Ref, string_data: Mapping[str, object], *, component: str = "",
                    labels_: Mapping[str, str] | None = None, kind: str = "Opaque") -> dict[str, Any]:
    """A Secret of `string_data` (its values may be Outputs; `components.register.kube.KubeObject`
    marks each one secret), labelled for `component` (or with `labels_`)."""
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": namespace,
                         "labels": dict(labels_) if labels_ is not None else labels(name, component)},
            "stringData": dict(string_data)}
