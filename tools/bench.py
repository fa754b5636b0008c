"""`make bench`: wall time and peak memory of the offline plan, measured against the bare import of
the Pulumi SDKs in the same run.

Cases: the dev and prod plans, and generated configs with 1, 10 and 100 graph deployments (the
dev stack with its graphs replaced by N copies of its first graph, a CPU-only mocker graph). Each case runs as its own
process, as `make plan` does, several times; the median is reported. Targets (README,
"Performance"): prod plan within 3x the bare import; each added graph under 20 ms; linear, i.e.
100 graphs cost no more than 1.2 x 100 times one (measured as the per-graph cost between 10 and 100
graphs over the per-graph cost between 1 and 10, net of the fixed cost of the plan).
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def measure(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and the largest peak RSS (MiB) of `argv` over `runs` runs."""
    times, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"bench: {' '.join(argv)} failed:\n{err}")
        peaks.append(usage.ru_maxrss / 1024)
    return statistics.median(times), max(peaks)


def graph_stack(base: dict[str, Any], count: int) -> dict[str, Any] | None:
    """The dev stack file with `count` copies of its first graph, or None when it has none."""
    config = base["config"]
    graphs = config.get("dynamo-cluster:graphs")
    if not graphs:
        return None
    template = graphs[0]
    copies = []
    for i in range(count):
        graph = copy.deepcopy(template)
        graph["name"] = f"g{i:03d}"
        for group in ("worker", "prefill", "decode"):
            if group in graph:
                graph[group]["replicas"] = 1
        copies.append(graph)
    out = copy.deepcopy(base)
    out["config"]["dynamo-cluster:graphs"] = copies
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    rows: list[tuple[str, float, float]] = []
    bare, bare_mem = measure([PY, "-c", "import pulumi, pulumi_kubernetes, pulumi_aws"], args.runs)
    rows.append(("import pulumi, pulumi_kubernetes, pulumi_aws", bare, bare_mem))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for stack in ("dev", "prod"):
            wall, mem = measure([PY, "-m", "stacks", "plan", "--stack", stack, "--out", str(out / stack)],
                                args.runs)
            rows.append((f"plan {stack}", wall, mem))
        prod_wall = rows[-1][1]

        base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
        per_graph: dict[int, float] = {}
        for count in (1, 10, 100):
            generated = graph_stack(base, count)
            if generated is None:
                break
            path = out / f"Pulumi.graphs{count}.yaml"
            path.write_text(yaml.safe_dump(generated))
            wall, mem = measure([PY, "-m", "stacks", "plan", "--config", str(path), "--out",
                                 str(out / f"g{count}")], args.runs)
            rows.append((f"plan with {count} graph(s)", wall, mem))
            per_graph[count] = wall

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'wall':>9}  {'peak RSS':>9}")
    for name, wall, mem in rows:
        print(f"{name:<{width}}  {wall * 1000:7.0f}ms  {mem:7.1f}MiB")
    print()
    ratio = prod_wall / bare
    print(f"prod plan / bare import: {ratio:.2f}x (target <= 3x): {'ok' if ratio <= 3 else 'MISSED'}")
    if len(per_graph) == 3:
        added = (per_graph[100] - per_graph[1]) / 99
        print(f"time per added graph: {added * 1000:.1f}ms (target < 20ms): {'ok' if added < 0.020 else 'MISSED'}")
        # Linearity: what a graph costs among 100 (the 10 -> 100 slope) against what it costs among
        # a few (the 1 -> 10 slope); 1.0 is perfectly linear.
        small = (per_graph[10] - per_graph[1]) / 9
        large = (per_graph[100] - per_graph[10]) / 90
        linear = large / small if small > 0 else float("inf")
        print(f"linearity, cost per graph at 100 / at 10: {linear:.2f} (target <= 1.2): "
              f"{'ok' if linear <= 1.2 else 'MISSED'}")
    else:
        print("graph cases: skipped (the stack has no graph deployments to copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
