"""Sample outputs of the tools the data-path preflight runs, in each tool's documented format. Every
number here is illustrative, made up to exercise the parsers and checks: none is a measurement.

Formats, and where they are documented:

- nixlbench's results table: ``xferBenchUtils::printStatsHeader`` and ``printStats`` in ai-dynamo/nixl
  ``benchmark/nixlbench/src/utils/utils.cpp`` (v1.3.x): column names left-aligned in fields of 20
  (block size) and 15 characters, a separator of 160 dashes, rows with B/W to 6 decimals and the
  times to 1; before it, the configuration block framed by lines of 160 ``*`` and ending with 160
  ``-``; the older layout ("Avg Lat. (us)  B/W (MiB/Sec)  B/W (GiB/Sec)  B/W (GB/Sec)") as earlier
  nixlbench releases printed it.
- ``nvidia-smi --query-gpu=... --format=csv,noheader``: nvidia-smi(1), "--format": comma-separated,
  no header line, units after values; the ``CUDA Version:`` field of plain ``nvidia-smi``'s banner as
  ai-dynamo/dynamo ``deploy/sanity_check.py`` reads it.
- ``df -Pk``: POSIX.1 ``df``, ``-P`` (portable) output with 1024-byte blocks.
- ``fi_info -p efa -t FI_EP_RDM``: AWS EC2 user guide, "Get started with EFA and MPI", the output
  that confirms the EFA software (one ``provider: efa`` block per device, its ``fabric``, ``domain``,
  ``version``, ``type``, ``protocol``); no device: libfabric's ``fi_info`` prints the
  ``fi_getinfo`` error (``fi_getinfo: -61 (No data available)``).
- ``/proc/meminfo``'s huge pages lines: Linux ``Documentation/admin-guide/mm/hugetlbpage.rst``.
"""

from __future__ import annotations

from collections.abc import Sequence

from stacks.preflight.dataplane.script import END, SECTION_NAMES, exit_marker, section_marker

STARS, DASHES = "*" * 160, "-" * 160
_COLUMNS = ("Block Size (B)", "Batch Size", "B/W (GB/Sec)", "Avg Lat. (us)", "Avg Prep (us)", "P99 Prep (us)",
            "Avg Post (us)", "P99 Post (us)", "Avg Tx (us)", "P99 Tx (us)")
HEADER = f"{_COLUMNS[0]:<20}{_COLUMNS[1]:<15}" + "".join(f"{c:<15}" for c in _COLUMNS[2:])

# (block bytes, GB/s): an illustrative sweep that climbs with the block size.
HEALTHY_SWEEP = ((4096, 0.61), (65536, 7.9), (1048576, 30.2), (16777216, 38.4), (33554432, 41.0),
                 (67108864, 42.5))


def row(block: int, gbs: float, latency_us: float = 10.0) -> str:
    cells = [f"{block:<20}", f"{1:<15}", f"{gbs:<15.6f}"] + [f"{v:<15.1f}" for v in (latency_us, 3.0, 4.0, 1.0,
                                                                                      2.0, latency_us - 1, latency_us)]
    return "".join(cells)


def nixlbench_log(sweep: Sequence[tuple[int, float]] = HEALTHY_SWEEP, *, noise: Sequence[str] = ()) -> str:
    """The initiator's log: the configuration block, the table (with `noise` lines after the separator)."""
    config = [STARS, "NIXLBench Configuration", STARS,
              f"{'Runtime (--runtime_type=[etcd])':<60}: ETCD",
              f"{'Backend (--backend=[UCX,LIBFABRIC,...])':<60}: LIBFABRIC",
              f"{'Initiator seg type (--initiator_seg_type=[DRAM,VRAM])':<60}: VRAM",
              f"{'Num iter (--num_iter=N)':<60}: 1008", DASHES, ""]
    return "\n".join([*config, HEADER, DASHES, *noise, *(row(b, g) for b, g in sweep), ""])


