"""`observability.alertmanager.receivers`: who Alertmanager notifies, and of which severities.

A receiver is on exactly when its credential is set, as a top-level secret (`RECEIVER_SECRETS`);
its section under `receivers` only tunes it (the severities routed to it, Slack's channel). A
section without its secret is a problem: the receiver could not be reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from components.observability.receivers import RECEIVER_KINDS, SEVERITIES, Receiver, ReceiverKind, Severity
from stacks.config.reader import NAMESPACE, Node

# The top-level secret key holding each receiver's credential.
RECEIVER_SECRETS: Mapping[ReceiverKind, str] = {"slack": "slackWebhookUrl", "pagerduty": "pagerdutyRoutingKey",
                                                "webhook": "alertWebhookUrl"}
# What each receiver gets when its section does not say: pages for critical alerts only, chat and
# webhooks for warnings too.
DEFAULT_SEVERITIES: Mapping[ReceiverKind, tuple[Severity, ...]] = {
    "slack": ("critical", "warning"), "pagerduty": ("critical",), "webhook": ("critical", "warning")}
_SLACK_CHANNEL = r"^[#@][^\s]{1,80}$"


def _severities(node: Node, default: tuple[Severity, ...]) -> tuple[Severity, ...]:
    allowed = "a non-empty list of " + ", ".join(SEVERITIES) + ", each once"
    raw = node.string_list("severities", default)
    picked = [s for s in SEVERITIES if s in raw]  # in SEVERITIES' order
    if not raw or len(picked) != len(raw):
        node.problem("severities", f"is {raw!r}", allowed)
        return default
    return tuple(picked)


def read_receivers(alertmanager: Node, with_secret: Set[ReceiverKind]) -> tuple[Receiver, ...]:
    """The receivers whose secret is set (`with_secret`), in a fixed order."""
    section = alertmanager.child("receivers")
    out: list[Receiver] = []
    for kind in RECEIVER_KINDS:
        configured = section.has(kind)
        node = section.child(kind)
        severities = _severities(node, DEFAULT_SEVERITIES[kind])
        channel = (node.optional_string("channel", pattern=_SLACK_CHANNEL,
                                        pattern_text="a Slack channel such as #alerts, or @user")
                   if kind == "slack" else None)
        node.close()
        if kind in with_secret:
            out.append(Receiver(kind=kind, severities=severities, channel=channel))
        elif configured:
            key = RECEIVER_SECRETS[kind]
            section.problem(kind, f"is configured but its secret {key} is not set",
                            f"`pulumi config set --secret {NAMESPACE}:{key} ...`, or no {kind} section")
    section.close()
    return tuple(out)
