"""Key groups several sections share: a container's resources (`resources`), a volume (`storage`),
a pinned chart (`chart_version`)."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.config.schema import Default, Derived, Key, Size, Text, Unset

CPU = r"^([0-9]+(\.[0-9]+)?|[0-9]+m)$"
CPU_QUANTITY = Text("CPU quantity", CPU, "a CPU quantity such as 2, 0.5 or 500m")
CHART_VERSION = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"
STORAGE_CLASS = Text("StorageClass name")
NO_LIMIT = Unset("none")
STACK_STORAGE_CLASS = Derived("the stack's `storageClass`")


@dataclass(frozen=True)
class ResourcesKeys:
    """``<object>.resources.{cpu, memory, cpuLimit}``."""

    cpu: Key[str]
    memory: Key[str]
    cpu_limit: Key[str]

    @property
    def keys(self) -> tuple[Key[str], ...]:
        return (self.cpu, self.memory, self.cpu_limit)


def resources(
    prefix: str,
    *,
    cpu: Default,
    memory: Default,
    cpu_limit: Default = NO_LIMIT,
    examples: tuple[str, str, str],
    docs: tuple[str, str, str],
) -> ResourcesKeys:
    """The three keys of `prefix` (``nats.resources``). `cpu_limit`'s default, when not Unset, is what
    the limit is when config sets none."""
    return ResourcesKeys(
        Key(f"{prefix}.cpu", CPU_QUANTITY, cpu, examples[0], docs[0]),
        Key(f"{prefix}.memory", Size(), memory, examples[1], docs[1]),
        Key(f"{prefix}.cpuLimit", CPU_QUANTITY, cpu_limit, examples[2], docs[2]),
    )


@dataclass(frozen=True)
class StorageKeys:
    """``<object>.storage.{storageClass, size}``."""

    storage_class: Key[str]
    size: Key[str]

    @property
    def keys(self) -> tuple[Key[str], ...]:
        return (self.storage_class, self.size)


def storage(
    prefix: str,
    *,
    size: Default,
    minimum: str | None,
    examples: tuple[str, str],
    docs: tuple[str, str],
    storage_class: Default = STACK_STORAGE_CLASS,
) -> StorageKeys:
    return StorageKeys(
        Key(f"{prefix}.storageClass", STORAGE_CLASS, storage_class, examples[0], docs[0]),
        Key(f"{prefix}.size", Size(minimum), size, examples[1], docs[1]),
    )


def chart_version(path: str, default: Default, example: str, doc: str) -> Key[str]:
    """A chart pinned to one exact version (no ranges, no latest)."""
    return Key(
        path,
        Text("chart version", CHART_VERSION, "an exact chart version such as 1.2.3 (no ranges, no latest)"),
        default,
        example,
        doc,
    )
