"""`observability.alertmanager.receivers`: who Alertmanager notifies, and of which severities.

A receiver is on exactly when its credential is set, as a top-level secret (`RECEIVER_SECRETS`);
its section under `receivers` only tunes it (the severities routed to it, Slack's channel). A
section without its secret is a problem: the receiver could not be reached.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

from components.observability.receivers import RECEIVER_KINDS, SEVERITIES, Receiver, ReceiverKind, Severity
from stacks.config.keys import observability as K
from stacks.config.reader import NAMESPACE, Node

# The top-level secret key holding each receiver's credential.
RECEIVER_SECRETS: Mapping[ReceiverKind, str] = {kind: key.name for kind, key in K.RECEIVER_SECRET_KEYS.items()}


def _severities(node: Node, kind: ReceiverKind) -> tuple[Severity, ...]:
    key = K.RECEIVER_SEVERITIES[kind]
    default = tuple(s for s in SEVERITIES if s in key.default_for_fixed())
    raw = node.read(key)
    picked = [s for s in SEVERITIES if s in raw]  # in SEVERITIES' order
    if not raw or len(picked) != len(raw):
        node.problem(key.name, f"is {raw!r}", K.SEVERITIES_ALLOWED)
        return default
    return tuple(picked)


def read_receivers(alertmanager: Node, with_secret: Set[ReceiverKind]) -> tuple[Receiver, ...]:
    """The receivers whose secret is set (`with_secret`), in a fixed order."""
    section = alertmanager.child("receivers")
    out: list[Receiver] = []
    for kind in RECEIVER_KINDS:
        configured = section.has(kind)
        node = section.child(kind)
        severities = _severities(node, kind)
        channel = node.read_optional(K.SLACK_CHANNEL) if kind == "slack" else None
        node.close()
        if kind in with_secret:
            out.append(Receiver(kind=kind, severities=severities, channel=channel))
        elif configured:
            key = RECEIVER_SECRETS[kind]
            section.problem(kind, f"is configured but its secret {key} is not set",
                            f"`pulumi config set --secret {NAMESPACE}:{key} ...`, or no {kind} section")
    section.close()
    return tuple(out)
