"""Is NIXL's LIBFABRIC plugin executing in a worker, and with which library path: the probe run in
the worker's main container, and a pure parser of what it prints.

The EFA guide's check reads ``/proc/<pid>/maps`` of the engine process for
``libplugin_LIBFABRIC``: a mapping with ``r-xp`` permissions is the plugin's code, mapped to run;
only ``r--p`` mappings mean the library was opened but its code is not in use. The engines run
NIXL in worker processes of their own (one per tensor-parallel rank), so the probe reads the maps of
every process in the container, and the environment (``/proc/<pid>/environ``, NUL-separated) of
the first process that maps the plugin, else of PID 1, the engine the library-path wrapper execs.

The probe needs only ``sh``, ``grep``, ``sed``, ``head`` and ``cat``, which the Dynamo runtime
images (Ubuntu-based) carry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

PLUGIN = "libplugin_LIBFABRIC"
_ENVIRON = "@@environ"
_UNREADABLE = "@@unreadable"

PROBE_SCRIPT = "\n".join([
    f"maps=$(grep -HF {PLUGIN} /proc/[0-9]*/maps 2>/dev/null)",
    "[ -n \"$maps\" ] && printf '%s\\n' \"$maps\"",
    "pid=$(printf '%s\\n' \"$maps\" | sed -n 's|^/proc/\\([0-9][0-9]*\\)/maps:.*|\\1|p' | head -n 1)",
    f"echo \"{_ENVIRON} ${{pid:-1}}\"",
    f"cat \"/proc/${{pid:-1}}/environ\" 2>/dev/null || echo {_UNREADABLE}",
])
PROBE = ("sh", "-c", PROBE_SCRIPT)

_MAPS_LINE = re.compile(r"^/proc/(\d+)/maps:\S+\s+(\S+)\s.*?(\S*" + PLUGIN + r"\S*)(?:\s+\(deleted\))?\s*$")


class ProbeError(ValueError):
    """The probe's output is not what it prints."""


@dataclass(frozen=True)
class PluginMapping:
    pid: int
    perms: str  # as /proc/<pid>/maps prints them: r-xp, r--p, ...
    path: str


@dataclass(frozen=True)
class ProcProbe:
    mappings: tuple[PluginMapping, ...]
    environ_pid: int
    environ: Mapping[str, str] | None  # None: unreadable

    @property
    def executing(self) -> tuple[int, ...]:
        """The processes that map the plugin's code executable."""
        return tuple(sorted({m.pid for m in self.mappings if "x" in m.perms}))

    @property
    def mapped(self) -> tuple[int, ...]:
        return tuple(sorted({m.pid for m in self.mappings}))

    @property
    def library_path(self) -> str | None:
        return None if self.environ is None else self.environ.get("LD_LIBRARY_PATH")


def parse_environ(text: str) -> dict[str, str]:
    """A NUL-separated environment block as the kernel gives it in /proc/<pid>/environ."""
    out: dict[str, str] = {}
    for entry in text.split("\0"):
        name, sep, value = entry.partition("=")
        if sep and name:
            out[name] = value
    return out


def parse_probe(output: str) -> ProcProbe:
    """What PROBE printed: the plugin's mappings, then the environment of one engine process."""
    head, marker, environ = output.partition(_ENVIRON)
    if not marker:
        raise ProbeError("the probe printed no environment marker")
    mappings: list[PluginMapping] = []
    for line in head.splitlines():
        if not line.strip():
            continue
        match = _MAPS_LINE.match(line.strip())
        if match is None:
            raise ProbeError(f"not a maps line: {line!r}")
        mappings.append(PluginMapping(int(match.group(1)), match.group(2), match.group(3)))
    first, _, block = environ.partition("\n")
    try:
        pid = int(first.strip())
    except ValueError:
        raise ProbeError(f"not a pid after the environment marker: {first!r}") from None
    readable = block.strip() != _UNREADABLE
    return ProcProbe(tuple(mappings), pid, parse_environ(block.rstrip("\n")) if readable else None)
