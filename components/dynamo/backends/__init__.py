"""The engines a graph runs, one module each (`base.Backend` says what a profile holds), and the
table that names them. Adding a backend is a module here and a line in `BACKENDS`
(docs/contributing.md)."""

from __future__ import annotations

from components.dynamo.backends.base import Backend
from components.dynamo.backends.mocker import MOCKER
from components.dynamo.backends.sglang import SGLANG
from components.dynamo.backends.trtllm import TRTLLM
from components.dynamo.backends.vllm import VLLM

# By config word, in the order the docs, dashboards and plans list them.
BACKENDS: dict[str, Backend] = {b.name: b for b in (VLLM, SGLANG, TRTLLM, MOCKER)}


def names() -> tuple[str, ...]:
    return tuple(BACKENDS)


def backend(name: str) -> Backend:
    """The backend a config word names (KeyError when there is none: config reading checks first)."""
    return BACKENDS[name]


def gpu_frameworks() -> frozenset[str]:
    """The `spec.backendFramework` values of DynamoGraphDeployments whose workers need GPUs."""
    return frozenset(b.framework for b in BACKENDS.values() if b.gpus and b.framework is not None)
