"""Pure parsers of what the data-path preflight's pods print, each following the tool's documented
output format:

- nixlbench's results table: ``xferBenchUtils::printStatsHeader`` / ``printStats`` in ai-dynamo/nixl
  ``benchmark/nixlbench/src/utils/utils.cpp`` (v1.3.x): a header of left-aligned column names
  (``Block Size (B)``, ``Batch Size``, ``B/W (GB/Sec)``, ``Avg Lat. (us)``, ...) padded to fixed
  widths, a separator of 160 dashes, then one row per block size of whitespace-separated numbers.
  Columns are found by their names, so the older layout (``Avg Lat. (us)  B/W (MiB/Sec)  B/W
  (GiB/Sec)  B/W (GB/Sec)``) reads too; lines that are not rows of the table (UCX or libfabric log
  lines interleaved with it) are skipped.
- ``nvidia-smi --query-gpu=... --format=csv,noheader``: one line per GPU, fields separated by a comma
  and a space, units after the value (nvidia-smi(1), "--format"); the CUDA version from the banner
  of plain ``nvidia-smi`` (``CUDA Version: 13.0``, as ai-dynamo/dynamo ``deploy/sanity_check.py``
  reads it).
- ``df -Pk``: the POSIX portable format, a header then one line per file system: name, total,
  used and available 1024-byte blocks, capacity, mount point (POSIX.1, df, ``-P``).
- ``fi_info -p efa -t FI_EP_RDM``: one block per EFA endpoint, ``provider:`` followed by indented
  ``fabric:``, ``domain:``, ``version:``, ``type:``, ``protocol:`` lines (AWS, "Get started with
  EFA and MPI", step "Confirm that the EFA software components were successfully installed"); no
  EFA prints ``No providers found`` or an ``fi_getinfo`` error.
- ``/proc/meminfo``: ``HugePages_Total``, ``HugePages_Free``, ... as counts of default-size pages
  and ``Hugepagesize`` in kB (Linux, Documentation/admin-guide/mm/hugetlbpage.rst).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from stacks.preflight.dataplane.script import END, exit_marker, section_marker
from stacks.preflight.dataplane.thresholds import BandwidthRow

# -- nixlbench ------------------------------------------------------------------------------------
BLOCK_COLUMN, BATCH_COLUMN, BANDWIDTH_COLUMN, LATENCY_COLUMN = ("Block Size (B)", "Batch Size", "B/W (GB/Sec)",
                                                                "Avg Lat. (us)")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _header_columns(line: str) -> list[str] | None:
    if BLOCK_COLUMN not in line or BANDWIDTH_COLUMN not in line:
        return None
    columns = re.split(r"\s{2,}", line.strip())
    return columns if BATCH_COLUMN in columns and BLOCK_COLUMN in columns and BANDWIDTH_COLUMN in columns else None


def parse_nixlbench(text: str) -> tuple[BandwidthRow, ...] | None:
    """The rows of the last results table in a nixlbench log; None when it printed no table."""
    lines = text.splitlines()
    start, columns = None, None
    for index, line in enumerate(lines):
        found = _header_columns(line)
        if found is not None:
            start, columns = index, found
    if start is None or columns is None:
        return None
    block, batch, bandwidth = (columns.index(c) for c in (BLOCK_COLUMN, BATCH_COLUMN, BANDWIDTH_COLUMN))
    latency = columns.index(LATENCY_COLUMN) if LATENCY_COLUMN in columns else None
    rows = []
    for line in lines[start + 1:]:
        tokens = line.split()
        if len(tokens) != len(columns) or not all(_NUMBER.match(t) for t in tokens):
            continue
        if not (tokens[block].isdigit() and tokens[batch].isdigit()):
            continue
        rows.append(BandwidthRow(block_bytes=int(tokens[block]), batch_size=int(tokens[batch]),
                                 gbs=float(tokens[bandwidth]),
                                 avg_latency_us=float(tokens[latency]) if latency is not None else None))
    return tuple(rows)


# -- the sanity script's sections -----------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    text: str
    exit_code: int | None  # None when the script stopped inside the section


@dataclass(frozen=True)
class SanityOutput:
    sections: Mapping[str, Section]
    finished: bool  # the end marker was printed

    def get(self, name: str) -> Section | None:
        return self.sections.get(name)


def parse_sanity(log: str) -> SanityOutput:
    """The sections the sanity script printed (`stacks.preflight.dataplane.script`)."""
    sections: dict[str, Section] = {}
    current: str | None = None
    body: list[str] = []
    finished = False
    starts = section_marker("")
    exits = exit_marker()

    def close(code: int | None) -> None:
        if current is not None:
            sections[current] = Section("\n".join(body).strip("\n"), code)

    for line in log.splitlines():
        stripped = line.strip()
        if stripped.startswith(starts):
            close(None)
            current, body = stripped[len(starts):].strip(), []
        elif stripped.startswith(exits) and current is not None:
            code = stripped[len(exits):].strip()
            close(int(code) if code.isdigit() else None)
            current, body = None, []
        elif stripped == END:
            close(None)
            current, finished = None, True
        elif current is not None:
            body.append(line)
    close(None)
    return SanityOutput(sections, finished)


# -- nvidia-smi -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GpuRow:
    index: str
    name: str
    driver: str
    memory: str  # "81559 MiB"


def parse_gpus(text: str) -> list[GpuRow]:
    """Rows of ``--query-gpu=index,name,driver_version,memory.total --format=csv,noheader``; lines that
    are not such rows (an NVML error) are left out."""
    rows = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(", ")]
        if len(fields) == 4 and fields[0].isdigit():
            rows.append(GpuRow(*fields))
    return rows


def cuda_version(text: str) -> str | None:
    match = re.search(r"CUDA Version:\s*([0-9.]+)", text)
    return match.group(1) if match else None


# -- df -------------------------------------------------------------------------------------------
def parse_df_total(text: str, mount: str = "/dev/shm") -> int | None:
    """Total bytes of the file system mounted at `mount`, from ``df -Pk``."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[-1] == mount and fields[1].isdigit():
            return int(fields[1]) * 1024
    return None


