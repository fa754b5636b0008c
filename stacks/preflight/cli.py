"""`python -m stacks preflight`: its command line (the runs: `stacks.preflight.command`, and with
--dataplane `stacks.preflight.dataplane.command`)."""

from __future__ import annotations

import argparse

from stacks.args import add_stack_file_arguments, stack_of
from stacks.preflight.dataplane.arguments import DataplaneArgs
from stacks.preflight.dataplane.arguments import add_arguments as add_dataplane_arguments

DESCRIPTION = (
    "Check what the stack takes for granted, read-only. The cluster, through the Kubernetes API at the stack's "
    "kubeconfig and context (kubernetes.kubeconfigPath and kubernetes.context, or the secret kubeconfig, decrypted "
    "with `pulumi config get`; never the ambient KUBECONFIG): the API answers and runs a supported version, one "
    "default StorageClass and every class the stack names (ReadWriteMany for the model cache), each pool's nodes, "
    "GPUs and EFA interfaces against the capacity plan, the device plugins, no Dynamo operator or CRDs of another "
    "install, and the Secrets the stack expects. With --aws, also the EKS cluster, each eks pool's subnets, EFA "
    "support and capacity reservation, and the account's GPU vCPU quotas (credentials: the standard AWS chain, "
    "with the stack's aws.region and aws.profile). With --dataplane, instead: run pods that prove each EFA pool's "
    "data path (see below).")
EPILOG = ("exit status: 0 every check passed, 1 a check failed, 2 invalid config or no check chosen; --dataplane "
          "also 130 interrupted (after cleaning up)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_stack_file_arguments(parser)
    parser.add_argument("--aws", action="store_true", help="also check the AWS account the eks node pools need")
    parser.add_argument("--no-cluster", dest="cluster", action="store_false",
                        help="skip the cluster checks (with --aws: check only the AWS account)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (the same findings and exit "
                                                             "status)")
    add_dataplane_arguments(parser)


def run(args: argparse.Namespace) -> int:
    stack = stack_of(args)
    dataplane_args = DataplaneArgs.from_args(args)
    if dataplane_args.requested:
        from stacks.preflight.dataplane import command as dataplane

        return dataplane.run(args.project_dir, stack, args.config, dataplane_args, aws=args.aws,
                             cluster=args.cluster)
    from stacks.preflight import command

    return command.run(args.project_dir, stack, args.config, aws=args.aws, cluster=args.cluster, as_json=args.json)
