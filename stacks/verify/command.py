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
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from components.etcd.manifests import CLIENT_PORT as ETCD_CLIENT_PORT
from components.nats.values import CLIENT_PORT, DYNAMO_MAX_PAYLOAD, PASSWORD_KEY, USERNAME_KEY
from stacks.kube.cluster import stack_kubectl
from stacks.outputs import OutputsError, StackOutputs
from stacks.verify.discovery import DiscoveryError, Kubectl, stack_outputs
from stacks.verify.etcd import Gateway, check_etcd
from stacks.verify.nats import NatsTarget, check_nats
from stacks.verify.report import Section, Status, overall, render


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
class VerifyOptions:
    """The command line, typed: what to check and how (see `add_arguments`)."""

    stack: str | None
    nats: str | None
    etcd: str | None
    nats_user: str | None
    nats_password_env: str
    nats_replicas: int | None
    max_payload: int | None
    etcd_members: int | None
    kube_context: str | None
    kubeconfig: str | None
    timeout: float
    project_dir: Path

    @staticmethod
    def from_args(args: argparse.Namespace) -> VerifyOptions:
        return VerifyOptions(
            stack=args.stack, nats=args.nats, etcd=args.etcd, nats_user=args.nats_user,
            nats_password_env=args.nats_password_env, nats_replicas=args.nats_replicas,
            max_payload=args.max_payload, etcd_members=args.etcd_members, kube_context=args.kube_context,
            kubeconfig=args.kubeconfig, timeout=args.timeout, project_dir=args.project_dir)


@dataclass(frozen=True)
class Targets:
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


def _kubectl(options: VerifyOptions, forwards: ExitStack) -> Kubectl:
    if options.kube_context or options.kubeconfig:
        if not options.kube_context:
            raise DiscoveryError("--kubeconfig needs --kube-context: the file's current context is never used")
        return Kubectl(context=options.kube_context, kubeconfig=options.kubeconfig)
    assert options.stack is not None  # only stack mode reaches the cluster without --kube-context
    # the stack's kubeconfig and context, as its provider uses them (a secret kubeconfig lives in a
    # file only while verify runs)
    return stack_kubectl(options.project_dir, options.stack, forwards, make=Kubectl)


def deployed(options: VerifyOptions) -> StackOutputs[str] | None:
    """The stack's outputs, when verify reads a stack."""
    if not options.stack:
        return None
    try:
        return StackOutputs.from_dict(stack_outputs(options.stack, options.project_dir))
    except OutputsError as error:
        raise DiscoveryError(f"the outputs of stack {options.stack} are not those this version of dynamo-cluster "
                             f"writes ({error}): run `pulumi up` with this version first") from None


def _plan(outputs: StackOutputs[str]) -> str:
    dynamo = outputs.dynamo
    return f"discovery {dynamo.discovery}, event plane {dynamo.event_plane}, request plane {dynamo.request_plane}"


def targets(options: VerifyOptions, forwards: ExitStack) -> Targets:
    """Resolve targets; port-forwards opened on the way stay open until `forwards` closes."""
    if not options.stack and not (options.nats or options.etcd):
        raise DiscoveryError("nothing to check: give --stack NAME, or --nats URL and/or --etcd URL[,URL...]")
    outputs = deployed(options)
    kubectl: Kubectl | None = None
    notes: list[Section] = []

    user = options.nats_user or os.environ.get(USERNAME_KEY)
    password = os.environ.get(options.nats_password_env)
    nats_out = outputs.nats if outputs is not None else None
    nats: NatsTarget | None = None
    if options.nats or nats_out is not None:
        if options.nats:
            url = _urls(options.nats, ("nats://",), "--nats")[0]
        else:
            assert nats_out is not None
            kubectl = kubectl or _kubectl(options, forwards)
            port = forwards.enter_context(kubectl.port_forward(nats_out.namespace, f"svc/{nats_out.service}",
                                                               CLIENT_PORT))
            url = f"nats://127.0.0.1:{port}"
        if (user is None or password is None) and nats_out is not None:
            kubectl = kubectl or _kubectl(options, forwards)
            secret = kubectl.secret(nats_out.namespace, nats_out.auth_secret_name)
            user, password = user or secret.get(USERNAME_KEY), password or secret.get(PASSWORD_KEY)
        nats = NatsTarget(url=url, user=user, password=password,
                          replicas=options.nats_replicas or (nats_out.replicas if nats_out else None),
                          max_payload=options.max_payload or (nats_out.max_payload if nats_out else DYNAMO_MAX_PAYLOAD))
    elif outputs is not None:
        notes.append(Section("NATS", [], note=f"not deployed (transport plan: {_plan(outputs)}; no plane uses NATS)"))
    else:
        notes.append(Section("NATS", [], note="not checked (no --nats URL and no --stack)"))

    etcd_out = outputs.etcd if outputs is not None else None
    etcd: list[str] | None = None
    if options.etcd:
        etcd = _urls(options.etcd, ("http://", "https://"), "--etcd")
    elif outputs is not None and etcd_out is None:
        notes.append(Section("etcd", [], note=f"not deployed (transport plan: {_plan(outputs)})"))
    elif etcd_out is not None:
        kubectl = kubectl or _kubectl(options, forwards)
        ports = [forwards.enter_context(kubectl.port_forward(etcd_out.namespace, f"pod/{member}", ETCD_CLIENT_PORT))
                 for member in etcd_out.members]
        etcd = [f"http://127.0.0.1:{port}" for port in ports]
    else:
        notes.append(Section("etcd", [], note="not checked (no --etcd URLs and no --stack)"))
    members = options.etcd_members or (etcd_out.replicas if etcd_out is not None else None)
    return Targets(nats=nats, etcd=etcd, etcd_members=members, notes=tuple(notes))


def run(options: VerifyOptions) -> int:
    with ExitStack() as forwards:
        try:
            found = targets(options, forwards)
        except DiscoveryError as error:
            print(f"verify: {error}", file=sys.stderr)
            return int(Status.DOWN)
        sections: list[Section] = []
        if found.nats is not None:
            sections.append(Section(f"NATS {found.nats.url}", check_nats(found.nats, timeout=options.timeout)))
        if found.etcd is not None:
            sections.append(Section(f"etcd {','.join(found.etcd)}", check_etcd(
                found.etcd, api=Gateway(timeout=max(options.timeout, 8.0)), expected_members=found.etcd_members)))
        sections.extend(found.notes)
    print(render(sections), end="")
    return int(overall(sections))
