"""The cluster a stack targets: the kubeconfig and context its Kubernetes provider uses, which
preflight and verify reach the same way.

Which cluster: exactly what the program's explicit provider uses, never the ambient KUBECONFIG or
its current context by accident:

- ``kubernetes.kubeconfigPath`` with ``kubernetes.context`` (the config requires the context with a
  path), or
- the secret ``dynamo-cluster:kubeconfig``, with ``kubernetes.context`` when set, else the current
  context *of that kubeconfig*, as the provider does. Read offline from the stack file, the secret is
  only a placeholder; it is decrypted by asking the Pulumi CLI (``pulumi config get``), which needs
  the stack's secrets provider (passphrase, cloud KMS or Pulumi Cloud login) like any ``pulumi`` run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from components.kit.secret import SecretValue
from stacks.config.cluster import KubernetesConfig
from stacks.config.reader import NAMESPACE
from stacks.config.stackfile import PLACEHOLDER_PREFIX


class ClusterConnectError(Exception):
    """The kubeconfig or its context cannot be loaded: nothing was asked of the cluster. `fix` says
    what to do when it is not the stack's kubernetes settings."""

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.fix = fix


SecretReader = Callable[[str], str]


@dataclass(frozen=True)
class ClusterTarget:
    """A kubeconfig (a file, or the text of the secret one) and the context to use in it."""

    context: str | None
    kubeconfig_path: str | None = None
    kubeconfig: SecretValue | None = None

    def describe(self) -> str:
        source = f"kubeconfig {self.kubeconfig_path}" if self.kubeconfig_path else "the secret kubeconfig"
        return f"context {self.context} of {source}" if self.context else f"the current context of {source}"


def cluster_target(kube: KubernetesConfig, read_secret: SecretReader) -> ClusterTarget:
    """Where the stack's cluster is. `read_secret(full key)` decrypts a secret the stack file holds
    encrypted; it may raise `ClusterConnectError`."""
    if kube.kubeconfig is None:
        return ClusterTarget(context=kube.context, kubeconfig_path=kube.kubeconfig_path)
    inline = kube.kubeconfig
    if inline.value.startswith(PLACEHOLDER_PREFIX):
        inline = SecretValue(inline.key, read_secret(f"{NAMESPACE}:{inline.key}"))
    return ClusterTarget(context=kube.context, kubeconfig=inline)


def pulumi_secret_reader(project_dir: Path, stack: str, config_path: Path | None) -> SecretReader:
    """Reads one secret config value of the stack through the Pulumi CLI, which decrypts it."""
    def read(key: str) -> str:
        command = ["pulumi", "config", "get", key, "--stack", stack, "--cwd", str(project_dir)]
        if config_path is not None:
            command += ["--config-file", str(config_path.resolve())]
        why = f"the secret {key} is encrypted in the stack file and `pulumi config get {key} --stack {stack}`"
        fix = ("install the Pulumi CLI and give it the stack's secrets provider (pulumi login, "
               "PULUMI_CONFIG_PASSPHRASE or cloud KMS credentials), or set kubernetes.kubeconfigPath and "
               "kubernetes.context instead of the secret kubeconfig")
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        except FileNotFoundError:
            raise ClusterConnectError(f"{why} cannot run: the Pulumi CLI is not installed", fix) from None
        except subprocess.TimeoutExpired:
            raise ClusterConnectError(f"{why} did not finish in 120 s", fix) from None
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            raise ClusterConnectError(f"{why} failed: {lines[-1] if lines else f'exit {result.returncode}'}", fix)
        return result.stdout.rstrip("\n")
    return read
