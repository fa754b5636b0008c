"""How much bandwidth the two-node benchmark must reach, per pool (docs/decisions.md, "The data-path
preflight's bandwidth threshold").

The rule: half the line rate of the EFA interfaces one pod with one GPU gets. A pod with one GPU is
given its share of the node's interfaces (`components.dynamo.dgd.efa_per_pod`), and each interface
sits on its own network card, whose bandwidth the catalog holds (`PoolShape.efa_card_gbps`, from
EC2's DescribeInstanceTypes). So on p5.48xlarge (32 interfaces of 100 Gbps for 8 GPUs) a pod gets 4
interfaces, a line rate of 400 Gbps = 50 GB/s, and must reach 25 GB/s. nixlbench prints GB/s of
10^9 bytes, the unit used here.

Why half: a public nixlbench run over LIBFABRIC, GPU memory to GPU memory between two 8-GPU AWS
nodes, reached 349.6 GB/s at 64 MiB blocks and 289.5 GB/s at 16 MiB, about 87% and 72% of 400 GB/s
if its nodes had 3.2 Tbps (the write-up does not name the instance type); NIXL's own benchmark
counts 50 GB/s (400 Gbps) a pair as full use (``MAXBW``); and the failure this check exists for, a
transfer that is not GPU-direct over EFA, moves 1-5 GB/s (Dynamo's EFA guide), an order of
magnitude below. Half the line rate leaves room for a healthy but imperfect run, none for that.

The measure is the best bandwidth among the rows of 16 MiB blocks or larger: smaller blocks are
bound by per-transfer latency, not by the links. ``--min-gbps`` replaces the rule for every pool
checked; a pool whose line rate is unknown (an existing pool without ``instanceType``) is otherwise
measured and reported without a threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PASS_FRACTION = 0.5
MIN_BLOCK_BYTES = 16 << 20
# Dynamo's EFA guide, "Common Failure Modes": a transfer staged through host memory (no GPU-direct)
# moves 1-5 GB/s, a TCP fallback MB/s to ~3 GB/s. At or under this, the data path is not EFA RDMA.
FALLBACK_GBS = 5.0


@dataclass(frozen=True)
class Threshold:
    """The least bandwidth a pool's benchmark must reach (None: measured, not judged), and why."""

    min_gbs: float | None
    rule: str
    line_rate_gbs: float | None = None


def line_rate_gbs(interfaces: int, card_gbps: float) -> float:
    """GB/s (10^9 bytes) of `interfaces` EFA interfaces of `card_gbps` Gbps each."""
    return interfaces * card_gbps / 8


def threshold(interfaces: int, card_gbps: float | None, min_gbps: float | None = None) -> Threshold:
    """The threshold of a pool whose benchmark pods get `interfaces` EFA interfaces of `card_gbps`
    Gbps each (None: unknown); `min_gbps` (``--min-gbps``) replaces the rule."""
    line = line_rate_gbs(interfaces, card_gbps) if card_gbps else None
    if min_gbps is not None:
        return Threshold(min_gbps, "--min-gbps", line)
    if line is None:
        return Threshold(None, "no threshold: the line rate of the pool's EFA interfaces is unknown (set the "
                               "pool's instanceType, or pass --min-gbps)")
    card = f"{card_gbps:g}"
    return Threshold(line * PASS_FRACTION, f"{PASS_FRACTION:.0%} of the line rate of {interfaces} EFA interface"
                                           f"{'s' if interfaces > 1 else ''} x {card} Gbps = {line:g} GB/s", line)


@dataclass(frozen=True)
class BandwidthRow:
    """One row of nixlbench's results table."""

    block_bytes: int
    batch_size: int
    gbs: float  # B/W (GB/Sec)
    avg_latency_us: float | None = None


def best_large_block(rows: Sequence[BandwidthRow]) -> BandwidthRow | None:
    """The fastest row of `MIN_BLOCK_BYTES` blocks or larger (the first of equals), or None."""
    large = [r for r in rows if r.block_bytes >= MIN_BLOCK_BYTES]
    return max(large, key=lambda r: r.gbs) if large else None


def size_text(block_bytes: int) -> str:
    """``64 MiB``, ``4 KiB``, ``1000 B``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if block_bytes >= 1 << shift and block_bytes % (1 << shift) == 0:
            return f"{block_bytes >> shift} {unit}"
    return f"{block_bytes} B"
