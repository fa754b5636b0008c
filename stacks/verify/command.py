"""`python -m stacks verify`: check a deployed stack's NATS and etcd and print one report.

Endpoints come from the flags (``--nats URL``, ``--etcd URL[,URL...]``) or, with ``--stack``, from
the stack's outputs through ``kubectl port-forward`` (one forward per etcd member, so each member's
health is known). Expectations (NATS cluster size, max_payload, etcd members) come from the flags,
else from the stack's outputs, else defaults. The NATS password is read from the environment
(never from a flag, which other users could see in the process list) or, with ``--stack``, from the
stack's auth Secret.

Every check has a deadline and NATS and etcd are checked at the same time (the etcd members too),
so a run against endpoints that are dead, or that trickle bytes, ends within half a minute. Nothing
verify prints holds a credential: a password in a URL shows as ``***``.

Exit status: 0 healthy, 1 degraded but serving, 2 not serving or not checkable.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from components.etcd.settings import CLIENT_PORT as ETCD_CLIENT_PORT
from components.etcd.tls import CLIENT_KEYS as ETCD_CLIENT_KEYS
from components.nats.settings import CLIENT_PORT, DYNAMO_MAX_PAYLOAD, PASSWORD_KEY, USERNAME_KEY
from stacks.ops.cluster import stack_kubectl
from stacks.ops.report import VERIFY_WORDS, Report, Section, Status
from stacks.outputs import OutputsError, StackOutputs
from stacks.verify.discovery import DiscoveryError, Kubectl, stack_outputs
from stacks.verify.etcd import ClientTls, Gateway, check_etcd
from stacks.verify.nats import NatsTarget, check_nats, redact


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
    etcd_cacert: str | None = None
    etcd_cert: str | None = None
    etcd_key: str | None = None
    as_json: bool = False

    @staticmethod
    def from_args(args: argparse.Namespace) -> VerifyOptions:
        return VerifyOptions(
            stack=args.stack, nats=args.nats, etcd=args.etcd, nats_user=args.nats_user,
            nats_password_env=args.nats_password_env, nats_replicas=args.nats_replicas,
            max_payload=args.max_payload, etcd_members=args.etcd_members, kube_context=args.kube_context,
            kubeconfig=args.kubeconfig, timeout=args.timeout, project_dir=args.project_dir,
            etcd_cacert=args.etcd_cacert, etcd_cert=args.etcd_cert, etcd_key=args.etcd_key,
            as_json=getattr(args, "json", False))


@dataclass(frozen=True)
class Targets:
    """What to check: a NATS target and etcd endpoints, or a note why not."""

    nats: NatsTarget | None
    etcd: list[str] | None
    etcd_members: int | None
    notes: tuple[Section, ...] = ()
    etcd_tls: ClientTls | None = None  # the stack's client certificate, when verify reads a stack


def _url_problem(url: str, scheme: tuple[str, ...]) -> str | None:
    """What is wrong with a server URL: scheme, host, port (1 to 65535), brackets; None when usable."""
    if not url.startswith(scheme):
        return "wrong scheme"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        return str(error)
    if not parts.hostname:
        return "no host"
    if port is None:
        return "no port"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "a path, query or fragment after the port"
    return None


def _urls(text: str, scheme: tuple[str, ...], flag: str) -> list[str]:
    """The comma-separated URLs of `text`: each with one of `scheme`, a host and a port; none empty,
    none twice, all with one scheme (a list that mixes TLS and plain text is a mistake either way)."""
    entries = [u.strip() for u in text.split(",")]
    expected = f"expected {' or '.join(s + '...' for s in scheme)} URLs with a host and a port"
    if not any(entries):
        raise DiscoveryError(f"{flag}: {expected}, got {redact(text)!r}")
    if not all(entries):
        raise DiscoveryError(f"{flag}: {expected}, separated by single commas; got an empty entry in "
                             f"{redact(text)!r}")
    for url in entries:
        wrong = _url_problem(url, scheme)
        if wrong is not None:
            raise DiscoveryError(f"{flag}: {expected}, got {redact(url)!r} ({wrong})")
    repeated = sorted({redact(u) for u in entries if entries.count(u) > 1})
    if repeated:
        raise DiscoveryError(f"{flag}: each URL once; {', '.join(repeated)} is listed more than once")
    schemes = sorted({u.split("://", 1)[0] for u in entries})
    if len(schemes) > 1:
        raise DiscoveryError(f"{flag}: one scheme for every URL; got {' and '.join(schemes)}")
    return entries


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
            given = _urls(options.nats, ("nats://",), "--nats")
            if len(given) > 1:
                raise DiscoveryError("--nats: give one URL (verify checks the cluster through one server)")
            url = given[0]
        else:
            assert nats_out is not None
            kubectl = kubectl or _kubectl(options, forwards)
            port = forwards.enter_context(kubectl.port_forward(nats_out.namespace, f"svc/{nats_out.service}",
                                                               CLIENT_PORT))
            url = f"nats://127.0.0.1:{port}"
        if (user is None or password is None) and nats_out is not None:
            kubectl = kubectl or _kubectl(options, forwards)
            secret = kubectl.secret(nats_out.namespace, nats_out.verify_secret_name)  # verify's own user
            user, password = user or secret.get(USERNAME_KEY), password or secret.get(PASSWORD_KEY)
        nats = NatsTarget(url=url, user=user, password=password,
                          replicas=options.nats_replicas or (nats_out.replicas if nats_out else None),
                          max_payload=options.max_payload or (nats_out.max_payload if nats_out else DYNAMO_MAX_PAYLOAD))
    elif outputs is not None:
        notes.append(Section("NATS", [], note=f"not deployed (transport plan: {_plan(outputs)}; no plane uses NATS)"))
    else:
        notes.append(Section("NATS", [], note="not checked (no --nats URL and no --stack)"))

    etcd, etcd_tls, etcd_notes = _etcd_targets(options, outputs, forwards, kubectl)
    notes.extend(etcd_notes)
    etcd_out = outputs.etcd if outputs is not None else None
    members = options.etcd_members or (etcd_out.replicas if etcd_out is not None else None)
    return Targets(nats=nats, etcd=etcd, etcd_members=members, notes=tuple(notes), etcd_tls=etcd_tls)


def _etcd_targets(options: VerifyOptions, outputs: StackOutputs[str] | None, forwards: ExitStack,
                  kubectl: Kubectl | None) -> tuple[list[str] | None, ClientTls | None, list[Section]]:
    """The etcd URLs, the stack's client certificate (in stack mode), or a note why etcd is not checked."""
    etcd_out = outputs.etcd if outputs is not None else None
    if options.etcd:
        return _urls(options.etcd, ("http://", "https://"), "--etcd"), None, []
    if outputs is not None and etcd_out is None:
        return None, None, [Section("etcd", [], note=f"not deployed (transport plan: {_plan(outputs)})")]
    if etcd_out is None:
        return None, None, [Section("etcd", [], note="not checked (no --etcd URLs and no --stack)")]
    kubectl = kubectl or _kubectl(options, forwards)
    ports = [forwards.enter_context(kubectl.port_forward(etcd_out.namespace, f"pod/{member}", ETCD_CLIENT_PORT))
             for member in etcd_out.members]
    # the members' certificate names 127.0.0.1, where the forwards listen
    urls = [f"https://127.0.0.1:{port}" for port in ports]
    if any((options.etcd_cacert, options.etcd_cert, options.etcd_key)):
        return urls, None, []
    return urls, _secret_tls(kubectl.secret(etcd_out.namespace, etcd_out.client_secret_name), forwards), []


