"""One data-path preflight run, over a `DataplaneCluster`: create, wait, read, judge, and always
delete.

Steps (each wait bounded by the run's timeout, and a timed-out wait says what the pod was doing):

1. read the nodes; each pool's Ready, schedulable nodes are its nodes to check. Nothing is created
   when no pool has one.
2. create the namespace, the etcd Service and pod, and a sanity Job per node of each pool (per
   image, when the pool's graphs run more than one); wait until every sanity pod finished, then read
   their logs and judge them (`checks.sanity_results`).
3. per pool, take the first two nodes (by name) that passed every sanity check; on each run an
   image-check Job in the nixlbench image (it must hold nixlbench; the pull also puts the image on
   both nodes, so that the benchmark pods start together, within nixlbench's 60 s barrier).
4. wait until etcd is ready, create the two nixlbench Jobs of each pool, wait, read both logs and
   judge the table (`checks.benchmark_result`).

Whatever happens (a failure, a refused request, Ctrl-C or SIGTERM turned into KeyboardInterrupt,
an unexpected error), the `finally` deletes every object created, in reverse order, and the
namespace last; `shield` keeps a second interrupt from cutting the cleanup short.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from stacks.ops.cluster_view import ClusterReadError
from stacks.ops.report import Finding
from stacks.preflight.dataplane import checks, manifests
from stacks.preflight.dataplane.cluster import (
    FAILED,
    RUNNING,
    STUCK_REASONS,
    SUCCEEDED,
    DataplaneCluster,
    DataplaneError,
    JobOutcome,
    PodStatus,
)
from stacks.preflight.dataplane.manifests import Run
from stacks.preflight.dataplane.targets import PoolTarget, SanityImage, Targets

POLL_S = 5.0

# A Job on one node of a pool's pair (the image check's, nixlbench's): (run, pool, node, index) -> manifest.
PairJob = Callable[[Run, PoolTarget, str, int], dict[str, Any]]


@contextmanager
def _unshielded() -> Iterator[None]:
    yield


@dataclass(frozen=True)
class Clock:
    """Time as the runner sees it: tests replace both."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_s: float = POLL_S


@dataclass(frozen=True)
class DataplaneReport:
    results: list[Finding]
    interrupted: str | None = None  # the signal that stopped the run (SIGINT, SIGTERM)


def pools_result(targets: Targets) -> Finding:
    checked = ", ".join(f"{t.name} ({t.pool.instance_type or 'instance type not set'}, "
                        f"{len(t.images)} image{'s' if len(t.images) > 1 else ''})" for t in targets.checked)
    skipped = "; ".join(f"{pool}: {why}" for pool, why in targets.skipped)
    return Finding.passed("dataplane pools", f"checks {checked}" + (f"; not checked: {skipped}" if skipped else ""))


@dataclass
class _Created:
    kind: str
    name: str
    namespace: str | None


@dataclass
class _Pool:
    target: PoolTarget
    nodes: list[str] = field(default_factory=list)
    results: list[Finding] = field(default_factory=list)
    pair: tuple[str, str] | None = None


