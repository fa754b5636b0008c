"""What a running `python -m stacks local` serves, in a file other commands read (`verify --serve
--local`, `bench --local`): each graph's frontend URL, served model, router mode and the metrics URL
of each process. Written when every graph serves, removed when the run stops."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_FILE = "run.json"


class LocalStateError(Exception):
    """No local run is serving, or its file cannot be read: the message says which."""


@dataclass(frozen=True)
class LocalProcess:
    name: str  # the component: frontend, worker, prefill, decode
    metrics_url: str


@dataclass(frozen=True)
class LocalGraph:
    name: str
    url: str  # the frontend's base URL
    model: str  # the served model name
    router_mode: str
    processes: tuple[LocalProcess, ...]


@dataclass(frozen=True)
class LocalRun:
    stack: str
    release: str
    pid: int  # the `stacks local` process
    graphs: tuple[LocalGraph, ...]


def state_dir(project_dir: Path, stack: str) -> Path:
    return project_dir / "build" / "local" / stack


def write(directory: Path, run: LocalRun) -> Path:
    path = directory / STATE_FILE
    path.write_text(json.dumps(asdict(run), indent=1) + "\n")
    return path


def read(directory: Path) -> LocalRun:
    """The run serving from `directory`; raises LocalStateError when there is none."""
    path = directory / STATE_FILE
    if not path.is_file():
        raise LocalStateError(f"no local run of this stack is serving ({path} is missing): start one with "
                              "`python -m stacks local`")
    try:
        raw = json.loads(path.read_text())
        graphs = tuple(LocalGraph(name=g["name"], url=g["url"], model=g["model"], router_mode=g["router_mode"],
                                  processes=tuple(LocalProcess(**p) for p in g["processes"]))
                       for g in raw["graphs"])
        return LocalRun(stack=raw["stack"], release=raw["release"], pid=int(raw["pid"]), graphs=graphs)
    except (ValueError, KeyError, TypeError) as error:
        raise LocalStateError(f"{path} cannot be read ({error}): stop the local run and start it again") from None
