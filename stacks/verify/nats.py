"""`verify` for NATS: reachability with credentials, JetStream, max_payload, cluster size, and a
write probe (a temporary stream with the configured replica count: publish, read back, delete)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from stacks.ops.report import Finding, Status

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js.client import JetStreamContext

PROBE_PREFIX = "DYNAMO_CLUSTER_VERIFY_"
UNREACHABLE = ("nothing answers at this address: check the port-forward or Service, the server pods, and that "
               "the NetworkPolicy admits this client's namespace")
AUTH = ("the credentials differ from the server's: the nats-auth Secret (platform and workloads namespaces) "
        "must hold what the servers read at start; restart the servers after changing it")
NO_CREDENTIALS = ("the server requires a user and password and none was given: set NATS_AUTH_USERNAME and "
                  "NATS_AUTH_PASSWORD (or --nats-user and --nats-password-env), or use --stack to read them from "
                  "the stack's Secret")
NOT_NATS = ("something answers at this address, but not as a NATS server: check the URL's port (4222 is "
            "NATS' client port) and the port-forward")
# How long one whole NATS check may take, whatever the server does (an election, a slow disk, a
# peer that trickles bytes): past it the check ends with what it found.
CHECK_DEADLINE_SECONDS = 60.0
JETSTREAM = ("JetStream is off in the server config (config.jetstream.enabled), or has no meta leader because "
             "the cluster lost its quorum; Dynamo does not start without it")
# How long JetStream may go unanswered while its servers elect a new meta leader (after a server
# went down, a few seconds) before verify calls it unavailable.
ELECTION_WINDOW_SECONDS = 20.0


async def account_info_within(js: Any, window: float, pause: float = 1.0) -> float:
    """Ask JetStream for the account's info, retrying timeouts (an election in progress) for up to
    `window` seconds; returns the seconds it took. Other errors, and a timeout past the window, are
    raised as they are."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        try:
            await js.account_info()
            return loop.time() - start
        except TimeoutError:
            if loop.time() - start + pause >= window:
                raise
            await asyncio.sleep(pause)


def urllib_user(url: str) -> str | None:
    import urllib.parse

    return urllib.parse.urlsplit(url).username


@dataclass(frozen=True)
class NatsTarget:
    url: str
    user: str | None
    password: str | None
    replicas: int | None  # expected cluster size; None: not checked
    max_payload: int  # bytes the stack configures


def redact(url: str) -> str:
    """`url` with any password in it replaced by ``***`` (``nats://user:***@host:4222``)."""
    import re

    # by pattern, not by parsing: a malformed URL (a bad port or bracket) is redacted as well
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)


def check_nats(target: NatsTarget, *, timeout: float = 5.0,
               deadline: float = CHECK_DEADLINE_SECONDS) -> list[Finding]:
    async def bounded() -> list[Finding]:
        try:
            return await asyncio.wait_for(_check(target, timeout), timeout=deadline)
        except TimeoutError:
            return [Finding("deadline", Status.FAILED, f"no complete answer within {deadline:g} s",
                            "the server accepts connections but does not answer as a NATS server should: check "
                            "its pods and logs")]

    return asyncio.run(bounded())


async def _connect(target: NatsTarget, timeout: float, seen: list[Exception]) -> Client:
    import nats

    async def quiet(error: Exception) -> None:
        seen.append(error)

    # One retry, then NoServersError (0 would mean "retry forever" to nats-py).
    options: dict[str, Any] = {"connect_timeout": timeout, "allow_reconnect": False, "max_reconnect_attempts": 1,
                               "reconnect_time_wait": 0.2, "error_cb": quiet}
    if target.user is not None:
        options.update(user=target.user, password=target.password or "")
    return await asyncio.wait_for(nats.connect(target.url, **options), timeout=3 * timeout)


