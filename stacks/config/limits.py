"""What Kubernetes, Helm and the cloud accept, as pure checks: each returns None for a valid value or
the text of what is wrong with it, so a section reader records it as a problem on its key.

Sources of the limits: Kubernetes' object names and label syntax (kubernetes.io/docs/concepts/overview/
working-with-objects/names and .../labels), its environment variable name rule (`envVarNameFmt` in
k8s.io/apimachinery, the form every supported cluster version accepts), `kubectl taint` (keys as label
keys, values as label values), Helm's release name rule (helm/helm `pkg/chartutil/validate_name.go`:
at most 53 characters), and the namespaces Kubernetes creates and reserves (`default`, `kube-*`).
"""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Mapping

from stacks.config.reader import Node

# A DNS subdomain (RFC 1123): StorageClass names and label key prefixes.
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_SUBDOMAIN_MAX = 253
DNS_SUBDOMAIN_TEXT = ("a DNS subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter "
                      "or digit, at most 253 characters")
# The name part of a label key, and a label value (which may also be empty).
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
LABEL_NAME_MAX = 63
RESERVED_LABEL_PREFIXES = ("kubernetes.io", "k8s.io")
LABEL_KEY_TEXT = ("a label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 letters, digits, "
                  "'-', '_' and '.' that starts and ends with a letter or digit")
LABEL_VALUE_TEXT = "a label value: empty, or at most 63 letters, digits, '-', '_' and '.', starting and ending " \
                   "with a letter or digit"
# Environment variable names every supported Kubernetes version accepts.
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
ENV_NAME_TEXT = "an environment variable name: letters, digits, '_', '-' and '.', not starting with a digit"
# Helm release names.
HELM_RELEASE_MAX = 53
_HELM_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
HELM_RELEASE_TEXT = "a Helm release name: lower-case letters, digits, '-' and '.', at most 53 characters"
RESERVED_NAMESPACES = ("default",)
RESERVED_NAMESPACE_PREFIX = "kube-"
# Mount paths a volume must never take: the root (it would hide the image) and the shared-memory mount
# the workers get for NCCL and engine IPC.
RESERVED_MOUNTS = ("/", "/dev/shm")
MOUNT_PATH_TEXT = "an absolute path without '..' that is neither / nor /dev/shm (nor inside /dev/shm)"
# Tags that registries move to new builds: a pod restarted tomorrow runs another image than today.
MUTABLE_TAGS = ("latest", "stable", "edge", "nightly", "main", "master", "head", "current", "canary")
MUTABLE_TAG_TEXT = "a release tag (such as 1.4.2) or a digest: " + ", ".join(MUTABLE_TAGS) + " move between builds"


def dns_subdomain_problem(name: str) -> str | None:
    if len(name) > DNS_SUBDOMAIN_MAX:
        return f"is {len(name)} characters long, over the {DNS_SUBDOMAIN_MAX} of a DNS subdomain"
    if not DNS_SUBDOMAIN.match(name):
        return f"is {name!r}, not a DNS subdomain"
    return None


def label_key_problem(key: str, *, reserved_ok: bool = False) -> str | None:
    """What is wrong with a label (or taint) key; `reserved_ok` allows the kubernetes.io prefixes
    (for selecting nodes by the labels Kubernetes sets)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or dns_subdomain_problem(prefix) is not None):
        return f"has the key {key!r}, whose prefix {prefix!r} is not a DNS subdomain of at most 253 characters"
    if len(name) > LABEL_NAME_MAX or not _LABEL_NAME.match(name):
        return f"has the key {key!r}, whose name {name!r} is not 1 to 63 letters, digits, '-', '_' and '.'"
    if slash and not reserved_ok and any(prefix == p or prefix.endswith("." + p) for p in RESERVED_LABEL_PREFIXES):
        return f"has the key {key!r}, under a prefix Kubernetes reserves for its own components"
    return None


def label_value_problem(key: str, value: str) -> str | None:
    if value and (len(value) > LABEL_NAME_MAX or not _LABEL_NAME.match(value)):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"has {key}={shown!r}, a value that is not at most 63 letters, digits, '-', '_' and '.'"
    return None


def env_name_problem(name: str) -> str | None:
    if not _ENV_NAME.match(name):
        return f"has the variable {name!r}, which Kubernetes refuses as an environment variable name"
    return None


def helm_release_problem(name: str) -> str | None:
    if len(name) > HELM_RELEASE_MAX:
        return f"is {len(name)} characters long, over Helm's limit of {HELM_RELEASE_MAX} for a release name"
    if not _HELM_RELEASE.match(name):
        return f"is {name!r}, not a Helm release name"
    return None


def namespace_problem(name: str) -> str | None:
    if name in RESERVED_NAMESPACES or name.startswith(RESERVED_NAMESPACE_PREFIX):
        return f"is {name!r}, a namespace Kubernetes creates or reserves for itself"
    return None


def mount_path_problem(path: str) -> str | None:
    if not path.startswith("/"):
        return f"is {path!r}, not an absolute path"
    if ".." in path.split("/"):
        return f"is {path!r}, which climbs out of a directory with '..'"
    normal = posixpath.normpath(path)
    if normal in RESERVED_MOUNTS or normal.startswith("/dev/shm/"):
        return f"is {path!r}, a path the container needs for itself"
    return None


def image_tag_problem(image_or_tag: str) -> str | None:
    """A tag that moves between builds (``latest``, ``main``, ...). Digests are never mutable."""
    if "@" in image_or_tag:
        return None
    last = image_or_tag.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else last
    if tag.lower() in MUTABLE_TAGS:
        return f"uses the tag {tag!r}, which moves to new builds"
    return None


def finite_problem(value: float) -> str | None:
    if not math.isfinite(value):
        return f"is {value}, not a finite number"
    return None


# -- helpers for section readers --------------------------------------------------------------------
def check_labels(node: Node, name: str, labels: Mapping[str, str], *, reserved_ok: bool = False) -> None:
    """Record a problem on `name` for each label key or value Kubernetes would refuse."""
    for key, value in labels.items():
        wrong = label_key_problem(key, reserved_ok=reserved_ok) or label_value_problem(key, value)
        if wrong is not None:
            node.problem(name, wrong, f"{LABEL_KEY_TEXT}; values: {LABEL_VALUE_TEXT}")


def check_env_names(node: Node, name: str, env: Mapping[str, str]) -> dict[str, str]:
    """`env`, with a problem recorded on `name` for each variable name Kubernetes would refuse."""
    for variable in env:
        wrong = env_name_problem(variable)
        if wrong is not None:
            node.problem(name, wrong, ENV_NAME_TEXT)
    return dict(env)
