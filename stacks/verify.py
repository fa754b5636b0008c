"""`python -m stacks verify`: check a deployed stack's NATS and etcd and print one report.

Endpoints come from the flags (``--nats URL``, ``--etcd URL[,URL...]``) or, with ``--stack``, from
the stack's outputs through ``kubectl port-forward`` (one forward per etcd member, so each member's
health is known). Expectations (NATS cluster size, max_payload, etcd members) come from the flags,
else from the stack's outputs, else defaults. The NATS password is read from the environment
(never from a flag, which other users could see in the process list) or, with ``--stack``, from the
stack's auth Secret.

Exit status: 0 healthy, 1 degraded but serving, 2 not serving or not checkable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.nats.values import CLIENT_PORT, DYNAMO_MAX_PAYLOAD, PASSWORD_KEY, USERNAME_KEY
from stacks.cluster_view import ClusterConnectError
from stacks.discovery import DiscoveryError, Kubectl, stack_outputs
from stacks.kube_client import ClusterTarget, cluster_target, pulumi_secret_reader
from stacks.verify_etcd import Gateway, check_etcd
from stacks.verify_nats import NatsTarget, check_nats
from stacks.verify_report import Section, Status, overall, render

ETCD_CLIENT_PORT = 2379


def add_arguments(parser: argparse.ArgumentParser, project_dir: Path) -> None:
    parser.add_argument("--stack", help="read endpoints and expectations from this stack's outputs (needs the "
                        "Pulumi CLI and kubectl)")
    parser.add_argument("--nats", metavar="URL", help="NATS client URL, e.g. nats://127.0.0.1:4222")
    parser.add_argument("--etcd", metavar="URL[,URL...]", help="etcd client URLs, one per member to count failures")
    parser.add_argument("--nats-user", metavar="USER", help=f"NATS user (default: ${USERNAME_KEY}, else the stack's "
                        "Secret)")
    parser.add_argument("--nats-password-env", metavar="VAR", default=PASSWORD_KEY,
                        help=f"environment variable holding the NATS password (default: {PASSWORD_KEY})")
    parser.add_argument("--nats-replicas", type=int, metavar="N", help="expected NATS cluster size")
    parser.add_argument("--max-payload", type=int, metavar="BYTES",
                        help=f"configured max_payload (default: the stack's, else {DYNAMO_MAX_PAYLOAD})")
    parser.add_argument("--etcd-members", type=int, metavar="N", help="expected etcd member count")
    parser.add_argument("--kube-context", metavar="NAME",
                        help="kubectl context (default: the stack's kubernetes.context)")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig for kubectl, with --kube-context (default: the stack's "
                             "kubernetes.kubeconfigPath, or its secret kubeconfig)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per-request timeout")
    parser.add_argument("--project-dir", type=Path, default=project_dir, metavar="DIR", help=argparse.SUPPRESS)


@dataclass(frozen=True)
class Plan:
    """What to check: a NATS target and etcd endpoints, or a note why not."""

    nats: NatsTarget | None
    etcd: list[str] | None
    etcd_members: int | None
    notes: tuple[Section, ...] = ()


def _urls(text: str, scheme: tuple[str, ...], flag: str) -> list[str]:
    urls = [u.strip() for u in text.split(",") if u.strip()]
    bad = [u for u in urls if not u.startswith(scheme)]
    if not urls or bad:
        raise DiscoveryError(f"{flag}: expected {' or '.join(s + '...' for s in scheme)} URLs, got {text!r}")
    return urls


def stack_cluster(project_dir: Path, stack: str) -> ClusterTarget:
    """The kubeconfig and context of the stack's config, exactly as its Kubernetes provider (and
    preflight) reach the cluster."""
    from stacks.config import ConfigError
    from stacks.plan import load
    from stacks.stackfile import StackFileError

    try:
        _, config = load(project_dir, stack, None)
    except (StackFileError, ConfigError) as error:
        raise DiscoveryError(f"cannot read the stack's kubernetes settings: {error}") from None
    try:
        return cluster_target(config.kubernetes, pulumi_secret_reader(project_dir, stack, None))
    except ClusterConnectError as error:
        raise DiscoveryError(f"{error}{f'; {error.fix}' if error.fix else ''}") from None


def _kubectl(args: argparse.Namespace, forwards: ExitStack) -> Kubectl:
    if args.kube_context or args.kubeconfig:
        if not args.kube_context:
            raise DiscoveryError("--kubeconfig needs --kube-context: the file's current context is never used")
        return Kubectl(context=args.kube_context, kubeconfig=args.kubeconfig)
    target = stack_cluster(args.project_dir, args.stack)
    if target.kubeconfig_path is not None:
        return Kubectl(context=target.context, kubeconfig=os.path.expanduser(target.kubeconfig_path))
    assert target.kubeconfig is not None  # cluster_target gives a path or the inline kubeconfig
    # kubectl reads a file: the stack's secret kubeconfig lives in one only while verify runs
    handle, path = tempfile.mkstemp(prefix="dynamo-cluster-kubeconfig-")
    forwards.callback(os.unlink, path)
    with os.fdopen(handle, "w") as file:
        file.write(target.kubeconfig.value)
    return Kubectl(context=target.context, kubeconfig=path)


def plan(args: argparse.Namespace, forwards: ExitStack) -> Plan:
    """Resolve targets; port-forwards opened on the way stay open until `forwards` closes."""
    if not args.stack and not (args.nats or args.etcd):
        raise DiscoveryError("nothing to check: give --stack NAME, or --nats URL and/or --etcd URL[,URL...]")
    outputs = stack_outputs(args.stack, args.project_dir) if args.stack else {}
    nats_out: dict[str, Any] = outputs.get("nats") or {}
    etcd_out: dict[str, Any] | None = outputs.get("etcd")
    kubectl: Kubectl | None = None
    notes: list[Section] = []

    user = args.nats_user or os.environ.get(USERNAME_KEY)
    password = os.environ.get(args.nats_password_env)
    nats: NatsTarget | None = None
    if args.nats or args.stack:
        if args.nats:
            url = _urls(args.nats, ("nats://",), "--nats")[0]
        else:
            kubectl = kubectl or _kubectl(args, forwards)
            port = forwards.enter_context(kubectl.port_forward(nats_out["namespace"], f"svc/{nats_out['service']}",
                                                               CLIENT_PORT))
            url = f"nats://127.0.0.1:{port}"
        if (user is None or password is None) and args.stack:
            kubectl = kubectl or _kubectl(args, forwards)
            secret = kubectl.secret(nats_out["namespace"], nats_out["authSecretName"])
            user, password = user or secret.get(USERNAME_KEY), password or secret.get(PASSWORD_KEY)
        nats = NatsTarget(url=url, user=user, password=password,
                          replicas=args.nats_replicas or nats_out.get("replicas"),
                          max_payload=args.max_payload or nats_out.get("maxPayload") or DYNAMO_MAX_PAYLOAD)
    else:
        notes.append(Section("NATS", [], note="not checked (no --nats URL and no --stack)"))

    etcd: list[str] | None = None
    if args.etcd:
        etcd = _urls(args.etcd, ("http://", "https://"), "--etcd")
    elif args.stack and etcd_out is None:
        notes.append(Section("etcd", [], note="not deployed (etcd.enabled is false: Dynamo uses Kubernetes discovery)"))
    elif args.stack and etcd_out is not None:
        kubectl = kubectl or _kubectl(args, forwards)
        ports = [forwards.enter_context(kubectl.port_forward(etcd_out["namespace"], f"pod/{member}", ETCD_CLIENT_PORT))
                 for member in etcd_out["members"]]
        etcd = [f"http://127.0.0.1:{port}" for port in ports]
    else:
        notes.append(Section("etcd", [], note="not checked (no --etcd URLs and no --stack)"))
    members = args.etcd_members or (etcd_out or {}).get("replicas")
    return Plan(nats=nats, etcd=etcd, etcd_members=members, notes=tuple(notes))


def run(args: argparse.Namespace) -> int:
    with ExitStack() as forwards:
        try:
            targets = plan(args, forwards)
        except DiscoveryError as error:
            print(f"verify: {error}", file=sys.stderr)
            return int(Status.DOWN)
        sections: list[Section] = []
        if targets.nats is not None:
            sections.append(Section(f"NATS {targets.nats.url}", check_nats(targets.nats, timeout=args.timeout)))
        if targets.etcd is not None:
            sections.append(Section(f"etcd {','.join(targets.etcd)}", check_etcd(
                targets.etcd, api=Gateway(timeout=max(args.timeout, 8.0)), expected_members=targets.etcd_members)))
        sections.extend(targets.notes)
    print(render(sections), end="")
    return int(overall(sections))
