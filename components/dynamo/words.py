"""The domain words of a Dynamo graph, as types: one definition of each allowed set.

Config readers, settings and builders use these `Literal`s, so a misspelt mode or role is a type
error (``mypy --strict`` compares literals strictly), and the tuples derived from them are what
config errors list as allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

Mode = Literal["agg", "disagg"]
Role = Literal["worker", "prefill", "decode"]
RouterMode = Literal["round-robin", "random", "kv"]
GangScheduling = Literal["auto", "grove", "none"]
# NIXL telemetry on a worker group: auto (where it is safe with the NIXL the release ships), on, off.
NixlTelemetry = Literal["auto", "on", "off"]
# How an engine reads its weights: the backend's default loader, or one that streams them
# (vLLM's Run:ai Model Streamer, `--load-format runai_streamer`).
LoadFormat = Literal["auto", "runai_streamer"]

MODES: tuple[Mode, ...] = get_args(Mode)
ROLES: tuple[Role, ...] = get_args(Role)
ROUTER_MODES: tuple[RouterMode, ...] = get_args(RouterMode)
GANG_SCHEDULING: tuple[GangScheduling, ...] = get_args(GangScheduling)
NIXL_TELEMETRY_MODES: tuple[NixlTelemetry, ...] = get_args(NixlTelemetry)
LOAD_FORMATS: tuple[LoadFormat, ...] = get_args(LoadFormat)

# Worker groups per mode, in the order they appear in a DGD.
ROLES_BY_MODE: Mapping[Mode, tuple[Role, ...]] = {"agg": ("worker",), "disagg": ("prefill", "decode")}
# The roles of a disaggregated graph, which hand the KV cache from one to the other.
DISAGG_ROLES: tuple[Role, ...] = ROLES_BY_MODE["disagg"]
