"""`python -m stacks preflight`: check, before `pulumi up`, what the stack takes for granted.

The cluster checks (`stacks.preflight.cluster`, through the Kubernetes API at the stack's kubeconfig
and context) run unless ``--no-cluster``; ``--aws`` adds the AWS checks (`stacks.preflight.aws`).
Every kind returns `Finding`s, printed as one report (`stacks.preflight.report`). Exit 0 when every check
passed, 1 when one failed, 2 when the stack's config is invalid or no kind of check was chosen.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from stacks.config.aws import AwsConfig
from stacks.config.load import EXIT_INVALID, load_or_say
from stacks.ops.aws import AwsClients, connect, run_deadline
from stacks.ops.cluster import connect_view
from stacks.ops.cluster_view import ClusterView
from stacks.ops.report import PREFLIGHT_WORDS, Finding, Report, Section
from stacks.ops.target import ClusterTarget, SecretReader, cluster_target, pulumi_secret_reader
from stacks.preflight.aws import aws_checks
from stacks.preflight.cluster import cluster_checks

# Interrupted (Ctrl-C), as a shell reports a process ended by SIGINT: the report holds what was checked.
EXIT_INTERRUPTED = 130
# The whole AWS part's bound: each call has its own (stacks.ops.aws); calls after this are not asked.
AWS_RUN_SECONDS = 300.0


def report(stack: str, sections: list[Section], title_suffix: str = "") -> Report:
    """A preflight's report: it passes only when every check it ran passed."""
    return Report(f"preflight {stack}{title_suffix}", sections, policy="any-problem-fails", summaries=PREFLIGHT_WORDS)


def run(project_dir: Path, stack: str, config_path: Path | None, *, aws: bool, cluster: bool = True,
        as_json: bool = False,
        connect_aws: Callable[[AwsConfig], AwsClients] = connect,
        connect_cluster: Callable[[ClusterTarget], ClusterView] | None = None,
        read_secret: SecretReader | None = None) -> int:
    """`read_secret` decrypts a secret config value (default: the Pulumi CLI, for this stack);
    `connect_cluster` reaches the cluster (default: kubectl, with the target's kubeconfig and context)."""
    if not aws and not cluster:
        print("preflight: choose what to check: drop --no-cluster, or add --aws", file=sys.stderr)
        return EXIT_INVALID
    config = load_or_say(project_dir, stack, config_path, "preflight")
    if config is None:
        return EXIT_INVALID
    sections: list[Section] = []
    if cluster:
        kube = config.kubernetes
        secrets = read_secret or pulumi_secret_reader(project_dir, stack, config_path)
        where = ClusterTarget(context=kube.context, kubeconfig_path=kube.kubeconfig_path).describe()
        with ExitStack() as cleanup:
            def reach() -> ClusterView:
                target = cluster_target(kube, secrets)
                return connect_cluster(target) if connect_cluster is not None else connect_view(target, cleanup)

            sections.append(Section(f"cluster ({where})", cluster_checks(config, reach, where)))
    interrupted = False
    if aws:
        done: list[Finding] = []
        try:
            with run_deadline(AWS_RUN_SECONDS):
                findings = aws_checks(config, connect_aws, into=done)
        except KeyboardInterrupt:  # Ctrl-C: the report of the checks done so far, and exit 130
            interrupted = True
            findings = [*done, Finding.failed("interrupted", "Ctrl-C before every AWS check ran; the findings above "
                                                             "are those made so far", "run preflight again")]
        sections.append(Section(f"aws ({config.aws.region or 'no region'})", findings))
    found = report(stack, sections)
    print(found.render(as_json), end="")
    return EXIT_INTERRUPTED if interrupted else found.exit_code
