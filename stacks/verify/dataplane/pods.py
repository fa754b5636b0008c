"""A graph's pods as `verify --dataplane` needs them, from ``kubectl get pods -o json``: pure.

The graph's pods carry the labels the DGD builder puts on them (`dgd.GRAPH_LABEL`,
`dgd.ROLE_LABEL`); the engine runs in the container the operator fills in (`dgd.MAIN_CONTAINER`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.dynamo.dgd import GRAPH_LABEL, MAIN_CONTAINER, ROLE_LABEL


def selector(graph: str) -> str:
    """The label selector of every pod of a graph."""
    return f"{GRAPH_LABEL}={graph}"


@dataclass(frozen=True)
class Pod:
    name: str
    role: str
    phase: str
    ready: bool  # the main container is ready
    terminating: bool
    restarts: int  # of the main container
    env: Mapping[str, str] = field(default_factory=dict)  # the main container's literal env values

    @property
    def running(self) -> bool:
        """Running, and not on its way out: its logs and processes are worth reading."""
        return self.phase == "Running" and not self.terminating

    def port(self, variable: str, default: int) -> int:
        """A port the main container's env sets (``DYN_SYSTEM_PORT``, ...), else `default`."""
        value = self.env.get(variable, "")
        return int(value) if value.isdigit() else default


def _main(items: Sequence[Any]) -> Mapping[str, Any]:
    for item in items or ():
        if isinstance(item, Mapping) and item.get("name") == MAIN_CONTAINER:
            return item
    return {}


def parse_pod(item: Mapping[str, Any]) -> Pod:
    meta = item.get("metadata") or {}
    spec = item.get("spec") or {}
    status = item.get("status") or {}
    container = _main(spec.get("containers") or [])
    state = _main(status.get("containerStatuses") or [])
    env = {e["name"]: str(e["value"]) for e in container.get("env") or []
           if isinstance(e, Mapping) and "name" in e and "value" in e}
    return Pod(name=str(meta.get("name", "")), role=str((meta.get("labels") or {}).get(ROLE_LABEL, "")),
               phase=str(status.get("phase", "Unknown")), ready=bool(state.get("ready", False)),
               terminating=meta.get("deletionTimestamp") is not None,
               restarts=int(state.get("restartCount", 0) or 0), env=env)


def parse_pods(items: Sequence[Mapping[str, Any]]) -> list[Pod]:
    """The pods, sorted by name (reports list them in a stable order)."""
    return sorted((parse_pod(item) for item in items), key=lambda p: p.name)
