"""Run a Pulumi program in-process under mocks and capture every resource it registers.

This is how the offline plan and the tests see the program: no engine, no cloud, no cluster.
`CaptureMonitor` reads each raw `RegisterResource` request before the SDK deserializes it, so it
sees the parent, the dependencies (explicit `depends_on` and those implied by passing outputs),
the provider, the resource options, and which values are secret. Secret values are recorded as
``"[secret]"``; nothing secret reaches a `Registered` record in plain text.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, settings
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func

SECRET = "[secret]"
UNKNOWN = "[unknown]"

_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Registered:
    """One resource as the program registered it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    dependencies: tuple[str, ...]
    provider: str | None
    inputs: Mapping[str, Any]
    options: Mapping[str, Any]

    @property
    def is_component(self) -> bool:
        return not self.custom and self.type != STACK_TYPE


@dataclass
class Registry:
    """Everything one program run registered, in registration order."""

    resources: list[Registered] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    _index: dict[str, Registered] = field(default_factory=dict, repr=False, compare=False)

    def by_urn(self) -> dict[str, Registered]:
        """urn -> resource (resources are only ever appended: the index is rebuilt when it grew)."""
        if len(self._index) != len(self.resources):
            self._index = {r.urn: r for r in self.resources}
        return self._index

    def of_type(self, type_: str) -> list[Registered]:
        return [r for r in self.resources if r.type == type_]

    def ancestors(self, urn: str) -> list[str]:
        """Parent, grandparent, ... of `urn`, up to and including the stack."""
        index, out = self.by_urn(), []
        parent = index[urn].parent if urn in index else None
        while parent is not None:
            out.append(parent)
            parent = index[parent].parent if parent in index else None
        return out


def plain(value: Any) -> Any:  # noqa: PLR0911 (one return per kind of value)
    """A protobuf-decoded property value with Pulumi's special objects made readable: secrets
    become ``[secret]``, unknowns ``[unknown]``, resource references their URN."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn")
        if sig == _OUTPUT_SIG:
            return SECRET if value.get("secret") else plain(value.get("value", UNKNOWN))
        if sig in (_ASSET_SIG, _ARCHIVE_SIG):
            return {k: plain(v) for k, v in value.items() if k != _SIG_KEY}
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf Structs carry every number as a double
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


def _options(request: Any) -> dict[str, Any]:
    """The resource options that matter to a reviewer of the plan (data safety, replacement)."""
    out: dict[str, Any] = {}
    if request.protect:
        out["protect"] = True
    if getattr(request, "retainOnDelete", False):
        out["retainOnDelete"] = True
    if request.deleteBeforeReplace:
        out["deleteBeforeReplace"] = True
    if list(request.ignoreChanges):
        out["ignoreChanges"] = sorted(request.ignoreChanges)
    if list(request.replaceOnChanges):
        out["replaceOnChanges"] = sorted(request.replaceOnChanges)
    aliases = [alias.spec.type for alias in request.aliases if alias.HasField("spec") and alias.spec.type]
    aliases += [urn.split("::")[2].rsplit("$", 1)[-1] for urn in request.aliasURNs]
    if aliases:
        out["aliasTypes"] = sorted(set(aliases))
    timeouts = request.customTimeouts
    if timeouts.create or timeouts.update or timeouts.delete:
        out["customTimeouts"] = {k: v for k, v in (("create", timeouts.create), ("update", timeouts.update),
                                                   ("delete", timeouts.delete)) if v}
    return out


_NAME = object()  # stands for the resource's name, as the provider's auto-naming would give it
# Outputs the aws provider computes that the program reads, per type token.
_AWS_COMPUTED: dict[str, dict[str, object]] = {
    "aws:iam/role:Role": {"name": _NAME},
    "aws:ec2/securityGroup:SecurityGroup": {"name": _NAME},
    "aws:ec2/placementGroup:PlacementGroup": {"name": _NAME},
    "aws:ec2/launchTemplate:LaunchTemplate": {"name": _NAME, "latestVersion": 1},
    "aws:eks/nodeGroup:NodeGroup": {"nodeGroupName": _NAME, "status": "ACTIVE"},
    # FSx names a file system's DNS name after its id; the mount name is generated (8 characters).
    "aws:fsx/lustreFileSystem:LustreFileSystem": {"dnsName": _NAME, "mountName": "mockmnt1"},
    "aws:fsx/dataRepositoryAssociation:DataRepositoryAssociation": {"associationId": _NAME},
    "aws:efs/fileSystem:FileSystem": {"dnsName": _NAME},
}


def _fake_password(name: str, length: int) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:length]


class PlanMocks(pulumi.runtime.Mocks):
    """Provider stand-ins: each resource's state is its inputs plus the outputs its provider would
    compute, so outputs read downstream look as they would after `pulumi up`."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        typ, name = args.typ, args.name
        if typ == "random:index/randomPassword:RandomPassword":
            state["result"] = _fake_password(name, int(args.inputs.get("length", 32)))
        elif typ == "tls:index/privateKey:PrivateKey":  # placeholders: no key is made offline
            state["privateKeyPem"] = f"offline-plan-private-key-{name}"
            state["publicKeyPem"] = f"offline-plan-public-key-{name}"
        elif typ == "tls:index/certRequest:CertRequest":
            state["certRequestPem"] = f"offline-plan-certificate-request-{name}"
        elif typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            state["certPem"] = f"offline-plan-certificate-{name}"
        elif typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"name": args.inputs.get("name", name), "status": "deployed",
                               "namespace": args.inputs.get("namespace", "default"),
                               "version": args.inputs.get("version", ""), "revision": 1}
        elif typ.startswith("aws:"):
            state.setdefault("arn", f"arn:aws:mock::000000000000:{typ.split(':')[-1].lower()}/{name}")
            for key, value in _AWS_COMPUTED.get(typ, {}).items():
                state.setdefault(key, name if value is _NAME else value)
        return f"{name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        del args  # the program makes no provider calls (invokes) that need answers offline
        return {}, None


