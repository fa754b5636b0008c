"""Alertmanager receivers (Slack, PagerDuty, a generic webhook), routed by the alerts' severity.

The receivers' credentials (the Slack webhook URL, the PagerDuty routing key, the webhook URL) live
in one Kubernetes Secret that the Alertmanager pods mount through `alertmanagerSpec.secrets`, at
``/etc/alertmanager/secrets/<secret>/<key>``; the configuration names those files (`*_file`
fields), so no credential is ever part of the Helm values or the Alertmanager configuration.
Without receivers the chart's own configuration stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from components.kit.kube import secret_manifest
from components.kit.ref import Ref

ReceiverKind = Literal["slack", "pagerduty", "webhook"]
RECEIVER_KINDS: tuple[ReceiverKind, ...] = get_args(ReceiverKind)
Severity = Literal["critical", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)

RECEIVERS_SECRET = "alertmanager-receivers"
# The Secret's key of each receiver's credential.
SECRET_KEYS: Mapping[ReceiverKind, str] = {"slack": "slack-webhook-url", "pagerduty": "pagerduty-routing-key",
                                           "webhook": "webhook-url"}
# Where the Prometheus Operator mounts each Secret named in alertmanagerSpec.secrets.
SECRETS_DIR = "/etc/alertmanager/secrets"
# The receiver the chart routes everything to by default (it discards), and the always-firing
# Watchdog alert it keeps there.
NULL_RECEIVER = "null"
WATCHDOG_ROUTE = {"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"']}


@dataclass(frozen=True)
class Receiver:
    """One receiver: which alerts it gets (by severity) and, for Slack, the channel."""

    kind: ReceiverKind
    severities: tuple[Severity, ...]
    channel: str | None = None  # Slack only; None: the webhook's own channel

    def __post_init__(self) -> None:
        if not self.severities:
            raise ValueError(f"receiver {self.kind}: no severity routed to it")
        if self.channel is not None and self.kind != "slack":
            raise ValueError(f"receiver {self.kind}: only Slack takes a channel")


def secret_file(kind: ReceiverKind) -> str:
    return f"{SECRETS_DIR}/{RECEIVERS_SECRET}/{SECRET_KEYS[kind]}"


def _receiver_config(receiver: Receiver) -> dict[str, Any]:
    path = secret_file(receiver.kind)
    if receiver.kind == "slack":
        slack: dict[str, Any] = {"api_url_file": path, "send_resolved": True}
        if receiver.channel is not None:
            slack["channel"] = receiver.channel
        return {"name": "slack", "slack_configs": [slack]}
    if receiver.kind == "pagerduty":
        return {"name": "pagerduty", "pagerduty_configs": [{"routing_key_file": path, "send_resolved": True}]}
    return {"name": "webhook", "webhook_configs": [{"url_file": path, "send_resolved": True}]}


def route(receiver: Receiver) -> dict[str, Any]:
    """The receiver's route: its severities, and `continue` so every matching receiver is told."""
    wanted = "|".join(receiver.severities)
    return {"receiver": receiver.kind, "matchers": [f'severity =~ "{wanted}"'], "continue": True}


def alertmanager_config(receivers: Sequence[Receiver]) -> dict[str, Any]:
    """The `alertmanager.config` values: Helm merges maps into the chart's configuration and replaces
    lists, so the route's `routes` and the `receivers` are given whole, the discarding receiver and
    the Watchdog route included; global settings, grouping and inhibition stay the chart's."""
    kinds = [r.kind for r in receivers]
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"receivers listed twice: {kinds}")
    return {
        "route": {"routes": [dict(WATCHDOG_ROUTE), *(route(r) for r in receivers)]},
        "receivers": [{"name": NULL_RECEIVER}, *(_receiver_config(r) for r in receivers)],
    }


def receivers_secret(credentials: Mapping[ReceiverKind, Ref],
                     namespace: Ref) -> dict[str, Any]:
    """The Secret holding each receiver's credential (the values are `pulumi.Output.secret`s)."""
    return secret_manifest(RECEIVERS_SECRET, namespace,
                           {SECRET_KEYS[kind]: value for kind, value in sorted(credentials.items())},
                           component="observability")