async def _check(target: NatsTarget, timeout: float) -> list[Finding]:
    from nats import errors

    seen: list[Exception] = []
    where = redact(target.url)
    try:
        client = await _connect(target, timeout, seen)
    except (OSError, TimeoutError, errors.Error) as error:
        # NoServersError says only that no attempt worked; the last attempt's error says why.
        last = seen[-1] if seen and isinstance(error, errors.NoServersError) else error
        text = str(last) or type(last).__name__
        if "authorization" in text.lower():
            if target.user is None and "@" not in target.url:
                return [Finding("authentication", Status.FAILED, f"refused without credentials: {text}",
                                NO_CREDENTIALS)]
            return [Finding("authentication", Status.FAILED, f"the credentials given were refused: {text}", AUTH)]
        if isinstance(last, ValueError | UnicodeError | errors.ProtocolError):
            return [Finding("reachability", Status.FAILED, f"{where} does not speak NATS: {text}", NOT_NATS)]
        return [Finding("reachability", Status.FAILED, f"no server at {where}: {text}", UNREACHABLE)]
    except (ValueError, UnicodeError, KeyError, IndexError) as error:  # an INFO line that is not NATS'
        return [Finding("reachability", Status.FAILED, f"{where} does not speak NATS: {error!r}", NOT_NATS)]
    try:
        return await _checks(client, target, timeout)
    finally:
        await client.close()


async def _checks(client: Client, target: NatsTarget, timeout: float) -> list[Finding]:
    from nats.js import errors as js_errors

    info = client._server_info  # the INFO the server sent: name, version, limits, cluster
    user = target.user or urllib_user(target.url)
    who = f"as {user}" if user else "without credentials"
    server = str(info.get("server_name", "?"))
    findings = [Finding("reachability", Status.OK, f"connected {who} to {server} "
                        f"(nats-server {info.get('version', '?')})")]
    if client.max_payload >= target.max_payload:
        findings.append(Finding("max_payload", Status.OK, f"{client.max_payload} bytes, configured "
                                f"{target.max_payload}"))
    else:
        findings.append(Finding("max_payload", Status.DEGRADED, f"{client.max_payload} bytes, below the configured "
                                f"{target.max_payload}: larger Dynamo messages are refused",
                                "the server config lacks nats.maxPayload (config.merge.max_payload): check the "
                                "nats ConfigMap and let the reloader (or a restart) apply it"))
    js = client.jetstream(timeout=timeout)
    try:
        waited = await account_info_within(js, ELECTION_WINDOW_SECONDS)
    except (TimeoutError, js_errors.Error) as error:
        findings.append(Finding("jetstream", Status.FAILED, f"not available: {error or type(error).__name__}",
                                JETSTREAM))
        return findings
    after = f" (answered after {waited:.0f} s: a meta-leader election)" if waited >= 1 else ""
    findings.append(Finding("jetstream", Status.OK, f"enabled for this account{after}"))
    findings.extend(await _probe(js, target, server if info.get("cluster") else None))
    findings.extend(await _streams(js))
    return findings


@dataclass(frozen=True)
class _Outcome:
    info: Any = None
    same_bytes: bool = False
    error: str | None = None


async def _write(js: JetStreamContext, replicas: int, tag: str | None) -> _Outcome:
    """Create a probe stream, publish one message, read it back, delete the stream."""
    from nats.js import errors as js_errors
    from nats.js.api import Placement, StorageType

    name = f"{PROBE_PREFIX}{uuid.uuid4().hex[:12].upper()}"
    subject = f"_verify.{name.lower()}"
    try:
        info = await js.add_stream(name=name, subjects=[subject], num_replicas=replicas, storage=StorageType.FILE,
                                   placement=Placement(tags=[tag]) if tag else None)
    except js_errors.APIError as error:
        return _Outcome(error=str(error.description))
    except (TimeoutError, js_errors.Error) as error:
        await _delete(js, name)  # it may still appear once the request is processed
        return _Outcome(error=f"not created in time ({error!r})")
    try:
        payload = uuid.uuid4().bytes
        ack = await js.publish(subject, payload)
        message = await js.get_msg(name, ack.seq)
        if replicas > 1:
            info = await _settled(js, name)
        return _Outcome(info=info, same_bytes=message.data == payload)
    except (TimeoutError, js_errors.Error) as error:
        return _Outcome(error=f"publish/read failed ({error!r})")
    finally:
        await _delete(js, name)


