"""The stack outputs: the contract between the program, which writes them, and the commands that
read a deployed stack back (`verify`, operators' scripts).

`StackOutputs` is one frozen dataclass tree. The program fills it with the values it has (text
values may still be `pulumi.Output`s: `StackOutputs[pulumi.Input[str]]`) and exports
`to_dict()`; a reader parses ``pulumi stack output --json`` with `StackOutputs.from_dict` into a
`StackOutputs[str]` and reads attributes, so a renamed field is a type error, not a `KeyError` at
run time. The wire names are the fields' names in camelCase, derived in one place (`wire_name`).
`from_dict` refuses a document that does not have exactly this shape (missing or unknown keys,
wrong types) with an `OutputsError` naming the key.

The names of the objects readers look for (the NATS release, the etcd cluster) live here too, so
the program and the readers agree on them.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from components.nats.values import auth_secret_name, verify_secret_name

# The NATS release (and component) name; its client Secret is `NATS_AUTH_SECRET` in every client namespace.
NATS_RELEASE = "nats"
NATS_AUTH_SECRET = auth_secret_name(NATS_RELEASE)
NATS_VERIFY_SECRET = verify_secret_name(NATS_RELEASE)
# The etcd cluster's name: its StatefulSet, client Service and member prefix.
ETCD_CLUSTER = "etcd"
ETCD_CLIENT_SECRET = f"{ETCD_CLUSTER}-client-tls"

# A text value: `str` when read back from a deployed stack, `pulumi.Input[str]` while the program builds it.
S = TypeVar("S")


class OutputsError(ValueError):
    """The stack outputs do not have the shape this version of the project writes."""


@dataclass(frozen=True)
class NamespaceOutputs(Generic[S]):
    platform: S
    monitoring: S
    workloads: S


@dataclass(frozen=True)
class ObservabilityOutputs(Generic[S]):
    """In-cluster URLs (``http://<service>.<namespace>.svc.<domain>:<port>``) and names."""

    prometheus_url: S
    alertmanager_url: S | None  # None: Alertmanager is off
    otlp_grpc_endpoint: S  # the OpenTelemetry collector: traces and logs
    otlp_http_endpoint: S
    grafana_service: S
    grafana_url: S
    grafana_admin_secret: S  # in the monitoring namespace: keys admin-user, admin-password
    loki_url: S


@dataclass(frozen=True)
class NodePoolOutputs(Generic[S]):
    node_selector: Mapping[str, str]
    gpus_per_node: int
    gpu_model: str
    max_nodes: int
    efa_interfaces: int
    node_group_name: S | None  # the EKS node group; None for existing nodes


@dataclass(frozen=True)
class NatsOutputs(Generic[S]):
    client_url: S
    auth_secret_name: S  # Dynamo's user, in the platform namespace and every client namespace
    namespace: S
    service: str  # the client Service (also the release name)
    replicas: int
    max_payload: int  # bytes
    verify_secret_name: S  # verify's user, in the platform namespace


@dataclass(frozen=True)
class EtcdOutputs(Generic[S]):
    client_endpoints: S  # https://
    namespace: S
    members: tuple[str, ...]  # pod names
    replicas: int
    client_secret_name: S  # the CA and a client certificate and key (PEM), in the platform and client namespaces


@dataclass(frozen=True)
class FrontendOutputs(Generic[S]):
    """A graph's frontend: its in-cluster base URL (the operator's Service), the model it serves, and
    how it is reached beyond the cluster (absent from outputs of versions before endpoints: none)."""

    url: str
    model: str
    endpoint: str | None = field(default=None, metadata={"omit_none": True})  # graphs[].endpoint.kind
    # https://<hostname>, or https://<the load balancer's DNS name> when the endpoint names no host
    external_url: S | None = field(default=None, metadata={"omit_none": True})
    load_balancer: S | None = field(default=None, metadata={"omit_none": True})  # the ALB's DNS name


@dataclass(frozen=True)
class DynamoOutputs(Generic[S]):
    version: str  # the Dynamo release
    discovery: str  # the transport plan
    event_plane: str
    request_plane: str
    operator_release: S
    operator_namespace: S
    graphs: Mapping[str, S]  # graph name -> DynamoGraphDeployment name
    graph_namespace: S
    # graph name -> its frontend (absent from the outputs of versions before it: read as none)
    frontends: Mapping[str, FrontendOutputs[S]] = field(default_factory=dict)


@dataclass(frozen=True)
class StackOutputs(Generic[S]):
    environment: str
    kubernetes_context: str | None
    namespaces: NamespaceOutputs[S]
    node_pools: Mapping[str, NodePoolOutputs[S]]
    gpu_operator_namespace: S | None
    nats: NatsOutputs[S] | None  # None: no plane of the transport plan uses NATS
    etcd: EtcdOutputs[S] | None  # None: discovery is Kubernetes
    dynamo: DynamoOutputs[S]
    # None: observability is off, and the key is left out of the exported outputs
    observability: ObservabilityOutputs[S] | None = field(default=None, metadata={"omit_none": True})

    def to_dict(self) -> dict[str, Any]:
        """The exported form: camelCase keys, lists for tuples; values that are `pulumi.Output`s stay
        as they are (`pulumi.export` resolves them)."""
        out = _to_wire(self)
        assert isinstance(out, dict)
        return out

    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> StackOutputs[str]:
        """Parse a deployed stack's outputs; raises `OutputsError` naming the first key that does not fit."""
        parsed = _parse(StackOutputs, data, "")
        assert isinstance(parsed, StackOutputs)
        return parsed


def wire_name(name: str) -> str:
    """A field's name in the exported outputs: ``auth_secret_name`` -> ``authSecretName``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _to_wire(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is None and f.metadata.get("omit_none"):
                continue
            out[wire_name(f.name)] = _to_wire(item)
        return out
    if isinstance(value, Mapping):
        return {key: _to_wire(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [_to_wire(item) for item in value]
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    kind = {str: "a string", int: "a number", float: "a number", list: "a list", dict: "an object"}
    return kind.get(type(value), type(value).__name__)


def _here(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _parse(kind: Any, value: Any, path: str) -> Any:  # noqa: PLR0911 (one return per kind of type)
    """`value` read as the type `kind` (TypeVars read as str)."""
    where = path or "the outputs"
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if value is None and len(options) < len(get_args(kind)):
            return None
        return _parse(options[0], value, path)
    if isinstance(kind, TypeVar) or kind is str:
        if not isinstance(value, str):
            raise OutputsError(f"{where}: expected a string, got {_describe(value)}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise OutputsError(f"{where}: expected an integer, got {_describe(value)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise OutputsError(f"{where}: expected a list, got {_describe(value)}")
        return tuple(_parse(get_args(kind)[0], item, f"{path}[{i}]") for i, item in enumerate(value))
    if origin is Mapping or origin is dict:
        if not isinstance(value, dict):
            raise OutputsError(f"{where}: expected an object, got {_describe(value)}")
        item_kind = get_args(kind)[1]
        return {str(key): _parse(item_kind, item, _here(path, str(key))) for key, item in value.items()}
    cls = origin or kind
    if dataclasses.is_dataclass(cls):
        return _parse_dataclass(cls, value, path)
    raise TypeError(f"{where}: no reader for {kind!r}")


def _parse_dataclass(cls: Any, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise OutputsError(f"{path or 'the outputs'}: expected an object, got {_describe(value)}")
    hints = get_type_hints(cls)
    fields = {wire_name(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise OutputsError(f"{_here(path, unknown[0])}: unknown key; expected "
                           + ", ".join(sorted(fields)))
    args: dict[str, Any] = {}
    for wire, f in fields.items():
        if wire not in value:
            if f.metadata.get("omit_none"):
                args[f.name] = None
                continue
            if f.default_factory is not dataclasses.MISSING:
                args[f.name] = f.default_factory()
                continue
            raise OutputsError(f"{_here(path, wire)}: missing")
        args[f.name] = _parse(hints[f.name], value[wire], _here(path, wire))
    return cls(**args)

