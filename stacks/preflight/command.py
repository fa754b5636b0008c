"""`python -m stacks preflight`: check, before `pulumi up`, what the stack takes for granted.

The cluster checks (`stacks.preflight.cluster`, through the Kubernetes API at the stack's kubeconfig
and context) run unless ``--no-cluster``; ``--aws`` adds the AWS checks (`stacks.preflight.aws`).
Every kind returns `CheckResult`s, printed as one report (`stacks.preflight.report`). Exit 0 when every check
passed, 1 when one failed, 2 when the stack's config is invalid or no kind of check was chosen.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from stacks.config.aws import AwsConfig
from stacks.config.load import EXIT_INVALID, load
from stacks.config.reader import ConfigError
from stacks.config.stackfile import StackFileError
from stacks.config.target import ClusterTarget, SecretReader, cluster_target, pulumi_secret_reader
from stacks.preflight.aws import AwsClients, aws_checks, connect
from stacks.preflight.cluster import cluster_checks
from stacks.preflight.cluster_view import ClusterView
from stacks.preflight.kube_client import connect as connect_kube
from stacks.preflight.report import CheckResult, exit_code, render


def run(project_dir: Path, stack: str, config_path: Path | None, *, aws: bool, cluster: bool = True,
        connect_aws: Callable[[AwsConfig], AwsClients] = connect,
        connect_cluster: Callable[[ClusterTarget], ClusterView] = connect_kube,
        read_secret: SecretReader | None = None) -> int:
    """`read_secret` decrypts a secret config value (default: the Pulumi CLI, for this stack)."""
    if not aws and not cluster:
        print("preflight: choose what to check: drop --no-cluster, or add --aws", file=sys.stderr)
        return EXIT_INVALID
    try:
        _, config = load(project_dir, stack, config_path)
    except (StackFileError, ConfigError) as error:
        print(f"preflight: {error}", file=sys.stderr)
        return EXIT_INVALID
    results: list[CheckResult] = []
    if cluster:
        kube = config.kubernetes
        secrets = read_secret or pulumi_secret_reader(project_dir, stack, config_path)
        where = ClusterTarget(context=kube.context, kubeconfig_path=kube.kubeconfig_path).describe()
        results += cluster_checks(config, lambda: connect_cluster(cluster_target(kube, secrets)), where)
    if aws:
        results += aws_checks(config, connect_aws)
    print(render(f"preflight {stack}:", results), end="")
    return exit_code(results)