def _secret_tls(data: dict[str, str], forwards: ExitStack) -> ClientTls:
    """The stack's etcd client certificate, from its Secret, in files that exist only while verify runs."""
    missing = [key for key in ETCD_CLIENT_KEYS if not data.get(key)]
    if missing:
        raise DiscoveryError(f"the etcd client Secret lacks {', '.join(missing)}: run `pulumi up` to restore it")
    paths = []
    for key in ETCD_CLIENT_KEYS:
        handle, path = tempfile.mkstemp(prefix="dynamo-cluster-etcd-")  # mode 0600
        forwards.callback(os.unlink, path)
        with os.fdopen(handle, "w") as file:
            file.write(data[key])
        paths.append(path)
    return ClientTls(*paths)


def _etcd_tls(options: VerifyOptions) -> ClientTls | None:
    given = [options.etcd_cacert, options.etcd_cert, options.etcd_key]
    if not any(given):
        return None
    if not all(given):
        raise DiscoveryError("--etcd-cacert, --etcd-cert and --etcd-key go together: etcd asks for a client "
                             "certificate signed by its CA")
    files = [path for path in given if path is not None]
    for path in files:
        if not os.path.isfile(path):
            raise DiscoveryError(f"{path}: no such file (an etcd TLS flag)")
    return ClientTls(*files)


def secrets_of(options: VerifyOptions, found: Targets) -> list[str]:
    """Every credential verify holds: none of them may appear in what it prints."""
    out = [os.environ.get(options.nats_password_env) or ""]
    if found.nats is not None:
        out.append(found.nats.password or "")
        for url in [found.nats.url, *(found.etcd or [])]:
            out.append(urllib.parse.urlsplit(url).password or "")
    return [s for s in out if len(s) >= 3]


def scrub(text: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def run(options: VerifyOptions) -> int:
    with ExitStack() as forwards:
        try:
            found = targets(options, forwards)
            tls = found.etcd_tls or _etcd_tls(options)
        except DiscoveryError as error:
            password = os.environ.get(options.nats_password_env) or ""
            print(scrub(f"verify: {error}", [password] if len(password) >= 3 else []), file=sys.stderr)
            return int(Status.FAILED)
        nats, etcd = found.nats, found.etcd
        # NATS and etcd at once: each has its own deadline, so the slower one bounds the run.
        with ThreadPoolExecutor(max_workers=2) as pool:
            nats_findings = None if nats is None else pool.submit(check_nats, nats, timeout=options.timeout)
            etcd_findings = None if etcd is None else pool.submit(
                check_etcd, etcd, api=Gateway(timeout=max(options.timeout, 8.0), tls=tls),
                expected_members=found.etcd_members)
            sections: list[Section] = []
            if nats is not None and nats_findings is not None:
                sections.append(Section(f"NATS {redact(nats.url)}", nats_findings.result()))
            if etcd is not None and etcd_findings is not None:
                sections.append(Section(f"etcd {','.join(redact(u) for u in etcd)}", etcd_findings.result()))
        sections.extend(found.notes)
    report = Report(f"verify {options.stack}" if options.stack else "verify", sections, summaries=VERIFY_WORDS)
    print(scrub(report.render(options.as_json), secrets_of(options, found)), end="")
    return report.exit_code
