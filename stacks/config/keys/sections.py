"""Every declared key, by the docs table it belongs to (in the page's order), and what the readers
and the unknown-key check derive from them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stacks.config.keys import (
    aws,
    cluster,
    dynamo,
    endpoints,
    etcd,
    gpu_platform,
    graphs,
    model_cache,
    nats,
    node_pools,
    observability,
)
from stacks.config.schema import Key, Section, children

SECTIONS: tuple[Section, ...] = (
    Section("cluster", cluster.KEYS),
    Section("observability", observability.KEYS),
    Section("node-pools", node_pools.KEYS),
    Section("aws", aws.KEYS),
    Section("gpu-platform", gpu_platform.KEYS),
    Section("transport", dynamo.TRANSPORT_KEYS),
    Section("operator", dynamo.OPERATOR_KEYS),
    Section("model-storage", model_cache.KEYS),
    Section("graphs", graphs.KEYS),
    Section("endpoints", endpoints.ENDPOINT_KEYS),
    Section("load-balancer", endpoints.LOAD_BALANCER_KEYS),
    Section("nats", nats.KEYS),
    Section("etcd", etcd.KEYS),
)

ALL_KEYS: tuple[Key[Any], ...] = tuple(key for section in SECTIONS for key in section.keys)

# The top-level keys that hold credentials: accepted only as `pulumi config set --secret`, in the
# order their problems are reported.
SECRET_KEYS: tuple[Key[Any], ...] = (
    cluster.KUBECONFIG,
    dynamo.NGC_API_KEY,
    model_cache.HF_TOKEN,
    *observability.RECEIVER_SECRET_KEYS.values(),
)

# Documented object path -> the names it may hold (`Node.close()` refuses any other).
DECLARED: Mapping[str, frozenset[str]] = {path: frozenset(names) for path, names in children(ALL_KEYS).items()}
