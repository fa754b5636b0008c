"""`make bench`: how long the offline plan takes, against the bare import of the Pulumi SDKs, and how
its cost grows with the number of graph deployments.

Whole runs: the bare `import pulumi, pulumi_kubernetes, pulumi_aws`, `plan dev` and `plan prod`, each a
process of its own as `make plan` runs, several times; each case reports its fastest run (the one
least disturbed by whatever else the machine does) and its median. Target (README, "Performance"):
prod plan within 2.5x the bare import, fastest against fastest.

Growth: the dev stack with its graphs replaced by N copies of its first graph (a CPU-only mocker
graph), rendered in one warm process (config read, program run under mocks, plan files made), so
the per-graph cost is measured without process start-up noise. Targets: each added graph under 20 ms;
linear, i.e. a graph costs no more among 100-200 than among 1-20: (t(200) - t(100)) / 100 over
(t(20) - t(1)) / 19 at most 1.2.
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
sys.path.insert(0, str(ROOT))


# Every run as a user's machine runs it: Python caches the bytecode of the project's modules as pip
# cached the SDK's at install time (a shell that sets PYTHONDONTWRITEBYTECODE would otherwise have every
# run compile the project from source while the SDK loads compiled, and the ratio would measure that).
# One unmeasured run first writes the cache.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def measure(argv: list[str], runs: int) -> tuple[float, float, float]:
    """Fastest and median wall seconds, and the largest peak RSS (MiB), of `argv` over `runs` runs."""
    times, peaks = [], []
    subprocess.run(argv, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        if os.waitstatus_to_exitcode(status) != 0:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"bench: {' '.join(argv)} failed:\n{err}")
        peaks.append(usage.ru_maxrss / 1024)
    return min(times), statistics.median(times), max(peaks)


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


def growth(sizes: tuple[int, ...], runs: int, tmp: Path) -> dict[int, float]:
    """Median seconds to read, render and write out the plan of the dev stack with N graphs, warm."""
    from stacks.config.load import load
    from stacks.plan.command import render

    base = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    out: dict[int, float] = {}
    paths = {}
    for count in sizes:
        generated = graph_stack(base, count)
        if generated is None:
            return {}
        paths[count] = tmp / f"Pulumi.graphs{count}.yaml"
        paths[count].write_text(yaml.safe_dump(generated))
    render(*load(ROOT, "graphs1", paths[sizes[0]])).files()  # warm: imports, caches
    for count in sizes:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            render(*load(ROOT, f"graphs{count}", paths[count])).files()
            times.append(time.perf_counter() - start)
        out[count] = statistics.median(times)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    rows: list[tuple[str, float, float, float]] = []
    bare = measure([PY, "-c", "import pulumi, pulumi_kubernetes, pulumi_aws"], args.runs)
    rows.append(("import pulumi, pulumi_kubernetes, pulumi_aws", *bare))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for stack in ("dev", "prod"):
            rows.append((f"plan {stack}", *measure([PY, "-m", "stacks", "plan", "--stack", stack, "--out",
                                                    str(out / stack)], args.runs)))
        times = growth((1, 20, 100, 200), max(3, args.runs // 2), out)

    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'fastest':>9}  {'median':>9}  {'peak RSS':>9}")
    for name, fastest, median, mem in rows:
        print(f"{name:<{width}}  {fastest * 1000:7.0f}ms  {median * 1000:7.0f}ms  {mem:7.1f}MiB")
    print()
    ratio = rows[2][1] / rows[0][1]
    verdict = "ok" if ratio <= 2.5 else "MISSED"
    print(f"prod plan / bare import (fastest runs): {ratio:.2f}x (target <= 2.5x): {verdict}")
    if times:
        for count, seconds in times.items():
            print(f"plan of the dev stack with {count:3d} graph(s), warm: {seconds * 1000:7.0f}ms")
        low = (times[20] - times[1]) / 19
        high = (times[200] - times[100]) / 100
        print(f"time per added graph: {low * 1000:.1f}ms among 1-20, {high * 1000:.1f}ms among 100-200 "
              f"(target < 20ms): {'ok' if max(low, high) < 0.020 else 'MISSED'}")
        linear = high / low if low > 0 else float("inf")
        print(f"linearity, cost per graph among 100-200 / among 1-20: {linear:.2f} (target <= 1.2): "
              f"{'ok' if linear <= 1.2 else 'MISSED'}")
    else:
        print("graph cases: skipped (the stack has no graph deployments to copy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