class Runner:
    def __init__(self, cluster: DataplaneCluster, targets: Targets, run: Run, *, clock: Clock | None = None,
                 say: Callable[[str], None] = lambda _: None,
                 shield: Callable[[], AbstractContextManager[None]] = _unshielded) -> None:
        self.cluster = cluster
        self.targets = targets
        self.run_ = run
        self.clock = clock or Clock()
        self.say = say
        self.shield = shield
        self.created: list[_Created] = []
        self.pools = [_Pool(t) for t in targets.checked]
        self.general: list[Finding] = []

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> DataplaneReport:
        interrupted: str | None = None
        try:
            self._steps()
        except KeyboardInterrupt as interrupt:
            interrupted = str(interrupt) or "SIGINT"
            self.say(f"interrupted ({interrupted}); cleaning up")
            self.general.append(Finding.failed("dataplane", f"interrupted ({interrupted}) before the checks "
                                                                "finished", "run it again"))
        except (DataplaneError, ClusterReadError) as error:
            self.general.append(checks.refused(str(error)))
        finally:
            if self.created:
                with self.shield():
                    self.general.append(self._cleanup())
        results = [pools_result(self.targets)]
        for pool in self.pools:
            results += pool.results
        return DataplaneReport(results + self.general, interrupted)

    def _steps(self) -> None:
        nodes = self.cluster.nodes()
        for pool in self.pools:
            result, pool.nodes = checks.pool_nodes(pool.target, nodes)
            pool.results.append(result)
        active = [p for p in self.pools if p.nodes]
        if not active:
            return
        run = self.run_
        self.say(f"creating namespace {run.namespace}")
        self._create(manifests.namespace(run))
        self._create(manifests.etcd_service(run))
        self._create(manifests.etcd_pod(run))
        passed = self._sanity(active)
        paired = self._pairs(active, passed)
        checked = self._image_check(paired)
        if checked:
            self._benchmark(checked)

    # -- steps ----------------------------------------------------------------------------------
    def _sanity(self, pools: Sequence[_Pool]) -> dict[tuple[str, str], bool]:
        """Sanity Jobs on every node; (pool, node) -> whether every check passed in every image."""
        jobs: dict[str, tuple[_Pool, str, SanityImage]] = {}
        for pool in pools:
            target = pool.target
            for node_index, node in enumerate(pool.nodes):
                for image_index, image in enumerate(target.images):
                    manifest = manifests.sanity_job(self.run_, target, node, node_index, image_index)
                    jobs[manifest["metadata"]["name"]] = (pool, node, image)
                    self._create(manifest)
        outcomes = self._wait(manifests.SANITY, list(jobs), manifests.SANITY_CONTAINER, "sanity")
        passed: dict[tuple[str, str], bool] = {}
        for name, (pool, node, image) in jobs.items():
            results = checks.sanity_results(pool.target, node, image, outcomes[name])
            pool.results += results
            key = (pool.target.name, node)
            passed[key] = passed.get(key, True) and checks.node_passed(results)
        return passed

    def _pairs(self, pools: Sequence[_Pool], passed: dict[tuple[str, str], bool]) -> list[_Pool]:
        paired = []
        for pool in pools:
            good = [n for n in pool.nodes if passed.get((pool.target.name, n), False)]
            if len(good) >= 2 and pool.target.pool.max_nodes >= 2:
                pool.pair = (good[0], good[1])
                paired.append(pool)
            else:
                pool.results.append(checks.benchmark_not_run(pool.target, pool.nodes, good))
        return paired

    def _image_check(self, pools: Sequence[_Pool]) -> list[_Pool]:
        """Image-check Jobs on each pair; the pools whose pair holds nixlbench."""
        if not pools:
            return []
        jobs = self._start_pairs(pools, manifests.pull_job)
        outcomes = self._wait(manifests.PULL, list(jobs), manifests.PULL_CONTAINER, "nixlbench image check")
        ready = []
        for pool in pools:
            failure = checks.image_pull_result(pool.target, [o for j, o in outcomes.items() if jobs[j] is pool])
            if failure is None:
                ready.append(pool)
            else:
                pool.results.append(failure)
        return ready

    def _start_pairs(self, pools: Sequence[_Pool], job: PairJob) -> dict[str, _Pool]:
        """Create one Job on each node of each pool's pair; the Jobs' names, and the pool of each."""
        jobs: dict[str, _Pool] = {}
        for pool in pools:
            assert pool.pair is not None
            for index, node in enumerate(pool.pair):
                manifest = job(self.run_, pool.target, node, index)
                jobs[manifest["metadata"]["name"]] = pool
                self._create(manifest)
        return jobs

    def _benchmark(self, pools: Sequence[_Pool]) -> None:
        etcd = self._wait_etcd()
        if not (etcd.pod is not None and etcd.pod.ready):
            for pool in pools:
                pool.results.append(checks.etcd_failure(pool.target, etcd))
            return
        jobs = self._start_pairs(pools, manifests.bench_job)
        outcomes = self._wait(manifests.BENCH, list(jobs), manifests.BENCH_CONTAINER, "nixlbench")
        for pool in pools:
            assert pool.pair is not None
            pool.results.append(checks.benchmark_result(pool.target, pool.pair,
                                                        [o for j, o in outcomes.items() if jobs[j] is pool]))

    # -- the cluster ----------------------------------------------------------------------------
    def _create(self, manifest: dict[str, Any]) -> None:
        meta = manifest["metadata"]
        # Recorded first: a create that times out may still have happened, and deleting what does
        # not exist is harmless.
        self.created.append(_Created(manifest["kind"], meta["name"], meta.get("namespace")))
        self.cluster.create(manifest)

    def _pods(self, step: str) -> list[PodStatus]:
        run = self.run_
        return self.cluster.pods(run.namespace, {manifests.RUN_LABEL: run.run_id, manifests.STEP_LABEL: step})

    def _wait(self, step: str, jobs: list[str], container: str, what: str) -> dict[str, JobOutcome]:
        """Until every Job's pod finished (or cannot start), at most the run's timeout."""
        timeout = self.run_.timeout_s
        self.say(f"waiting up to {timeout} s for {len(jobs)} {what} pod{'s' if len(jobs) > 1 else ''}")
        deadline = self.clock.now() + timeout
        latest: dict[str, PodStatus] = {}
        while True:
            latest = {}
            for pod in self._pods(step):
                job = pod.labels.get(manifests.JOB_LABEL, "")
                if job in jobs and not (job in latest and latest[job].finished):
                    latest[job] = pod
            waiting = [j for j in jobs if not (j in latest and (latest[j].finished or
                                                                 latest[j].reason in STUCK_REASONS))]
            left = deadline - self.clock.now()
            if not waiting or left <= 0:
                break
            self.clock.sleep(min(self.clock.poll_s, left))
        return {job: JobOutcome(job, latest.get(job), self._log(latest.get(job), container), timeout) for job in jobs}

    def _log(self, pod: PodStatus | None, container: str) -> str:
        if pod is None or pod.node is None or pod.phase not in (RUNNING, SUCCEEDED, FAILED):
            return ""
        try:
            return self.cluster.logs(self.run_.namespace, pod.name, container)
        except DataplaneError as error:
            return f"(log unreadable: {error})"

    def _wait_etcd(self) -> JobOutcome:
        timeout = self.run_.timeout_s
        self.say(f"waiting up to {timeout} s for etcd")
        deadline = self.clock.now() + timeout
        while True:
            pods = self._pods(manifests.ETCD)
            pod = pods[0] if pods else None
            left = deadline - self.clock.now()
            if (pod is not None and (pod.ready or pod.finished or pod.reason in STUCK_REASONS)) or left <= 0:
                return JobOutcome(manifests.ETCD_NAME, pod, self._log(pod, manifests.ETCD), timeout)
            self.clock.sleep(min(self.clock.poll_s, left))

    def _cleanup(self) -> Finding:
        namespace = self.run_.namespace
        self.say(f"deleting namespace {namespace} and what the run created in it")
        errors: list[str] = []
        inside = [c for c in self.created if c.kind != "Namespace"]
        for obj in reversed(inside):
            try:
                self.cluster.delete(obj.kind, obj.name, obj.namespace)
            except DataplaneError as error:
                errors.append(str(error))
                break  # the cluster does not answer or refuses: deleting the namespace is the last hope
        try:
            self.cluster.delete("Namespace", namespace)
        except DataplaneError as error:
            errors.append(str(error))
        return checks.cleanup_result(namespace, len(inside), errors)
