"""kubectl for a stack: the kubeconfig and context of the stack's config, exactly as its Kubernetes
provider (and preflight) reach the cluster."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from stacks.ops.cluster_view import KubectlClusterView
from stacks.ops.kubectl import Kubectl, KubeError
from stacks.ops.target import ClusterConnectError, ClusterTarget, cluster_target, pulumi_secret_reader

K = TypeVar("K")


def stack_cluster(project_dir: Path, stack: str) -> ClusterTarget:
    """Where the stack's cluster is, from its stack file (a secret kubeconfig is decrypted with the
    Pulumi CLI)."""
    from stacks.config.load import load
    from stacks.config.reader import ConfigError
    from stacks.config.stackfile import StackFileError

    try:
        _, config = load(project_dir, stack, None)
    except (StackFileError, ConfigError) as error:
        raise KubeError(f"cannot read the stack's kubernetes settings: {error}") from None
    try:
        return cluster_target(config.kubernetes, pulumi_secret_reader(project_dir, stack, None))
    except ClusterConnectError as error:
        raise KubeError(f"{error}{f'; {error.fix}' if error.fix else ''}") from None


def stack_kubectl(project_dir: Path, stack: str, cleanup: ExitStack, make: Callable[..., K]) -> K:
    """`make(context=..., kubeconfig=...)` (a `Kubectl`) for the stack's cluster."""
    return kubectl_for(stack_cluster(project_dir, stack), cleanup, make)


def kubectl_for(target: ClusterTarget, cleanup: ExitStack, make: Callable[..., K]) -> K:
    """`make(context=..., kubeconfig=...)` for `target`. kubectl reads a file: a secret kubeconfig is
    written to one that lives until `cleanup` closes."""
    if target.kubeconfig_path is not None:
        return make(context=target.context, kubeconfig=os.path.expanduser(target.kubeconfig_path))
    assert target.kubeconfig is not None  # cluster_target gives a path or the inline kubeconfig
    handle, path = tempfile.mkstemp(prefix="dynamo-cluster-kubeconfig-")
    cleanup.callback(os.unlink, path)
    with os.fdopen(handle, "w") as file:
        file.write(target.kubeconfig.value)
    return make(context=target.context, kubeconfig=path)


def kubectl_flags(target: ClusterTarget) -> str:
    """How a person passes `target` to kubectl, for commands printed to them."""
    if target.kubeconfig_path is not None:
        where = f"--kubeconfig {target.kubeconfig_path}"
    else:
        where = "--kubeconfig <the stack's secret kubeconfig, from `pulumi config get dynamo-cluster:kubeconfig`>"
    return f"{where} --context {target.context}" if target.context else where


def require_kubeconfig(target: ClusterTarget) -> None:
    """A kubeconfig file that does not exist, or a secret one that is not a kubeconfig document, is a
    `ClusterConnectError`, before anything is asked of a cluster."""
    if target.kubeconfig_path is not None:
        if not os.path.isfile(os.path.expanduser(target.kubeconfig_path)):
            raise ClusterConnectError(f"kubeconfig {target.kubeconfig_path} does not exist")
        return
    if target.kubeconfig is not None:
        _require_kubeconfig_document(target.kubeconfig.value)


def _require_kubeconfig_document(text: str) -> None:
    import yaml

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        document = None
    if not isinstance(document, dict) or not all(key in document for key in ("clusters", "contexts", "users")):
        raise ClusterConnectError("the secret kubeconfig is not a kubeconfig document (YAML with clusters, users "
                                  "and contexts)")


def connect_view(target: ClusterTarget, cleanup: ExitStack) -> KubectlClusterView:
    """The read-only view of `target` the cluster preflight checks (`ClusterConnectError`: see
    `require_kubeconfig`)."""
    require_kubeconfig(target)
    return KubectlClusterView(kubectl_for(target, cleanup, Kubectl))
