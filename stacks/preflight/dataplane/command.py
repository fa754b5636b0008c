"""`python -m stacks preflight --dataplane`: prove each EFA pool's data path, or (``--print``) write
the objects that would do it.

It runs on its own: the read-only checks (`stacks.preflight.command`) look at a cluster in seconds
and change nothing, while this creates privileged pods, takes each node of the pools whole for a
moment and runs for minutes, so it is asked for by name and not mixed with them. Exit status: 0
every check passed (or nothing to check), 1 a check failed, 2 invalid config or arguments, 130
interrupted by SIGINT or SIGTERM (after cleaning up).
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from stacks.config.cluster import KubernetesConfig
from stacks.config.load import EXIT_INVALID, load_or_say
from stacks.ops.cluster import kubectl_for, require_kubeconfig
from stacks.ops.kubectl import Kubectl
from stacks.ops.report import PREFLIGHT_WORDS, Finding, Report, Section
from stacks.ops.target import ClusterConnectError, ClusterTarget, SecretReader, cluster_target, pulumi_secret_reader
from stacks.preflight.dataplane import printing
from stacks.preflight.dataplane.arguments import DataplaneArgs
from stacks.preflight.dataplane.cluster import DataplaneCluster, KubectlDataplaneCluster
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.runner import Clock, Runner, pools_result
from stacks.preflight.dataplane.signals import interrupts_deferred, interrupts_raise
from stacks.preflight.dataplane.targets import Targets, select_targets

EXIT_INTERRUPTED = 130


def _say(message: str) -> None:
    print(f"preflight: {message}", file=sys.stderr, flush=True)


def nothing_to_check(targets: Targets) -> Finding:
    if not targets.skipped:
        return Finding.passed("dataplane", "the stack has no EFA pool; nothing to check")
    why = "; ".join(f"pool {pool}: {reason}" for pool, reason in targets.skipped)
    return Finding.passed("dataplane", f"no EFA pool to check ({why}); nothing to check")


def run(project_dir: Path, stack: str, config_path: Path | None, args: DataplaneArgs, *, aws: bool = False,
        cluster: bool = True, connect: Callable[[ClusterTarget], DataplaneCluster] | None = None,
        read_secret: SecretReader | None = None, clock: Clock | None = None, run_id: str | None = None) -> int:
    problem = args.misuse(aws=aws, cluster=cluster)
    if problem:
        print(f"preflight: {problem}", file=sys.stderr)
        return EXIT_INVALID
    config = load_or_say(project_dir, stack, config_path, "preflight")
    if config is None:
        return EXIT_INVALID
    targets = select_targets(config, args.min_gbps)
    if not targets.checked:
        result = nothing_to_check(targets)
        if args.print_to is not None:
            print(f"preflight: {result.detail}", file=sys.stderr)
        else:
            print(_report(stack, [result]).render(args.as_json), end="")
        return 0
    if args.nixlbench_image is None:
        print(f"preflight: --dataplane needs --nixlbench-image for pools {', '.join(t.name for t in targets.checked)}: "
              "no nixlbench image is published; build one with NIXL's benchmark/nixlbench/contrib/build.sh "
              "(docs/operations.md, \"Data-path preflight\")", file=sys.stderr)
        return EXIT_INVALID
    if args.print_to is not None:
        return _print(stack, targets, args, args.nixlbench_image)
    run_ = Run(run_id or secrets.token_hex(3), args.nixlbench_image, args.timeout)
    where = cluster_target_reader(config.kubernetes, read_secret or pulumi_secret_reader(project_dir, stack,
                                                                                          config_path))
    with ExitStack() as cleanup:
        def reach() -> DataplaneCluster:
            target = where()
            if connect is not None:
                return connect(target)
            require_kubeconfig(target)
            return KubectlDataplaneCluster(kubectl_for(target, cleanup, Kubectl))

        return _run(stack, targets, run_, reach, clock, as_json=args.as_json)


def _report(stack: str, results: list[Finding]) -> Report:
    return Report(f"preflight {stack} --dataplane", [Section("data path", results)], policy="any-problem-fails",
                  summaries=PREFLIGHT_WORDS)


def cluster_target_reader(kube: KubernetesConfig, read_secret: SecretReader) -> Callable[[], ClusterTarget]:
    """The stack's cluster, found when asked (decrypting a secret kubeconfig may fail)."""
    return lambda: cluster_target(kube, read_secret)


def _print(stack: str, targets: Targets, args: DataplaneArgs, image: str) -> int:
    docs = printing.documents(targets, Run(printing.PRINT_RUN_ID, image, args.timeout))
    directory = args.print_dir
    if directory is None:
        print(printing.render(stack, docs), end="")
    else:
        paths = printing.write(directory, docs)
        print(f"preflight: wrote {len(paths)} objects to {directory}", file=sys.stderr)
    return 0


def _run(stack: str, targets: Targets, run_: Run, connect: Callable[[], DataplaneCluster],
         clock: Clock | None, *, as_json: bool = False) -> int:
    try:
        with interrupts_raise():
            try:
                target_cluster = connect()
            except ClusterConnectError as error:
                results = [pools_result(targets), Finding.failed(
                    "kubernetes api", str(error), error.fix or (
                        "set dynamo-cluster:kubernetes.kubeconfigPath and kubernetes.context to a kubeconfig file "
                        "and a context in it, or the secret dynamo-cluster:kubeconfig"))]
                found = _report(stack, results)
                print(found.render(as_json), end="")
                return found.exit_code
            report = Runner(target_cluster, targets, run_, clock=clock, say=_say, shield=interrupts_deferred).run()
    except KeyboardInterrupt:  # before the run began, or after it ended: nothing of it is left
        _say("interrupted")
        return EXIT_INTERRUPTED
    found = _report(stack, list(report.results))
    print(found.render(as_json), end="")
    return EXIT_INTERRUPTED if report.interrupted else found.exit_code
