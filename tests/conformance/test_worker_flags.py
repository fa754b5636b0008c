"""The flags the plan renders for vLLM, SGLang and TensorRT-LLM workers, against that release's own
wrapper parsers (the engines cannot run here; `probe.py` says what each check can see). A group's
`extraArgs` are the user's and are left out of the vLLM and SGLang check (they are engine flags the
profile does not render); TensorRT-LLM's parser sees the whole command line.

Every committed stack and example with such workers is planned on every release with published
wheels. A TensorRT-LLM command line must pass the wrapper's real parser without a deprecation
warning. A vLLM or SGLang flag must be the wrapper's own, or one of the engine's server arguments
the backend's profile declares it renders (`Backend.engine_flags`, with their source).
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml

from components.dynamo.backends import BACKENDS
from stacks.local.rendered import Rendered, plan_dgds, rendered
from tests.conformance.runtime import RUNTIME_RELEASES, runtime_python

ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).resolve().parent / "probe.py"
STACK_FILES = [ROOT / "Pulumi.prod.yaml", *sorted((ROOT / "examples").glob("Pulumi.*.yaml"))]
ENGINE_MODULES = {f"dynamo.{name}": name for name in ("vllm", "sglang", "trtllm")}


@functools.cache
def wrapper_flags(version: str) -> dict[str, frozenset[str]]:
    done = subprocess.run([str(runtime_python(version)), str(PROBE), "flags"], capture_output=True, text=True,
                          check=True)
    return {backend: frozenset(flags) for backend, flags in json.loads(done.stdout).items()}


def trtllm_verdict(version: str, argv: Iterable[str]) -> dict[str, object]:
    done = subprocess.run([str(runtime_python(version)), str(PROBE), "trtllm", *argv], capture_output=True,
                          text=True, check=True)
    verdict: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return verdict


def flags_of(args: Iterable[str]) -> list[str]:
    return [arg.split("=", 1)[0] for arg in args if arg.startswith("--")]


def unknown_flags(r: Rendered, known: frozenset[str], extra: tuple[str, ...] = ()) -> list[str]:
    """The flags the profile rendered for the worker (its command line without the group's `extra`
    args) that neither its wrapper defines nor its profile declares."""
    backend = BACKENDS[ENGINE_MODULES[r.module]]
    args = r.args[:len(r.args) - len(extra)] if extra and r.args[-len(extra):] == extra else r.args
    return [flag for flag in flags_of(args) if flag not in known and flag not in backend.engine_flags]


@functools.cache
def extra_args(graph: str, role: str) -> tuple[str, ...]:
    """The group's `extraArgs` in whichever committed stack file declares the graph."""
    for stack_file in STACK_FILES:
        for item in yaml.safe_load(stack_file.read_text())["config"].get("dynamo-cluster:graphs") or []:
            if item.get("name") == graph:
                return tuple(str(a) for a in (item.get(role) or {}).get("extraArgs", ()))
    return ()


@functools.cache
def workers(version: str, tmp: Path) -> tuple[Rendered, ...]:
    out: list[Rendered] = []
    for stack_file in STACK_FILES:
        for dgd in plan_dgds(stack_file, tmp / stack_file.stem, version):
            out += [r for r in rendered(dgd) if r.module in ENGINE_MODULES]
    return tuple(out)


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker-flags")


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_the_stacks_render_every_engine_backend(version: str, plans: Path) -> None:
    runtime_python(version)
    assert {r.module for r in workers(version, plans)} == set(ENGINE_MODULES)


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_vllm_and_sglang_workers_render_only_flags_their_release_knows(version: str, plans: Path) -> None:
    known = wrapper_flags(version)
    found = {f"{r.graph}/{r.component}: {flag}" for r in workers(version, plans) if r.module != "dynamo.trtllm"
             for flag in unknown_flags(r, known[ENGINE_MODULES[r.module]], extra_args(r.graph, r.component))}
    assert sorted(found) == []


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_trtllm_workers_pass_their_release_parser(version: str, plans: Path) -> None:
    trtllm = [r for r in workers(version, plans) if r.module == "dynamo.trtllm"]
    assert trtllm
    for r in trtllm:
        verdict = trtllm_verdict(version, r.args)
        assert verdict["ok"], f"{r.graph}/{r.component} {list(r.args)}: {verdict}"
        assert "deprecated" not in str(verdict.get("warnings", "")), f"{r.graph}/{r.component}: {verdict}"


@pytest.mark.parametrize("version", RUNTIME_RELEASES)
def test_a_flag_the_release_does_not_know_fails_the_checks(version: str, plans: Path) -> None:
    """Broken on purpose: one made-up flag on a rendered worker of each backend."""
    known = wrapper_flags(version)
    for r in workers(version, plans):
        bad = Rendered(r.graph, r.namespace, r.component, r.kind, r.module, ("--kv-cache-shards", "4", *r.args),
                       r.env)
        if r.module == "dynamo.trtllm":
            assert trtllm_verdict(version, bad.args)["ok"] is False
        else:
            extra = extra_args(r.graph, r.component)
            assert unknown_flags(bad, known[ENGINE_MODULES[r.module]], extra) == ["--kv-cache-shards"]
