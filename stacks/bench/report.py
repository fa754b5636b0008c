"""The benchmark's report: the levels measured, which meet the SLO, and the highest that does; as
JSON (``bench.json``), a Markdown table (``bench.md``) and two PNG plots (``latency.png``: time to
first token and inter-token latency against concurrency; ``throughput.png``: output throughput per
GPU, or per worker for a graph without GPUs, against time to first token), with the SLO drawn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from components.dynamo.spec import Slo
from stacks.bench.aiperf import Level


@dataclass(frozen=True)
class BenchReport:
    stack: str
    graph: str
    release: str
    source: str  # what was measured: a local mocker run, or the deployed graph
    label: str  # the same, in a few words, for the plots' titles
    model: str
    slo: Slo
    gpus: int  # the graph's GPUs (0: a mocker graph)
    workers: int  # its worker replicas
    levels: tuple[Level, ...]

    def meets(self, level: Level) -> bool:
        return (level.errors == 0 and level.ttft_p95_ms <= self.slo.ttft_ms and level.itl_p95_ms <= self.slo.itl_ms)

    @property
    def best(self) -> Level | None:
        """The highest concurrency that meets the SLO."""
        return max((lv for lv in self.levels if self.meets(lv)), key=lambda lv: lv.concurrency, default=None)

    @property
    def per(self) -> tuple[str, int]:
        """What throughput is divided by: GPUs, or worker replicas for a graph without GPUs."""
        return ("GPU", self.gpus) if self.gpus else ("worker", max(1, self.workers))

    def to_json(self) -> dict[str, Any]:
        best = self.best
        unit, count = self.per
        return {"stack": self.stack, "graph": self.graph, "release": self.release, "source": self.source,
                "label": self.label, "model": self.model, "slo": asdict(self.slo), "gpus": self.gpus,
                "workers": self.workers, "throughput_per": unit,
                "levels": [asdict(lv) | {"meets_slo": self.meets(lv),
                                         f"output_tokens_per_s_per_{unit}": lv.output_tokens_per_s / count}
                           for lv in self.levels],
                "best_concurrency": best.concurrency if best else None}

    def markdown(self) -> str:
        unit, count = self.per
        best = self.best
        lines = [f"# Benchmark of graph `{self.graph}` (stack {self.stack}, Dynamo {self.release})", "",
                 f"{self.source}. Model `{self.model}`; {self.slo.input_tokens} input and {self.slo.output_tokens} "
                 f"output tokens per request. SLO: time to first token p95 <= {self.slo.ttft_ms} ms, inter-token "
                 f"latency p95 <= {self.slo.itl_ms} ms, no errors.", "",
                 f"| concurrency | requests | errors | TTFT p50 (ms) | TTFT p95 (ms) | ITL p50 (ms) | ITL p95 (ms) | "
                 f"output tok/s | tok/s per {unit} | requests/s | meets SLO |",
                 "|---|---|---|---|---|---|---|---|---|---|---|"]
        for lv in self.levels:
            lines.append(f"| {lv.concurrency} | {lv.requests} | {lv.errors} | {lv.ttft_p50_ms:.1f} | "
                         f"{lv.ttft_p95_ms:.1f} | {lv.itl_p50_ms:.2f} | {lv.itl_p95_ms:.2f} | "
                         f"{lv.output_tokens_per_s:.1f} | {lv.output_tokens_per_s / count:.1f} | "
                         f"{lv.requests_per_s:.2f} | {'yes' if self.meets(lv) else 'no'} |")
        lines += ["", f"Highest concurrency that meets the SLO: **{best.concurrency}**." if best else
                  "No measured concurrency meets the SLO."]
        return "\n".join(lines) + "\n"


def plots(report: BenchReport, out: Path) -> list[Path]:
    """Write the two plots; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels: Sequence[Level] = report.levels
    concurrency = [lv.concurrency for lv in levels]
    title = f"{report.graph} ({report.stack}, Dynamo {report.release}): {report.label}"

    figure, (ttft, itl) = plt.subplots(1, 2, figsize=(11, 4.2))
    ttft.plot(concurrency, [lv.ttft_p95_ms for lv in levels], marker="o", label="p95")
    ttft.plot(concurrency, [lv.ttft_p50_ms for lv in levels], marker=".", linestyle=":", label="p50")
    ttft.axhline(report.slo.ttft_ms, color="red", linestyle="--", label=f"SLO {report.slo.ttft_ms} ms")
    ttft.set(xlabel="concurrency", ylabel="time to first token (ms)", title="Time to first token")
    itl.plot(concurrency, [lv.itl_p95_ms for lv in levels], marker="o", label="p95")
    itl.plot(concurrency, [lv.itl_p50_ms for lv in levels], marker=".", linestyle=":", label="p50")
    itl.axhline(report.slo.itl_ms, color="red", linestyle="--", label=f"SLO {report.slo.itl_ms} ms")
    itl.set(xlabel="concurrency", ylabel="inter-token latency (ms)", title="Inter-token latency")
    for axis in (ttft, itl):
        axis.set_xscale("log", base=2)
        axis.set_xticks(concurrency, [str(c) for c in concurrency])
        axis.grid(alpha=0.3)
        axis.legend()
    latency = _save(figure, title, out / "latency.png")

    unit, count = report.per
    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    xs = [lv.ttft_p95_ms for lv in levels]
    ys = [lv.output_tokens_per_s / count for lv in levels]
    axis.plot(xs, ys, marker="o")
    for lv, x, y in zip(levels, xs, ys, strict=True):
        axis.annotate(f"c={lv.concurrency}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    axis.axvline(report.slo.ttft_ms, color="red", linestyle="--", label=f"TTFT SLO {report.slo.ttft_ms} ms")
    axis.set(xlabel="time to first token p95 (ms)", ylabel=f"output tokens/s per {unit}",
             title=f"Throughput per {unit} against latency")
    axis.grid(alpha=0.3)
    axis.legend()
    return [latency, _save(figure, title, out / "throughput.png")]


def _save(figure: Any, title: str, path: Path) -> Path:
    """Title, lay out, write and close a figure; the file written."""
    import matplotlib.pyplot as plt

    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