class CaptureMonitor(mocks.MockMonitor):
    """A mock monitor that keeps what each registration asked for."""

    def __init__(self, mock: pulumi.runtime.Mocks) -> None:
        super().__init__(mock)
        self.registry = Registry()
        self.thread_loops: set[asyncio.AbstractEventLoop] = set()
        self._stack_urn: str | None = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the parent's qualified type chain, without the stack."""
        if parent and parent != self._stack_urn:
            type_ = parent.split("::")[2] + "$" + type_
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        # The mock monitor runs on executor threads and gives each one an event loop of its own;
        # keep them so `run_program` can close them (an unclosed loop complains when collected).
        if request.type != STACK_TYPE:  # the stack's registration makes no loop
            self.thread_loops.add(asyncio.get_event_loop())
        deps = set(request.dependencies)
        for prop in request.propertyDependencies.values():
            deps.update(prop.urns)
        # A provider reference is "<urn>::<id>".
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        inputs = plain(json_format.MessageToDict(request.object)) if request.type != STACK_TYPE else {}
        if request.type == STACK_TYPE:
            self._stack_urn = response.urn
        self.registry.resources.append(Registered(
            urn=response.urn, type=request.type, name=request.name, parent=request.parent or None,
            custom=bool(request.custom), dependencies=tuple(sorted(deps)), provider=provider,
            inputs=inputs, options=_options(request)))
        return response


async def _resolve(exported: Mapping[str, Any]) -> dict[str, Any]:
    """Stack exports as plain values; a secret (or anything holding one) becomes ``[secret]``."""
    out: dict[str, Any] = {}
    for key, value in exported.items():
        output = pulumi.Output.from_input(value)
        out[key] = SECRET if await output.is_secret() else await output.future()
    return out


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """The SDK walks the Python stack at every registration to send the engine the source position of
    the code that made the resource (`pulumi.runtime.resource._get_stack_trace`, pinned SDK). The mock
    monitor records none of it, so under the mocks the walk is skipped: about a tenth of a plan's run.
    A SDK without that function (another release) is left as it is."""
    original = getattr(resource_runtime, "_get_stack_trace", None)
    if original is None:
        yield
        return
    resource_runtime._get_stack_trace = source_pb2.StackTrace  # an empty trace
    try:
        yield
    finally:
        resource_runtime._get_stack_trace = original


def run_program(program: Callable[[], object], *, project: str, stack: str,
                config: Mapping[str, str] | None = None, secret_keys: Iterable[str] = ()) -> Registry:
    """Run `program` under fresh mocks on a fresh event loop; return what it registered."""
    with _no_source_positions():
        return _run_program(program, project=project, stack=stack, config=config, secret_keys=secret_keys)


def _run_program(program: Callable[[], object], *, project: str, stack: str, config: Mapping[str, str] | None,
                 secret_keys: Iterable[str]) -> Registry:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor: CaptureMonitor | None = None
    try:
        settings.reset_options(project=project, stack=stack, preview=False)
        runtime_config.set_all_config(dict(config or {}), list(secret_keys))
        settings.SETTINGS.outputs.clear()
        monitor = CaptureMonitor(PlanMocks())
        pulumi.runtime.set_mocks(monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor)
        def body() -> None:
            program()

        loop.run_until_complete(run_pulumi_func(body))
        root = settings.get_root_resource()
        exported = getattr(root, "outputs", {})
        monitor.registry.stack_outputs = loop.run_until_complete(_resolve(exported))
        return monitor.registry
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        for other in monitor.thread_loops if monitor is not None else ():
            if other is not loop and not other.is_closed():
                other.close()
        loop.close()
        asyncio.set_event_loop(None)
