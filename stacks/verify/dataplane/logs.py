"""What a worker's log says about its data path: pure parsers of log text.

The lines, and where their format is defined:

- NIXL's Python API (ai-dynamo/nixl ``src/api/python/_api.py``) logs
  ``logger.info("Backend %s was instantiated", backend)`` when an agent creates a backend: the
  EFA guide's first check wants ``LIBFABRIC`` there, and reads ``UCX`` as the silent TCP fallback.
- vLLM's periodic engine line (``LoggingStatLogger.log`` in ``vllm/v1/metrics/loggers.py``) joins
  its parts with ``", "`` and ends with ``External prefix cache hit rate: %.1f%%`` once the KV
  connector has reported prefix-cache queries: on a decode worker, the share of prompt tokens whose
  KV arrived from prefill.
- NCCL at ``NCCL_DEBUG=INFO`` names its network: ``Using network %s`` (``src/init.cc``, the INIT
  subsystem) and ``Channel ... [send] via NET/%s/%d...`` (``src/transport/net.cc``, the NET
  subsystem); aws-ofi-nccl's network is called ``AWS Libfabric``, NCCL's TCP fallback ``Socket``.

Lines are matched anywhere in a log line, so a structured (JSONL) log that carries the message as
a field matches too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BACKEND = re.compile(r"Backend (\S+) was instantiated")
_EXTERNAL_HITS = re.compile(r"External prefix cache hit rate: (\d+(?:\.\d+)?)%")
_USING_NETWORK = re.compile(r"NCCL INFO Using network (\S[^\r\n\"]*?)\s*(?:\"|$)", re.MULTILINE)
_VIA_NET = re.compile(r"\bvia NET/([^/\r\n\"]+)/")

# NCCL's names of the networks that matter here.
AWS_LIBFABRIC = "AWS Libfabric"
SOCKET = "Socket"


def backends_instantiated(text: str) -> tuple[str, ...]:
    """Every NIXL backend the log says an agent instantiated, in order, without repeats."""
    return tuple(dict.fromkeys(m.group(1) for m in _BACKEND.finditer(text)))


def latest_external_hit_rate(text: str) -> float | None:
    """The last ``External prefix cache hit rate`` in the log, in percent, or None."""
    found = _EXTERNAL_HITS.findall(text)
    return float(found[-1]) if found else None


def nccl_networks(text: str) -> frozenset[str]:
    """The networks NCCL says it uses (``Using network X``, ``via NET/X/``)."""
    names = {m.group(1).strip() for m in _USING_NETWORK.finditer(text)}
    names |= {m.group(1).strip() for m in _VIA_NET.finditer(text)}
    return frozenset(names)


@dataclass(frozen=True)
class LogEvidence:
    """What one pod's log shows: NIXL backends, NCCL networks, the latest decode hit rate."""

    backends: tuple[str, ...] = ()
    networks: frozenset[str] = frozenset()
    external_hit_rate: float | None = None

    @staticmethod
    def parse(head: str, tail: str) -> LogEvidence:
        """From the start of the log (startup lines) and its end (the latest periodic lines); they
        overlap in a short log, which changes nothing."""
        both = f"{head}\n{tail}"
        latest = latest_external_hit_rate(tail)
        return LogEvidence(backends=backends_instantiated(both), networks=nccl_networks(both),
                           external_hit_rate=latest if latest is not None else latest_external_hit_rate(head))
