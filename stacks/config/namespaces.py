"""Config keys outside this project's namespace that a stack file should not hold: a misspelt
namespace (``dynamocluster:graphs`` is read by nobody, so the stack silently runs without it) and the
default providers' keys (``aws:region``, ``kubernetes:context``), which this program ignores because
it builds every provider explicitly from its own keys."""

from __future__ import annotations

from collections.abc import Iterable

from stacks.config.reader import NAMESPACE, Problems

# The default providers' keys people set out of habit, and the key of ours that does their job.
PROVIDER_KEYS = {
    "aws:region": "aws.region", "aws:profile": "aws.profile",
    "aws:allowedAccountIds": "aws.accountId",
    "kubernetes:context": "kubernetes.context", "kubernetes:kubeconfig": "kubernetes.kubeconfigPath (or the secret "
                                                                          "kubeconfig)",
}
PROVIDER_NAMESPACES = ("aws", "kubernetes")
# Namespaces the Pulumi CLI and its tooling use for their own keys: not ours to judge.
OTHERS_OK = ("pulumi",)


def _squashed(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _similar(namespace: str) -> bool:
    import difflib  # only when a key of another namespace is there: a few ms of every plan otherwise

    return difflib.SequenceMatcher(None, namespace, NAMESPACE).ratio() >= 0.8


def check_foreign_keys(keys: Iterable[str], problems: Problems) -> None:
    """Report, in full, each key of a namespace that looks like ours, and each default-provider key."""
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        if namespace == NAMESPACE or namespace in OTHERS_OK or not name:
            continue
        if namespace in PROVIDER_NAMESPACES:
            ours = PROVIDER_KEYS.get(key, f"the {namespace} keys of docs/configuration.md")
            problems.add_foreign(key, f"is the default {namespace} provider's key, which this program does not use "
                                      "(it builds its providers from its own keys)",
                                 f"{NAMESPACE}:{ours}" if key in PROVIDER_KEYS else ours)
        elif _squashed(namespace) == _squashed(NAMESPACE) or _similar(namespace):
            problems.add_foreign(key, f"is in namespace {namespace!r}, which nothing reads",
                                 f"did you mean {NAMESPACE}:{name}?")