# -- fi_info --------------------------------------------------------------------------------------
def efa_rdm_domains(text: str) -> list[str]:
    """The distinct EFA RDM domains (one per EFA device) ``fi_info -p efa -t FI_EP_RDM`` lists. Newer
    libfabric lists each device under more than one fabric (``efa`` and ``efa-direct``): a domain is
    counted once."""
    domains: dict[str, None] = {}
    block: dict[str, str] = {}

    def close() -> None:
        if block.get("provider") == "efa" and block.get("type", "FI_EP_RDM") == "FI_EP_RDM" and "domain" in block:
            domains.setdefault(block["domain"])

    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "provider":
            close()
            block = {}
        block[key] = value
    close()
    return list(domains)


# -- /proc/meminfo --------------------------------------------------------------------------------
@dataclass(frozen=True)
class HugePages:
    total: int  # pages of the default size
    free: int
    size_kb: int

    @property
    def total_bytes(self) -> int:
        return self.total * self.size_kb * 1024


def parse_huge_pages(text: str) -> HugePages | None:
    values: dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^\s*(HugePages_Total|HugePages_Free|Hugepagesize):\s*(\d+)", line)
        if match:
            values[match.group(1)] = int(match.group(2))
    if "HugePages_Total" not in values or "Hugepagesize" not in values:
        return None
    return HugePages(values["HugePages_Total"], values.get("HugePages_Free", 0), values["Hugepagesize"])


# -- the library path ------------------------------------------------------------------------------
def library_path(text: str) -> tuple[str, ...]:
    """The entries of ``$LD_LIBRARY_PATH`` as echoed (empty entries dropped)."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return tuple(entry for entry in line.split(":") if entry)
