"""The ``gpuPlatform`` keys: the GPU operator and the EFA device plugin."""

from __future__ import annotations

from typing import Any

from components.kit.charts import EFA_DEVICE_PLUGIN, GPU_OPERATOR
from stacks.config.keys.common import chart_version
from stacks.config.schema import Derived, Fixed, Flag, Key, Label, Text

ENABLED = Key(
    "gpuPlatform.enabled",
    Flag(),
    Derived("`true` when some node pool has GPUs, else `false`"),
    "`false`",
    "Install the GPU platform. A CPU-only stack (dev) installs nothing.",
)
NAMESPACE = Key(
    "gpuPlatform.namespace",
    Label(),
    Fixed("gpu-operator"),
    "`gpu-operator`",
    "Its namespace, labelled for privileged pods (the operands load kernel modules). Distinct from the `namespaces.*`.",
)
SCRAPE_INTERVAL = Key(
    "gpuPlatform.scrapeInterval",
    Text("duration", r"^[1-9][0-9]*(s|m)$", "a Prometheus duration in seconds or minutes, such as 15s or 1m"),
    Fixed("15s"),
    "`30s`",
    "How often Prometheus scrapes the DCGM exporter (when the stack has observability).",
)
GPU_OPERATOR_VERSION = chart_version(
    "gpuPlatform.gpuOperatorVersion", Fixed(GPU_OPERATOR.version), "`v26.10.0`", "The NVIDIA GPU operator chart."
)
EFA_PLUGIN_VERSION = chart_version(
    "gpuPlatform.efaPluginVersion",
    Fixed(EFA_DEVICE_PLUGIN.version),
    "`v0.5.31`",
    "The AWS EFA device plugin chart (installed when a pool has EFA).",
)

KEYS: tuple[Key[Any], ...] = (ENABLED, NAMESPACE, SCRAPE_INTERVAL, GPU_OPERATOR_VERSION, EFA_PLUGIN_VERSION)
