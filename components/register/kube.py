"""Registering Kubernetes objects from plain manifests.

Value builders return complete manifests as plain dicts. `KubeObject` registers one of them with
the type token pulumi-kubernetes uses for its kind (``kubernetes:apps/v1:StatefulSet``), so state,
previews and the provider's await logic are those of the typed SDK classes, while the manifest the
plan writes is exactly the object sent to the API server. It also keeps the offline plan fast: the
typed SDK modules cost a quarter of a second to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pulumi

from components.kit.kube import SECRET_FIELDS, type_token


class KubeObject(pulumi.CustomResource):
    """One Kubernetes object, registered from its manifest."""

    metadata: pulumi.Output[dict[str, Any]]

    def __init__(self, resource_name: str, manifest: Mapping[str, Any],
                 opts: pulumi.ResourceOptions, outputs: tuple[str, ...] = ()) -> None:
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        props: dict[str, Any] = dict(manifest)
        for name in outputs:
            props.setdefault(name, None)  # declared, so the engine hands back what the provider reads (status)
        secret_fields = [f for f in SECRET_FIELDS.get(kind, ()) if f in props]
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

    def output(self, name: str) -> pulumi.Output[Any]:
        """A property the object was registered with `outputs` to receive (such as ``status``)."""
        value = getattr(self, name, None)
        if value is None:
            raise AttributeError(f"{self._name}: no property {name!r}; declare it in `outputs`")
        return cast(pulumi.Output[Any], value)

    @property
    def name(self) -> pulumi.Output[str]:
        """metadata.name once the object exists: depend on the object by using it."""
        return self.metadata.apply(lambda m: str(m["name"]))
