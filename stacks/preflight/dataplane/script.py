"""The commands the sanity pass runs in a worker image, and the markers that delimit their output.

The script runs under ``/bin/sh -c`` (any POSIX shell: the worker images are Ubuntu-based). Each
section prints a marker line with its name, the command's output (stderr included) and a line with
its exit status, so a missing tool (127) or a failing one is seen for what it is; the last line marks
the end, so a script cut short is told apart from one that finished. The script itself always exits
0: the checks judge what it printed (`stacks.preflight.dataplane.parse`, `.checks`).
"""

from __future__ import annotations

MARKER = "### dynamo-preflight"
END = f"{MARKER} end"

# (section, shell command). Where a tool lives outside PATH in the -efa images, the command falls
# back to that place: the EFA installer puts fi_info in /opt/amazon/efa/bin.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("gpus", "nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader"),
    ("nvidia-smi", "nvidia-smi"),
    ("shm", "df -Pk /dev/shm"),
    ("fi_info", '"$(command -v fi_info || echo /opt/amazon/efa/bin/fi_info)" -p efa -t FI_EP_RDM'),
    ("hugepages", "grep -i huge /proc/meminfo"),
    ("library-path", 'echo "$LD_LIBRARY_PATH"'),
)
SECTION_NAMES = tuple(name for name, _ in SECTIONS)


def section_marker(name: str) -> str:
    return f"{MARKER} section {name}"


def exit_marker() -> str:
    """The start of the line that follows a section's output: ``### dynamo-preflight exit 0``."""
    return f"{MARKER} exit"


def sanity_script() -> str:
    lines = []
    for name, command in SECTIONS:
        lines.append(f"echo '{section_marker(name)}'; {command} 2>&1; echo \"{exit_marker()} $?\"")
    lines.append(f"echo '{END}'")
    return "\n".join(lines) + "\n"


# The check that a benchmark image holds nixlbench (run where the benchmark will run, which also
# pulls the image there first, so that both benchmark pods start within nixlbench's 60 s barrier).
NIXLBENCH_NOT_FOUND = "nixlbench: not found"
PULL_SCRIPT = (f'command -v nixlbench >/dev/null 2>&1 || {{ echo "{NIXLBENCH_NOT_FOUND} on PATH=$PATH"; exit 127; }}'
               '; echo "nixlbench: $(command -v nixlbench)"')
