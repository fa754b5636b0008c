"""Runs inside a release's runtime venv: what its worker wrappers accept, without their engines.

``python probe.py flags`` prints, per backend (vllm, sglang, trtllm), every flag the wrapper's own
parser defines: the runtime group every Dynamo worker has, the backend's group and, on releases whose
wrapper parses them, the worker-side router flags. The engines' own flags (vLLM's and SGLang's server
arguments) are not among them: the wrappers hand whatever they do not know to the engine, which cannot
be imported here.

``python probe.py trtllm ARG ...`` runs TensorRT-LLM's wrapper parser itself (`dynamo.trtllm.args.
parse_args`) on a rendered command line and prints whether it accepted it: that parser owns every
flag of a TensorRT-LLM worker (engine settings travel in the engine configuration file or as
``--trtllm.<key>`` flags). The wrapper reads four defaults from TensorRT-LLM's BuildConfig; a stand-in
module gives them, since TensorRT-LLM is not installed.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import io
import json
import logging
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

GROUPS = {"vllm": "DynamoVllmArgGroup", "sglang": "DynamoSGLangArgGroup", "trtllm": "DynamoTrtllmArgGroup"}


def _tensorrt_llm_stand_in() -> None:
    class Field:
        def __init__(self, default: Any) -> None:
            self.default = default

    class BuildConfig:
        model_fields: ClassVar[dict[str, Field]] = {
            "max_batch_size": Field(2048), "max_num_tokens": Field(8192), "max_seq_len": Field(None),
            "max_beam_width": Field(1)}

    root = types.ModuleType("tensorrt_llm")
    llmapi = types.ModuleType("tensorrt_llm.llmapi")
    llm_args = types.ModuleType("tensorrt_llm.llmapi.llm_args")
    llmapi.BuildConfig = BuildConfig  # type: ignore[attr-defined]
    llm_args.BaseLlmArgs = BuildConfig  # type: ignore[attr-defined]
    root.llmapi = llmapi  # type: ignore[attr-defined]
    llmapi.llm_args = llm_args  # type: ignore[attr-defined]
    sys.modules.update({"tensorrt_llm": root, "tensorrt_llm.llmapi": llmapi, "tensorrt_llm.llmapi.llm_args": llm_args})


def _parses_router_flags(backend: str) -> bool:
    spec = importlib.util.find_spec(f"dynamo.{backend}.args")
    return spec is not None and spec.origin is not None and "parse_worker_router_config" in Path(
        spec.origin).read_text()


def wrapper_flags(backend: str) -> list[str]:
    from dynamo.common.configuration.groups.runtime_args import DynamoRuntimeArgGroup

    group = getattr(importlib.import_module(f"dynamo.{backend}.backend_args"), GROUPS[backend])
    parser = argparse.ArgumentParser(add_help=False)
    DynamoRuntimeArgGroup().add_arguments(parser)
    group().add_arguments(parser)
    if _parses_router_flags(backend):
        from dynamo.common.configuration.groups.router_args import add_worker_router_arguments

        add_worker_router_arguments(parser)
    return sorted({flag for action in parser._actions for flag in action.option_strings})


def trtllm_accepts(argv: list[str]) -> dict[str, Any]:
    from dynamo.trtllm.args import parse_args

    errors = io.StringIO()
    handler = logging.StreamHandler(errors)
    logging.getLogger().addHandler(handler)
    captured = io.StringIO()
    stderr, sys.stderr = sys.stderr, captured
    try:
        parse_args(argv)
    except SystemExit as exit_:
        return {"ok": exit_.code in (0, None), "error": (errors.getvalue() + captured.getvalue()).strip()}
    except Exception as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}
    finally:
        sys.stderr = stderr
        logging.getLogger().removeHandler(handler)
    return {"ok": True, "warnings": (errors.getvalue() + captured.getvalue()).strip()}


def main(argv: list[str]) -> int:
    _tensorrt_llm_stand_in()
    if argv[:1] == ["flags"]:
        print(json.dumps({backend: wrapper_flags(backend) for backend in GROUPS}))
        return 0
    if argv[:1] == ["trtllm"]:
        print(json.dumps(trtllm_accepts(argv[1:])))
        return 0
    print("usage: probe.py flags | probe.py trtllm ARG ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
