"""`python -m stacks verify`: its command line (the runs: `stacks.verify.command`, and with --dataplane
`stacks.verify.dataplane.command`)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from components.nats.settings import DYNAMO_MAX_PAYLOAD, PASSWORD_KEY, USERNAME_KEY
from stacks.args import PROJECT_DIR, bounded
from stacks.verify.dataplane import options as dataplane
from stacks.verify.serve import options as serve

DESCRIPTION = (
    "Check NATS (reachable with the stack's credentials, JetStream, cluster size, max_payload, a write probe on a "
    "temporary stream) and etcd (member health, leader, quorum, a put/get/delete probe) and print one report. "
    "Endpoints come from --nats/--etcd, or from the stack's outputs through kubectl port-forward. With --stack and "
    "--dataplane, check instead the data path of each graph with workers on EFA, the way Dynamo's EFA guide "
    "verifies it: NIXL's backend in the workers' logs, the LIBFABRIC plugin executing and the library path in their "
    "processes, NCCL's network on multi-node workers, KV transfers rising and none failing (the stack's Prometheus, "
    "else the pods' /metrics read --sample-seconds apart), decode workers receiving KV from prefill, the KV router "
    "applying KV events (docs/operations.md). With --serve, check instead that each graph serves: its model listed, "
    "a unary and a streamed chat completion within a deadline (time to first token and inter-token latency "
    "reported), its router routing, through a port-forward to each frontend (--stack) or against a running "
    "`python -m stacks local` (--local).")
EPILOG = ("exit status: 0 healthy, 1 degraded but serving (with --dataplane also: not proven yet, e.g. no transfer "
          "seen; send a request), 2 not serving or not checkable")

MAX_TIMEOUT = 60.0
NATS_MAX_PAYLOAD_LIMIT = 64 * 1024 * 1024


def _seconds(text: str) -> float:
    return bounded("seconds", 0.1, MAX_TIMEOUT, float)(text)


def _count(high: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        return int(bounded("a whole number", 1, high, int)(text))
    return check


class _Once(argparse.Action):
    """An option that may be given once: a second value is an error, never silently the one used."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option} given more than once: give one URL")
        setattr(namespace, self.dest, values)


def add_arguments(parser: argparse.ArgumentParser, project_dir: Path = PROJECT_DIR) -> None:
    parser.add_argument("--stack", help="read endpoints and expectations from this stack's outputs (needs the "
                        "Pulumi CLI and kubectl)")
    parser.add_argument("--nats", metavar="URL", action=_Once, help="NATS client URL, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--etcd", metavar="URL[,URL...]", action=_Once,
                        help="etcd client URLs, one per member to count failures")
    parser.add_argument("--etcd-cacert", metavar="FILE", help="CA certificate (PEM) that signed etcd's certificates "
                        "(https:// URLs; with --stack, read from the stack's etcd client Secret)")
    parser.add_argument("--etcd-cert", metavar="FILE", help="client certificate (PEM) for etcd")
    parser.add_argument("--etcd-key", metavar="FILE", help="client key (PEM) for etcd")
    parser.add_argument("--nats-user", metavar="USER", help=f"NATS user (default: ${USERNAME_KEY}, else the stack's "
                        "Secret)")
    parser.add_argument("--nats-password-env", metavar="VAR", default=PASSWORD_KEY,
                        help=f"environment variable holding the NATS password (default: {PASSWORD_KEY})")
    parser.add_argument("--nats-replicas", type=_count(99), metavar="N", help="expected NATS cluster size")
    parser.add_argument("--max-payload", type=_count(NATS_MAX_PAYLOAD_LIMIT), metavar="BYTES",
                        help=f"configured max_payload (default: the stack's, else {DYNAMO_MAX_PAYLOAD}; "
                             "at most 64 MiB)")
    parser.add_argument("--etcd-members", type=_count(99), metavar="N", help="expected etcd member count")
    parser.add_argument("--kube-context", metavar="NAME",
                        help="kubectl context (default: the stack's kubernetes.context)")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig for kubectl, with --kube-context (default: the stack's "
                             "kubernetes.kubeconfigPath, or its secret kubeconfig)")
    parser.add_argument("--timeout", type=_seconds, default=5.0, metavar="SECONDS",
                        help=f"per-request timeout, 0.1 to {MAX_TIMEOUT:g} (default 5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (the same findings and exit "
                                                             "status)")
    parser.add_argument("--project-dir", type=Path, default=project_dir, metavar="DIR", help=argparse.SUPPRESS)


    dataplane.add_arguments(parser)
    serve.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from stacks.verify import command

    wrong = dataplane.problem(args) or serve.problem(args)
    if wrong is not None:
        print(f"verify: {wrong}", file=sys.stderr)
        return 2
    options = command.VerifyOptions.from_args(args)
    if args.serve:
        from stacks.verify.serve import command as serve_command

        return serve_command.run(options, serve.ServeCliOptions.from_args(args))
    if args.dataplane:
        from stacks.verify.dataplane import command as dataplane_command

        return dataplane_command.run(options, dataplane.DataplaneOptions.from_args(args))
    return command.run(options)
