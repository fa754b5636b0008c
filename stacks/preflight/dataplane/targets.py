"""Which pools the data-path preflight checks, and what each check asks for. Pure functions of the
stack's config.

A pool is checked when it has EFA interfaces and a graph with a GPU backend places workers on it:
those are the pools whose pods get the EFA recipe (`components.dynamo.datapath.runs_on_efa`), and
the graph says which image to test (the workers' image there: the release's ``-efa`` runtime image
of the backend, or the graph's ``efaImage``). An EFA pool no such graph uses is listed as not
checked; there would be no image to test and nothing that depends on it.

The benchmark pods are what a one-GPU worker of the pool's first graph would get: one GPU, its share
of the node's EFA interfaces (`efa_per_pod`), the recipe's ``FI_*`` settings and huge pages
(`data_path`), /dev/shm of the workers' size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from components.dynamo.datapath import EFA_SHARED_MEMORY, data_path, wraps_command
from components.dynamo.dgd import efa_per_pod
from components.dynamo.spec import GraphSpec, WorkerGroupSpec
from components.nodes.shape import PoolShape
from stacks.config.stack import StackConfig
from stacks.preflight.dataplane.thresholds import Threshold, threshold


@dataclass(frozen=True)
class SanityImage:
    """An image the graphs' workers run on a pool. `wrapped`: every worker group that runs it starts
    under the library-path wrapper (`components.dynamo.datapath.wrapped_command`), which puts the EFA
    libraries first whatever the image's own library path says."""

    image: str
    graphs: tuple[str, ...]
    wrapped: bool

    @property
    def short(self) -> str:
        """The image's last path component (``vllm-runtime:1.4.2-efa``)."""
        return self.image.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class PoolTarget:
    pool: PoolShape
    images: tuple[SanityImage, ...]
    bench_efa: int  # EFA interfaces of a one-GPU pod
    bench_huge_pages: str | None  # hugepages-2Mi of a one-GPU pod, None when the pool has too few
    threshold: Threshold
    bench_env: Mapping[str, str] = field(default_factory=dict)  # the recipe's FI_* settings
    shared_memory: str = EFA_SHARED_MEMORY

    @property
    def name(self) -> str:
        return self.pool.name


@dataclass(frozen=True)
class Targets:
    checked: tuple[PoolTarget, ...]
    skipped: tuple[tuple[str, str], ...]  # (pool, why it is not checked)


def _groups_on(graphs: tuple[GraphSpec, ...], pool: str) -> list[tuple[GraphSpec, WorkerGroupSpec]]:
    return [(spec, group) for spec in graphs if spec.backend.gpus
            for group in spec.groups if group.pool == pool]


def _images(groups: list[tuple[GraphSpec, WorkerGroupSpec]], pool: PoolShape) -> tuple[SanityImage, ...]:
    by_image: dict[str, list[tuple[GraphSpec, WorkerGroupSpec]]] = {}
    for spec, group in groups:
        by_image.setdefault(data_path(spec, group, pool).image, []).append((spec, group))
    return tuple(SanityImage(image, tuple(dict.fromkeys(spec.name for spec, _ in users)),
                             all(wraps_command(spec, group) for spec, group in users))
                 for image, users in by_image.items())


def pool_target(pool: PoolShape, groups: list[tuple[GraphSpec, WorkerGroupSpec]],
                min_gbps: float | None = None) -> PoolTarget:
    """The checks of `pool`, on which the graph groups `groups` (at least one) run."""
    spec, group = groups[0]
    one_gpu = replace(group, gpus_per_node=1, nodes=1)
    path = data_path(spec, one_gpu, pool)
    efa = efa_per_pod(one_gpu, pool)
    return PoolTarget(pool=pool, images=_images(groups, pool), bench_efa=efa, bench_huge_pages=path.huge_pages,
                      bench_env={k: v for k, v in sorted(path.env.items()) if k.startswith("FI_")},
                      threshold=threshold(efa, pool.efa_card_gbps, min_gbps))


def select_targets(config: StackConfig, min_gbps: float | None = None) -> Targets:
    """The pools to check, in config order, and the EFA pools left out with the reason."""
    checked: list[PoolTarget] = []
    skipped: list[tuple[str, str]] = []
    for pool in config.pool_shapes.values():
        if not pool.has_efa:
            continue
        groups = _groups_on(config.dynamo.graphs, pool.name)
        if pool.gpus_per_node == 0:
            skipped.append((pool.name, "it has no GPUs"))
        elif not groups:
            skipped.append((pool.name, "no graph with a GPU backend places workers on it"))
        else:
            checked.append(pool_target(pool, groups, min_gbps))
    return Targets(tuple(checked), tuple(skipped))
