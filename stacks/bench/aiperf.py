"""One AIPerf run per concurrency level, and what its summary says.

AIPerf (PyPI `aiperf`) runs in a venv of its own (`stacks.local.runtime`, "aiperf"): ``aiperf profile``
against the frontend's OpenAI chat endpoint, streamed, with synthetic prompts of the SLO's input
length and answers of its output length (``ignore_eos``, so every answer has that length, and the
server's token counts, since re-tokenizing generated text does not round-trip). Its summary,
``profile_export_aiperf.json``, holds one object per metric with its unit and statistics (``avg``,
``p50``, ``p95``, ...), as AIPerf 0.13 writes it.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUMMARY = "profile_export_aiperf.json"


class BenchError(Exception):
    """AIPerf could not run, or its summary cannot be read: the message says which."""


@dataclass(frozen=True)
class Workload:
    url: str
    model: str
    tokenizer: str  # a local directory, or a model id AIPerf may fetch
    input_tokens: int
    output_tokens: int
    requests_per_level: int


@dataclass(frozen=True)
class Level:
    """What AIPerf measured at one concurrency."""

    concurrency: int
    requests: int
    errors: int
    ttft_p50_ms: float
    ttft_p95_ms: float
    itl_p50_ms: float
    itl_p95_ms: float
    output_tokens_per_s: float
    requests_per_s: float


def command(aiperf: Path, workload: Workload, concurrency: int, out: Path) -> list[str]:
    return [str(aiperf), "profile", "--model", workload.model, "--url", workload.url, "--endpoint-type", "chat",
            "--streaming", "--tokenizer", workload.tokenizer, "--concurrency", str(concurrency),
            "--request-count", str(max(concurrency, workload.requests_per_level)),
            "--isl", str(workload.input_tokens), "--isl-stddev", "0", "--osl", str(workload.output_tokens),
            "--osl-stddev", "0", "--extra-inputs", "ignore_eos:true", "--use-server-token-count",
            "--random-seed", "42", "--ui", "none", "--artifact-dir", str(out)]


def _stat(summary: dict[str, Any], metric: str, stat: str) -> float:
    try:
        return float(summary[metric][stat])
    except (KeyError, TypeError, ValueError):
        raise BenchError(f"AIPerf's summary has no {metric}.{stat}") from None


def read_level(concurrency: int, summary: dict[str, Any]) -> Level:
    """A level from AIPerf's summary (`SUMMARY`)."""
    errors = summary.get("error_summary") or []
    return Level(
        concurrency=concurrency,
        requests=int(_stat(summary, "request_count", "avg")),
        errors=sum(int(e.get("count", 1)) for e in errors if isinstance(e, dict)) if isinstance(errors, list) else 0,
        ttft_p50_ms=_stat(summary, "time_to_first_token", "p50"),
        ttft_p95_ms=_stat(summary, "time_to_first_token", "p95"),
        itl_p50_ms=_stat(summary, "inter_token_latency", "p50"),
        itl_p95_ms=_stat(summary, "inter_token_latency", "p95"),
        output_tokens_per_s=_stat(summary, "output_token_throughput", "avg"),
        requests_per_s=_stat(summary, "request_throughput", "avg"))


def run_level(aiperf: Path, workload: Workload, concurrency: int, out: Path, home: Path) -> Level:
    """Run AIPerf at one concurrency into `out`; its log stays there."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}  # AIPerf's caches and logs stay with the report
    done = subprocess.run(command(aiperf, workload, concurrency, out), capture_output=True, text=True, check=False,
                          env=env)
    (out / "aiperf.log").write_text(done.stdout + done.stderr)
    summary = out / SUMMARY
    if done.returncode != 0 or not summary.is_file():
        raise BenchError(f"AIPerf at concurrency {concurrency} failed ({done.returncode}); its log: "
                         f"{out / 'aiperf.log'}\n{(done.stderr or done.stdout)[-1500:]}")
    try:
        return read_level(concurrency, json.loads(summary.read_text()))
    except ValueError as error:
        raise BenchError(f"{summary} cannot be read: {error}") from None