async def _probe(js: JetStreamContext, target: NatsTarget, server: str | None,
                 settle_seconds: float = 15.0) -> list[Finding]:
    """A stream with the configured replica count. When the cluster cannot hold one, a
    single-replica stream on the server we talk to tells degraded (still serving) from down."""
    wanted = target.replicas or 1
    findings: list[Finding] = []
    if wanted > 1:
        outcome = await _write(js, wanted, None)
        if outcome.error is None:
            findings.append(_cluster_finding(outcome.info.cluster, wanted))
            findings.append(_written(wanted, outcome.same_bytes))
            return findings
        findings.append(Finding("cluster", Status.DEGRADED, f"a stream with {wanted} replicas failed: "
                                f"{outcome.error}", f"fewer than {wanted} servers answer: check the server pods "
                                "and their cluster routes (port 6222)"))
    elif target.replicas == 1:
        findings.append(Finding("cluster", Status.OK, "single server, as configured"))
    # Pinned to this server by its tag (server_tags holds the pod name), so a dead server the
    # cluster has not yet noticed cannot be chosen; retried while a new meta leader is elected.
    deadline = asyncio.get_running_loop().time() + settle_seconds
    while True:
        outcome = await _write(js, 1, server)
        if outcome.error is not None and server is not None and "no suitable peers" in outcome.error:
            server = None  # a server without our tags: place anywhere
            continue
        if outcome.error is None:
            findings.append(_written(1, outcome.same_bytes))
            return findings
        if asyncio.get_running_loop().time() > deadline:
            findings.append(Finding("write probe", Status.FAILED, f"a 1-replica stream failed: {outcome.error}",
                                    JETSTREAM))
            return findings
        await asyncio.sleep(1.0)


def _written(replicas: int, same: bool) -> Finding:
    return Finding("write probe", Status.OK if same else Status.FAILED,
                   f"created a {replicas}-replica stream, published, read back "
                   f"{'the same bytes' if same else 'different bytes'}, deleted it")


async def _settled(js: JetStreamContext, name: str, seconds: float = 2.0) -> Any:
    """The stream's info once every replica has the probe message, or as it is after `seconds`.
    A replica on a dead server never gets it: a server killed without a goodbye still counts as
    online for placement until the cluster times it out, so lag is what gives it away."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        info = await js.stream_info(name)
        replicas = info.cluster.replicas if info.cluster is not None else None
        if all(p.current for p in replicas or []) or asyncio.get_running_loop().time() > deadline:
            return info
        await asyncio.sleep(0.2)


def _cluster_finding(cluster: Any, wanted: int) -> Finding:
    replicas = list(getattr(cluster, "replicas", None) or [])
    peers = [getattr(cluster, "leader", None) or "?"] + [p.name for p in replicas]
    lagging = [p.name for p in replicas if p.offline or not p.current]
    if lagging:
        return Finding("cluster", Status.DEGRADED, f"{len(peers)} servers hold the probe stream; not keeping up "
                       "with it: " + ", ".join(lagging), "a server is down, restarting or cut off from its peers "
                       "(check the server pods and the cluster routes on port 6222)")
    return Finding("cluster", Status.OK, f"{len(peers)} servers, as configured ({wanted}): "
                   + ", ".join(sorted(peers)))


async def _delete(js: JetStreamContext, name: str) -> None:
    from nats.js import errors as js_errors

    try:
        await js.delete_stream(name)
    except (TimeoutError, js_errors.Error):
        return


async def _streams(js: JetStreamContext) -> list[Finding]:
    """Existing streams with a replica that is offline or behind (the others still serve its data).
    Probe streams that an interrupted run left behind are deleted."""
    from nats.js import errors as js_errors

    try:
        streams = await js.streams_info()
    except (TimeoutError, js_errors.Error):
        return []
    stale = datetime.now(UTC) - timedelta(minutes=5)  # never one a concurrent run is still using
    for leftover in streams:
        name = leftover.config.name or ""
        if name.startswith(PROBE_PREFIX) and leftover.created is not None and leftover.created < stale:
            await _delete(js, name)
    streams = [s for s in streams if not (s.config.name or "").startswith(PROBE_PREFIX)]
    hurt = [s.config.name for s in streams
            if s.cluster is not None and any(p.offline or not p.current for p in (s.cluster.replicas or []))]
    if not hurt:
        return [Finding("streams", Status.OK, f"{len(streams)} streams, every replica current")]
    return [Finding("streams", Status.DEGRADED, f"{len(hurt)} of {len(streams)} streams have a replica that is "
                    "offline or behind: " + ", ".join(sorted(str(n) for n in hurt)[:10]),
                    "a server of the cluster is down or overloaded; the other replicas still serve the data")]
