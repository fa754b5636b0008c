"""The transport plan: how Dynamo's components find each other (discovery), carry requests (the
request plane) and events (the event plane: KV events, load metrics), and so which servers a stack
needs. One plan per stack; everything that follows from it is derived here.

Facts (the Dynamo 1.4 design docs on the discovery, request and event planes, and the platform
chart's values): discovery defaults to Kubernetes (DynamoWorkerMetadata objects and
EndpointSlices; etcd is the legacy backend), the request plane to TCP and the event plane to ZMQ,
so neither NATS nor etcd is needed by default. A component opens a NATS connection when a plane
uses NATS or `NATS_SERVER` is set, and fails to start when NATS does not answer, so NATS is wired
(the operator's `natsAddr`, which becomes `NATS_SERVER` in every pod) only when a plane uses it.
The engines hand their KV events to the Dynamo worker over a local ZMQ socket whatever the plane;
the plane carries them on to the router.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Discovery = Literal["kubernetes", "etcd"]
EventPlane = Literal["zmq", "nats", "none"]
RequestPlane = Literal["tcp", "nats"]

DISCOVERIES: tuple[Discovery, ...] = get_args(Discovery)
EVENT_PLANES: tuple[EventPlane, ...] = get_args(EventPlane)
REQUEST_PLANES: tuple[RequestPlane, ...] = get_args(RequestPlane)

# The DynamoGraphDeployment annotation that selects the discovery backend of one graph.
DISCOVERY_ANNOTATION = "nvidia.com/dynamo-discovery-backend"


@dataclass(frozen=True)
class TransportPlan:
    discovery: Discovery = "kubernetes"
    event_plane: EventPlane = "zmq"
    request_plane: RequestPlane = "tcp"

    @property
    def uses_nats(self) -> bool:
        return self.event_plane == "nats" or self.request_plane == "nats"

    @property
    def uses_etcd(self) -> bool:
        return self.discovery == "etcd"

    @property
    def kv_events(self) -> bool:
        """Whether workers publish KV events and the router listens for them ("none": it does not,
        and routes on its own prediction of what each worker caches)."""
        return self.event_plane != "none"

    def runtime_env(self) -> dict[str, str]:
        """The planes every Dynamo pod is told (DYN_EVENT_PLANE, DYN_REQUEST_PLANE). With KV events
        off the event plane still carries load metrics, over ZMQ."""
        return {"DYN_EVENT_PLANE": "nats" if self.event_plane == "nats" else "zmq",
                "DYN_REQUEST_PLANE": self.request_plane}

    def describe(self) -> str:
        return (f"discovery {self.discovery}, event plane {self.event_plane}, request plane "
                f"{self.request_plane}")

    def nats_reason(self) -> str:
        """Why NATS is needed, or why not."""
        users = [name for name, plane in (("event plane", self.event_plane), ("request plane", self.request_plane))
                 if plane == "nats"]
        if users:
            return "the " + " and the ".join(users) + (" use" if len(users) > 1 else " uses") + " NATS"
        return "no plane uses NATS (events over ZMQ or off, requests over TCP)"

    def etcd_reason(self) -> str:
        if self.uses_etcd:
            return "discovery is etcd"
        return "discovery is Kubernetes (DynamoWorkerMetadata and EndpointSlices)"


# Upstream's defaults: no NATS, no etcd.
UPSTREAM_DEFAULTS = TransportPlan()
