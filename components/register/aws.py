"""Registering AWS resources from plain property dicts, the way `components.register.kube` does for Kubernetes.

Why not the typed `pulumi_aws.ec2` / `.eks` / `.iam` classes: importing them costs about 0.3 s
(`pulumi_aws.ec2` alone loads a large `_inputs` module), which is twice the whole budget the offline
plan has left over the bare SDK import. `AwsResource` registers the same resource with the same type
token (``aws:eks/nodeGroup:NodeGroup``) and the provider's own wire property names (camelCase, as in
the provider schema), so the engine, the provider, previews, state and imports treat it exactly as
the typed class would. What we give up is the SDK's type checking of property names: the builders in
`components.nodes.eks` return documented dicts, are unit-tested key by key, and are the only place
that spells wire names. Outputs the provider computes (``arn``, ``id``, ``latestVersion``) are read
with `AwsResource.output`.

The provider is never ambient: the component that creates these resources gets the stack's explicit
`pulumi_aws.Provider` through its options (``providers={"aws": ...}``), and children inherit it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, cast

import pulumi


class AwsResource(pulumi.CustomResource):
    """One AWS resource of type `type_token`, registered from its wire properties."""

    def __init__(self, type_token: str, resource_name: str, props: Mapping[str, Any],
                 opts: pulumi.ResourceOptions, outputs: Iterable[str] = ("arn",)) -> None:
        if not type_token.startswith("aws:"):
            raise ValueError(f"{type_token}: not an aws resource type")
        all_props: dict[str, Any] = dict(props)
        for name in outputs:
            all_props.setdefault(name, None)  # declared, so the engine hands the computed value back
        super().__init__(type_token, resource_name, all_props, opts)

    def output(self, name: str) -> pulumi.Output[Any]:
        """A property of the resource once it exists (an input, or an output declared at creation)."""
        value = getattr(self, name, None)
        if value is None:
            raise AttributeError(f"{self._name}: no property {name!r}; declare it in `outputs`")
        return cast(pulumi.Output[Any], value)
