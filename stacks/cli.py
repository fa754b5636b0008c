"""The command line of the offline tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stacks.config.stackfile import stack_name_from_path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _stack_file_arguments(command: argparse.ArgumentParser) -> None:
    """The arguments of the commands that read a stack file: which stack, which file, which project."""
    command.add_argument("--stack", help="stack name (default: from --config's file name, else dev)")
    command.add_argument("--config", type=Path, metavar="FILE",
                         help="stack config file (default: Pulumi.<stack>.yaml in the project)")
    command.add_argument("--project-dir", type=Path, default=PROJECT_DIR, metavar="DIR",
                         help="directory holding Pulumi.yaml (default: this project)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stacks", description="dynamo-cluster offline tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    plan = commands.add_parser(
        "plan", help="render a stack offline into build/plan/<stack>/",
        description="Run the Pulumi program in-process under mocks (no cloud account, cluster or Pulumi "
                    "CLI) and write resources.json, manifests/, releases.yaml, graph.mmd and summary.md. "
                    "Invalid config exits 2, prints every problem and writes nothing.",
        epilog="exit status: 0 planned, 2 invalid config, an unreadable stack file or a refused upgrade")
    _stack_file_arguments(plan)
    plan.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: build/plan/<stack>)")
    plan.add_argument("--deployed-version", metavar="X.Y.Z",
                      help="the Dynamo release the cluster runs now: summary.md then lists what moving to the "
                           "stack's operator.version changes, and refuses a move back across a CRD storage version")

    preflight = commands.add_parser(
        "preflight", help="check the cluster (and with --aws the cloud account) before `pulumi up`",
        description="Check what the stack takes for granted, read-only. The cluster, through the Kubernetes API "
                    "at the stack's kubeconfig and context (kubernetes.kubeconfigPath and kubernetes.context, or "
                    "the secret kubeconfig, decrypted with `pulumi config get`; never the ambient KUBECONFIG): the "
                    "API answers and runs a supported version, one default StorageClass and every class the "
                    "stack names (ReadWriteMany for the model cache), each pool's nodes, GPUs and EFA interfaces "
                    "against the capacity plan, the device plugins, no Dynamo operator or CRDs of another "
                    "install, and the Secrets the stack expects. With --aws, also the EKS cluster, each eks "
                    "pool's subnets, EFA support and capacity reservation, and the account's GPU vCPU quotas "
                    "(credentials: the standard AWS chain, with the stack's aws.region and aws.profile). With "
                    "--dataplane, instead: run pods that prove each EFA pool's data path (see below).",
        epilog="exit status: 0 every check passed, 1 a check failed, 2 invalid config or no check chosen; "
               "--dataplane also 130 interrupted (after cleaning up)")
    _stack_file_arguments(preflight)
    preflight.add_argument("--aws", action="store_true", help="also check the AWS account the eks node pools need")
    preflight.add_argument("--no-cluster", dest="cluster", action="store_false",
                           help="skip the cluster checks (with --aws: check only the AWS account)")
    from stacks.preflight.dataplane.arguments import add_arguments as add_dataplane_arguments

    add_dataplane_arguments(preflight)

    from stacks.verify.command import add_arguments
    from stacks.verify.dataplane import options as dataplane

    verify = commands.add_parser(
        "verify", help="check a deployed stack's NATS and etcd, or with --dataplane its graphs' EFA data path",
        description="Check NATS (reachable with the stack's credentials, JetStream, cluster size, max_payload, "
                    "a write probe on a temporary stream) and etcd (member health, leader, quorum, a put/get/delete "
                    "probe) and print one report. Endpoints come from --nats/--etcd, or from the stack's outputs "
                    "through kubectl port-forward. With --stack and --dataplane, check instead the data path of "
                    "each graph with workers on EFA, the way Dynamo's EFA guide verifies it: NIXL's backend in "
                    "the workers' logs, the LIBFABRIC plugin executing and the library path in their processes, "
                    "NCCL's network on multi-node workers, KV transfers rising and none failing (the stack's "
                    "Prometheus, else the pods' /metrics read --sample-seconds apart), decode workers receiving "
                    "KV from prefill, the KV router applying KV events (docs/operations.md).",
        epilog="exit status: 0 healthy, 1 degraded but serving (with --dataplane also: not proven yet, e.g. no "
               "transfer seen; send a request), 2 not serving or not checkable")
    add_arguments(verify, PROJECT_DIR)
    dataplane.add_arguments(verify)

    from stacks.open.command import add_arguments as add_open_arguments

    open_ = commands.add_parser(
        "open", help="port-forward to Grafana, Prometheus or Alertmanager of a deployed stack",
        description="Port-forward to the UI of a deployed stack through kubectl, with the stack's own kubeconfig "
                    "and context, and print its local URL. For Grafana, also say where the admin password is "
                    "(the Secret and the kubectl command that reads it); the password itself is never read or "
                    "printed. Where each UI runs comes from the stack's outputs (`pulumi stack output`). Stops "
                    "on Ctrl-C.",
        epilog="exit status: 0 the port-forward ran and was stopped, 2 nothing to open or the stack or cluster "
               "cannot be reached")
    add_open_arguments(open_, PROJECT_DIR)
    return parser


def _preflight(args: argparse.Namespace, stack: str) -> int:
    from stacks.preflight.dataplane.arguments import DataplaneArgs

    dataplane_args = DataplaneArgs.from_args(args)
    if dataplane_args.requested:
        from stacks.preflight.dataplane import command as dataplane

        return dataplane.run(args.project_dir, stack, args.config, dataplane_args, aws=args.aws,
                             cluster=args.cluster)
    from stacks.preflight import command as preflight

    return preflight.run(args.project_dir, stack, args.config, aws=args.aws, cluster=args.cluster)


def _verify(args: argparse.Namespace) -> int:
    from stacks.verify import command as verify
    from stacks.verify.dataplane import options as dataplane_options

    wrong = dataplane_options.problem(args)
    if wrong is not None:
        print(f"verify: {wrong}", file=sys.stderr)
        return 2
    options = verify.VerifyOptions.from_args(args)
    if args.dataplane:
        from stacks.verify.dataplane import command as dataplane

        return dataplane.run(options, dataplane_options.DataplaneOptions.from_args(args))
    return verify.run(options)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    config = getattr(args, "config", None)  # verify reads a deployed stack, not a stack file
    stack = args.stack or (stack_name_from_path(config) if config else None) or "dev"
    if args.command == "plan":
        from stacks.plan import command as plan

        return plan.run(args.project_dir, stack, args.config, args.out, args.deployed_version)
    if args.command == "preflight":
        return _preflight(args, stack)
    if args.command == "verify":
        return _verify(args)
    if args.command == "open":
        from stacks.open import command as open_command

        return open_command.main(args)
    raise AssertionError(args.command)
