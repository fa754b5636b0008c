"""Small value types several components share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Resources:
    """Container requests and limits. Memory is requested as limited (no overcommit of memory,
    the resource that gets pods OOM-killed); CPU may burst from `cpu` up to `cpu_limit`."""

    cpu: str
    memory: str
    cpu_limit: str | None = None

    def to_k8s(self) -> dict[str, dict[str, str]]:
        limits = {"memory": self.memory}
        if self.cpu_limit is not None:
            limits["cpu"] = self.cpu_limit
        return {"requests": {"cpu": self.cpu, "memory": self.memory}, "limits": limits}


@dataclass(frozen=True)
class Storage:
    """A persistent volume request: storage class and size."""

    storage_class: str
    size: str