# What the target prints: its init line, no table (only the initiator prints one).
TARGET_LOG = "Init nixl worker, dev all rank 1, type target, hostname node-b, nc_count 0\n"

UCX_NOISE = ("[1700000000.000001] [node-a:42:0]   +--------------------------------+----------------------+",
             "[1700000000.000002] [node-a:42:0]   | ucp_context_0 intra-node cfg#2 | active message       |",
             "[1700000000.000003] [node-a:42:0]   +--------------------------------+----------------------+")

LEGACY_LOG = "\n".join([
    "Block Size (B)      Batch Size     Avg Lat. (us)  B/W (MiB/Sec)  B/W (GiB/Sec)  B/W (GB/Sec)",
    "-" * 80,
    "4096                1              20.1           190.0          0.185547       0.199229",
    "16777216            1              600.0          26666.0        26.041016      27.961426",
    "67108864            1              2200.0         29090.0        28.408203      30.503461",
])


def gpus_csv(count: int = 8, name: str = "NVIDIA H100 80GB HBM3", driver: str = "580.82.07",
             memory: str = "81559 MiB") -> str:
    return "\n".join(f"{i}, {name}, {driver}, {memory}" for i in range(count))


def nvidia_smi_banner(driver: str = "580.82.07", cuda: str = "13.0") -> str:
    return (f"| NVIDIA-SMI {driver}             Driver Version: {driver}     CUDA Version: {cuda}     |\n"
            "|-----------------------------------------+------------------------+----------------------+")


NVML_FAILURE = "Failed to initialize NVML: Driver/library version mismatch"


def df_shm(kib: int = 80 << 20) -> str:
    return ("Filesystem     1024-blocks  Used Available Capacity Mounted on\n"
            f"tmpfs          {kib:>11}     0 {kib:>9}       0% /dev/shm")


def fi_info(domains: int = 32, *, direct: bool = True) -> str:
    """`domains` EFA devices; libfabric 2.x lists each under fabric efa and efa-direct."""
    blocks = []
    for i in range(domains):
        for fabric in ("efa", "efa-direct") if direct else ("efa",):
            blocks.append(f"provider: efa\n    fabric: {fabric}\n    domain: rdmap{i}s0-rdm\n    version: 122.0\n"
                          "    type: FI_EP_RDM\n    protocol: FI_PROTO_EFA")
    return "\n".join(blocks)


FI_INFO_NONE = "fi_getinfo: -61 (No data available)"


def meminfo(total: int = 20480, size_kb: int = 2048) -> str:
    return (f"AnonHugePages:         0 kB\nHugePages_Total:   {total}\nHugePages_Free:    {total}\n"
            f"HugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:       {size_kb} kB\n"
            f"Hugetlb:        {total * size_kb} kB")


EFA_LIBRARY_PATH = "/opt/amazon/efa/lib:/usr/local/nvidia/lib64:/usr/local/cuda/lib64"


def sanity_log(overrides: dict[str, tuple[str, int]] | None = None, *, finished: bool = True,
               drop: Sequence[str] = ()) -> str:
    """The sanity script's output on a healthy p5.48xlarge node, with sections replaced (text, exit
    status) or dropped; `finished=False` cuts it before its end marker."""
    sections = {"gpus": (gpus_csv(), 0), "nvidia-smi": (nvidia_smi_banner(), 0), "shm": (df_shm(), 0),
                "fi_info": (fi_info(), 0), "hugepages": (meminfo(), 0), "library-path": (EFA_LIBRARY_PATH, 0)}
    sections.update(overrides or {})
    lines = []
    for name in SECTION_NAMES:
        if name in drop:
            continue
        text, code = sections[name]
        lines += [section_marker(name), text, f"{exit_marker()} {code}"]
    if finished:
        lines.append(END)
    return "\n".join(lines) + "\n"
