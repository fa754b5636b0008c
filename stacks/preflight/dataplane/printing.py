"""``--print``: the objects a data-path preflight run would create, as YAML, without a cluster.

Node names are known only to a run (it reads the Ready nodes of each pool), so the printed objects
name their nodes with placeholders: each pool's sanity Job is printed once, for ``<node>``, and a
run creates one like it per Ready node (``-sanity-0``, ``-sanity-1``, ...); the image-check and
nixlbench Jobs are printed for ``<node A>`` and ``<node B>``, the two nodes a run picks among
those that passed. The run id of the printed objects is `PRINT_RUN_ID`; a run draws a random one.
A comment before each object says what it is for.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from stacks.preflight.dataplane import manifests
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.targets import Targets

PRINT_RUN_ID = "000000"
NODE = "<node>"
PAIR = ("<node A>", "<node B>")

Document = tuple[str, dict[str, Any]]


def documents(targets: Targets, run: Run) -> list[Document]:
    """(what it is for, manifest) of every object a run creates, in the order it creates them."""
    out: list[Document] = [
        ("The run's namespace. Deleting it, the run's last step, deletes everything below.", manifests.namespace(run)),
        ("etcd, through which the two nixlbench pods of each pool find each other.", manifests.etcd_service(run)),
        ("A single etcd member, gone with the run (activeDeadlineSeconds covers every wait).", manifests.etcd_pod(run)),
    ]
    for target in targets.checked:
        pool = target.pool
        for index, image in enumerate(target.images):
            out.append((f"Pool {pool.name}, image {image.image} (graphs {', '.join(image.graphs)}): a run creates "
                        f"one Job like this per Ready node of the pool (up to {pool.max_nodes}), numbered from 0, "
                        f"{NODE} replaced by the node's name.",
                        manifests.sanity_job(run, target, NODE, 0, index)))
        if pool.max_nodes < 2:
            continue
        for index, node in enumerate(PAIR):
            out.append((f"Pool {pool.name}: the nixlbench image, pulled onto {node} and checked for nixlbench. "
                        f"{PAIR[0]} and {PAIR[1]} are the first two nodes that passed the sanity pass.",
                        manifests.pull_job(run, target, node, index)))
        for index, node in enumerate(PAIR):
            out.append((f"Pool {pool.name}: nixlbench on {node} (LIBFABRIC, GPU memory to GPU memory), judged "
                        f"against: {target.threshold.rule}.", manifests.bench_job(run, target, node, index)))
    return out


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the scripts) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def _comment(text: str) -> str:
    return "".join(f"# {line}\n" for line in textwrap.wrap(text, 100))


def document_text(comment: str, manifest: dict[str, Any]) -> str:
    return _comment(comment) + yaml.dump(manifest, Dumper=_Dumper, sort_keys=False, width=120)


def render(stack: str, docs: Sequence[Document]) -> str:
    """One multi-document YAML stream."""
    header = _comment(f"python -m stacks preflight --stack {stack} --dataplane: the objects a run creates, in order. "
                      f"Printed without a cluster; run id {PRINT_RUN_ID} stands for a run's random one.")
    return header + "".join("---\n" + document_text(comment, manifest) for comment, manifest in docs)


def file_name(index: int, manifest: dict[str, Any]) -> str:
    return f"{index:02d}-{manifest['kind'].lower()}-{manifest['metadata']['name']}.yaml"


def write(directory: Path, docs: Sequence[Document]) -> list[Path]:
    """One file per object, numbered in creation order."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, (comment, manifest) in enumerate(docs):
        path = directory / file_name(index, manifest)
        path.write_text(document_text(comment, manifest))
        paths.append(path)
    return paths
