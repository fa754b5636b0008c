"""The policies of the pack: `policy.rules` bound to the Pulumi policy SDK.

What the SDK (pulumi-policy 1.21) hands a policy, and so what the rules can see:

- Validations (`Analyze`, `AnalyzeStack`) get a resource's properties with every secret already
  decrypted and its secret mark dropped (the SDK deserializes them without `proxy_secrets`), inside
  a proxy that raises on values unknown during preview. They cannot tell a secret from plain text.
- Remediations (`Remediate`) get the properties with secret marks kept: each secret value is a
  `pulumi_policy.Secret` in the proxy's underlying data. A remediation may return new properties,
  `Secret` values included, which the engine then uses instead of the program's.

`to_plain` turns either form into plain data for the rules, reading the proxies' underlying data
(so an unknown value becomes `rules.Unknown` instead of aborting the policy, and a kept secret mark
becomes `rules.Secret`); `from_plain` turns a rule's result back into what the SDK serializes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceRemediation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from policy import rules

PACK_NAME = "dynamo-cluster"
UNKNOWN_SENTINELS = frozenset({UNKNOWN_ARCHIVE_VALUE, UNKNOWN_ARRAY_VALUE, UNKNOWN_ASSET_VALUE,
                               UNKNOWN_BOOLEAN_VALUE, UNKNOWN_NUMBER_VALUE, UNKNOWN_OBJECT_VALUE,
                               UNKNOWN_STRING_VALUE})

Check = Callable[[str, Mapping[str, Any]], list[str]]


def _underlying(value: Any) -> Any:
    """The data behind one of the SDK's read-only proxies (they answer the key "__target" with it),
    or the value itself when it is not a proxy."""
    if isinstance(value, dict | list | tuple):
        return value
    try:
        return value["__target"]
    except (KeyError, IndexError, TypeError):
        return value


def to_plain(value: Any) -> Any:
    """SDK properties as plain dicts and lists, with `rules.Secret` and `rules.Unknown` markers."""
    if isinstance(value, Secret):
        return rules.Secret(to_plain(value.value))
    if isinstance(value, str):
        return rules.Unknown(value) if value in UNKNOWN_SENTINELS else value
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in _underlying(value).items()}
    if isinstance(value, Sequence):
        return [to_plain(item) for item in _underlying(value)]
    return value


def from_plain(value: Any) -> Any:
    """Plain data with markers back into what the SDK serializes for the engine."""
    if isinstance(value, rules.Secret):
        return Secret(from_plain(value.value))
    if isinstance(value, rules.Unknown):
        return value.token or UNKNOWN_STRING_VALUE
    if isinstance(value, Mapping):
        return {key: from_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [from_plain(item) for item in value]
    return value


def _validation(check: Check) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in check(args.resource_type, to_plain(args.props)):
            report_violation(message, None)

    return validate


def validate_stack(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    resources = [rules.StackResource(r.urn, r.resource_type, to_plain(r.props)) for r in args.resources]
    for urn, message in rules.statefulsets_without_pdb(resources):
        report_violation(message, urn)


def remediate_secret_data(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
    """A Secret's data and stringData, marked secret when the program passed plain text."""
    sealed = rules.seal_secret_fields(args.resource_type, to_plain(args.props))
    return None if sealed is None else cast(Mapping[str, Any], from_plain(sealed))


def policies() -> list[Policy]:
    """Every policy of the pack. All are mandatory (a violation fails preview and blocks update)
    except the remediation, which fixes what it finds instead of reporting it."""
    return [
        ResourceValidationPolicy(
            name="no-latest-images",
            description="Images are pinned: no ':latest' and no untagged images, in Kubernetes objects "
                        "(custom resources included) and in Helm values.",
            validate=_validation(rules.image_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="gpu-workloads-have-gpu-limits",
            description="Pods that request, tolerate or select GPUs set an nvidia.com/gpu limit; GPU "
                        "workers of a DynamoGraphDeployment set resources.limits.gpu.",
            validate=_validation(rules.gpu_limit_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="privileged-only-for-efa",
            description="Only containers that request EFA interfaces (vpc.amazonaws.com/efa) are "
                        "privileged: Dynamo's EFA guide requires it of EFA workers, nothing else needs it.",
            validate=_validation(rules.privileged_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="jobs-run-unprivileged",
            description="A Job's pods mount no service-account token and run non-root, without privilege "
                        "escalation or capabilities, on a read-only root file system; only a root init container "
                        "that adds nothing but CHOWN is allowed.",
            validate=_validation(rules.job_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="helm-release-pinned-version",
            description="Every Helm release pins one exact chart version.",
            validate=_validation(rules.release_version_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="no-plaintext-credentials",
            description="Credentials are not written as literals into container environments or Helm "
                        "values; they come from Secrets.",
            validate=_validation(rules.credential_literal_problems),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="kubernetes-secret-data-is-secret",
            description="A Kubernetes Secret's data and stringData are Pulumi secrets (encrypted in "
                        "state, masked in output); plain-text values are marked secret.",
            # The SDK uses a plain (non-awaitable) return value as it is; its alias only names the
            # awaitable form.
            remediate=cast(ResourceRemediation, remediate_secret_data),
            enforcement_level=EnforcementLevel.REMEDIATE,
        ),
        StackValidationPolicy(
            name="statefulset-has-pdb",
            description="Every StatefulSet has a PodDisruptionBudget in its namespace selecting its pods.",
            validate=validate_stack,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
    ]
