"""The data-path preflight's judgements: pure functions of what the pods printed (`parse`), how they
ended (`cluster.JobOutcome`) and the pool (`targets.PoolTarget`), each returning `Finding`s.
Every failure carries its fix; where Dynamo's EFA guide lists the failure ("Common Failure Modes"),
the fix is the guide's.

A node that passes every sanity check gets one line; a failing check gets its own line with its fix
(and the checks that passed on that node one more).
"""

from __future__ import annotations

from collections.abc import Sequence

from components.kit.quantity import quantity_bytes
from stacks.ops.cluster_view import NodeInfo
from stacks.ops.report import Finding
from stacks.preflight.dataplane.cluster import IMAGE_REASONS, JobOutcome
from stacks.preflight.dataplane.parse import (
    SanityOutput,
    Section,
    cuda_version,
    efa_rdm_domains,
    library_path,
    parse_df_total,
    parse_gpus,
    parse_huge_pages,
    parse_nixlbench,
    parse_sanity,
)
from stacks.preflight.dataplane.script import NIXLBENCH_NOT_FOUND
from stacks.preflight.dataplane.targets import PoolTarget, SanityImage
from stacks.preflight.dataplane.thresholds import FALLBACK_GBS, MIN_BLOCK_BYTES, best_large_block, size_text

EFA_LIBRARY_DIR = "/opt/amazon/efa/lib"
NOT_FOUND_EXIT = 127

IMAGE_PULL_FIX = ("check the image reference, and that the nodes can pull it without a pull secret (the preflight "
                  "namespace has none): a public registry, or one the nodes' IAM role may read (ECR)")
GPU_TOOLKIT_FIX = ("nvidia-smi comes into containers from the node's driver through the NVIDIA container toolkit: "
                   "check the GPU operator's driver and toolkit pods on the node (kubectl -n <gpuPlatform namespace> "
                   "get pods -o wide), or the NVIDIA AMI of the node group")
DRIVER_FIX = ("the node's NVIDIA driver does not answer: run nvidia-smi on the node, check the GPU operator's driver "
              "pod there (or the AMI's driver), and replace the node if it stays so")
GPU_COUNT_FIX = ("nvidia-smi lists the GPUs the driver sees: a missing one has failed or fallen off the bus (look "
                 "for Xid errors in the node's kernel log) and the node should be replaced; if the pool's "
                 "gpusPerNode is wrong instead, correct it")
EFA_FIX = ("the pod asked for the node's EFA interfaces, but libfabric finds none: check that the node advertises "
           "vpc.amazonaws.com/efa (kubectl describe node; the EFA device plugin runs on it), that the node group was "
           "created with EFA interfaces, and that its security group allows all traffic to and from itself "
           "(Dynamo's EFA guide, prerequisites)")
EFA_COUNT_FIX = ("compare the pool's EFA interfaces (efaInterfaces; eks: the instance type's) with what the node "
                 "advertises (kubectl describe node): a node launched without all of its interfaces must be replaced")
IMAGE_EFA_FIX = ("the image has no EFA software: use the release's -efa runtime image, or build one with Dynamo's "
                 "container/render.py --make-efa and `docker build --target aws` (Dynamo's EFA guide, step 3) and set "
                 "it as the graph's efaImage")
LIBRARY_FIX = (f"build the image so that its library path starts with {EFA_LIBRARY_DIR}, as the release's -efa images "
               "do (their Dockerfile sets LD_LIBRARY_PATH), or use one of those")
NIXLBENCH_MISSING_FIX = ("--nixlbench-image must hold nixlbench on its PATH: build one with NIXL's "
                         "benchmark/nixlbench/contrib/build.sh (docs/operations.md, \"Data-path preflight\")")
FI_MR_REG_FIX = ("Dynamo's EFA guide, failure modes: fi_mr_reg EFAULT on x86_64 means a pod that is not privileged "
                 "(an admission policy may have changed it) or, on kernels older than 5.12, no efa_nv_peermem module "
                 "on the host; on GB200 (arm64) it is libfabric's CUDA dma-buf bug (ofiwg/libfabric#12019: libfabric "
                 "2.5.1, or the guide's patch)")
FALLBACK_FIX = ("a rate this low is a transfer that is not GPU-direct over EFA (Dynamo's EFA guide, failure modes: "
                "1-5 GB/s is UCX staging through host memory, MB/s a TCP fallback). The benchmark ran LIBFABRIC with "
                "FI_PROVIDER=efa in privileged pods: check GPU-direct on the hosts (kernel 5.12 or newer for DMA-BUF, "
                "else the efa_nv_peermem module; lsmod | grep -E '^efa|nvidia') and that the nixlbench image's "
                "libfabric was built with EFA support")
BELOW_FIX = ("a healthy pair reaches at least half the line rate (docs/decisions.md): check that both nodes are in "
             "the pool's placement group and availability zone, that the sanity pass found every EFA interface on "
             "both, and that nothing else was using their interfaces; run again to measure another pair")
RERUN_FIX = ("the last lines of its log are above; `--print` writes the same objects, to run them by hand "
             "(kubectl apply -f, kubectl logs) and investigate")


def _gib(size: int) -> str:
    return f"{size / (1 << 30):.1f} GiB"


def _tail(text: str, lines: int = 4) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept) if kept else "(no output)"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no output)"


def unfinished_fix(outcome: JobOutcome, needs: str) -> str:
    """The fix for a pod that did not finish; `needs` says what it asks of a node."""
    pod = outcome.pod
    if pod is not None and pod.reason in IMAGE_REASONS:
        return IMAGE_PULL_FIX
    if pod is not None and pod.reason == "Unschedulable":
        return f"{needs}; the scheduler's reason is above"
    if pod is not None and pod.phase == "Running":
        return f"raise --timeout, or read the log: {_tail(outcome.log)}"
    return f"raise --timeout (the first pull of a large image takes minutes on each node); {needs}"


# -- the pool's nodes ------------------------------------------------------------------------------
def pool_nodes(target: PoolTarget, nodes: Sequence[NodeInfo]) -> tuple[Finding, list[str]]:
    """The result for the pool's nodes and the names of those to check (Ready and schedulable)."""
    pool = target.pool
    name = f"dataplane {pool.name} nodes"
    mine = sorted((n for n in nodes if n.matches(pool.node_selector)), key=lambda n: n.name)
    usable = [n.name for n in mine if n.usable]
    selector = ", ".join(f"{k}={v}" for k, v in sorted(pool.node_selector.items()))
    not_ready = [n.name for n in mine if not n.ready]
    cordoned = [n.name for n in mine if n.ready and n.unschedulable]
    if not usable:
        return Finding.failed(
            name, f"no Ready, schedulable node matches {selector}" + (f" (not Ready: {', '.join(not_ready)})"
                                                                     if not_ready else ""),
            "bring the pool's nodes up (eks: `pulumi up` creates the node group; existing: label the nodes) and run "
            "the read-only preflight first"), []
    facts = f"{len(usable)} Ready node{'s' if len(usable) > 1 else ''} match {selector}"
    if cordoned:
        facts += f"; cordoned, not checked: {', '.join(cordoned)}"
    if not_ready:
        fix = "make them Ready or remove them (kubectl describe node says why they are not)"
        return Finding.failed(name, f"{facts}; not Ready, not checked: {', '.join(not_ready)}", fix), usable
    return Finding.passed(name, facts), usable


# -- the sanity pass -------------------------------------------------------------------------------
def _aspect(aspect: str, ok: bool, detail: str, fix: str = "") -> Finding:
    """One aspect of a node's sanity pass (gpus, driver, shm, ...): passed, or failed with its fix."""
    return Finding.passed(aspect, detail) if ok else Finding.failed(aspect, detail, fix)


def _missing(section: Section) -> bool:
    return section.exit_code == NOT_FOUND_EXIT or "not found" in _first_line(section.text)


def _gpus(target: PoolTarget, out: SanityOutput) -> list[Finding]:
    gpus, banner = out.get("gpus"), out.get("nvidia-smi")
    expected = target.pool.gpus_per_node
    if gpus is None or banner is None:
        return [_aspect("gpus", False, "the script printed no nvidia-smi output", DRIVER_FIX)]
    if _missing(gpus):
        return [_aspect("gpus", False, f"nvidia-smi is not in the container: {_first_line(gpus.text)}",
                        GPU_TOOLKIT_FIX)]
    rows = parse_gpus(gpus.text)
    if gpus.exit_code != 0 or not rows:
        return [_aspect("gpus", False, f"nvidia-smi failed (exit {gpus.exit_code}): {_first_line(gpus.text)}",
                        DRIVER_FIX)]
    names = ", ".join(dict.fromkeys(f"{r.name} ({r.memory})" for r in rows))
    found = [_aspect("gpus", len(rows) == expected,
                     f"{len(rows)} x {names}" if len(rows) == expected else
                     f"nvidia-smi lists {len(rows)} GPUs ({names}); the pool has {expected} per node", GPU_COUNT_FIX)]
    driver, cuda = rows[0].driver, cuda_version(banner.text)
    if cuda is None:
        found.append(_aspect("driver", False, f"driver {driver}, but nvidia-smi's banner has no CUDA Version "
                                              f"(exit {banner.exit_code}: {_first_line(banner.text)})", DRIVER_FIX))
    else:
        found.append(_aspect("driver", True, f"driver {driver}, CUDA {cuda}"))
    return found


def _shm(target: PoolTarget, out: SanityOutput) -> Finding:
    section = out.get("shm")
    wanted = quantity_bytes(target.shared_memory)
    fix = (f"workers get /dev/shm the same way (a memory-backed emptyDir of {target.shared_memory}): check the node's "
           "allocatable memory (kubectl describe node) and that its kubelet sizes memory-backed emptyDir volumes by "
           "their sizeLimit")
    total = parse_df_total(section.text) if section is not None else None
    if total is None:
        text = _first_line(section.text) if section is not None else "no output"
        return _aspect("shm", False, f"df shows no /dev/shm: {text}", fix)
    if total < wanted:
        return _aspect("shm", False, f"/dev/shm is {_gib(total)}; the pod asked for {target.shared_memory}", fix)
    return _aspect("shm", True, f"/dev/shm {_gib(total)}")


def _efa(target: PoolTarget, out: SanityOutput) -> Finding:
    section = out.get("fi_info")
    expected = target.pool.efa_interfaces
    if section is None:
        return _aspect("efa", False, "the script printed no fi_info output", EFA_FIX)
    if _missing(section):
        return _aspect("efa", False, f"fi_info is not in the image: {_first_line(section.text)}", IMAGE_EFA_FIX)
    domains = efa_rdm_domains(section.text)
    if not domains:
        return _aspect("efa", False, f"fi_info finds no EFA device (exit {section.exit_code}: "
                                     f"{_first_line(section.text)})", EFA_FIX)
    if len(domains) != expected:
        return _aspect("efa", False, f"fi_info finds {len(domains)} EFA RDM domains; the pod was given {expected} EFA "
                                     "interfaces", EFA_COUNT_FIX)
    return _aspect("efa", True, f"{len(domains)} EFA devices (fi_info: {domains[0]}, ...)" if len(domains) > 1
                   else f"1 EFA device (fi_info: {domains[0]})")


def _huge_pages(target: PoolTarget, out: SanityOutput) -> Finding:
    pool = target.pool
    section = out.get("hugepages")
    pages = parse_huge_pages(section.text) if section is not None else None
    declared = pool.huge_pages_bytes
    where = f"{pool.key}.hugePages2Mi" if pool.key else "hugePages2Mi"
    if pool.size_key == "maxNodes":
        fix = ("eks pools allocate them at boot (the launch template's user data sets vm.nr_hugepages before the "
               "kubelet starts): a node without them came from an older launch template; replace it (roll the node "
               "group)")
    else:
        fix = (f"allocate them on the nodes (vm.nr_hugepages, then restart the kubelet so it advertises them), or set "
               f"{where} to what the nodes have")
    if pages is None:
        if declared == 0:
            return _aspect("huge pages", True, "none declared; /proc/meminfo shows no huge pages")
        return _aspect("huge pages", False,
                       f"/proc/meminfo shows no huge pages; {where} declares {pool.huge_pages_2mi}", fix)
    found = f"{pages.total} pages of {pages.size_kb} kB ({_gib(pages.total_bytes)})"
    if declared == 0:
        return _aspect("huge pages", True, f"none declared; the node has {found}")
    if pages.total_bytes < declared:
        return _aspect("huge pages", False, f"the node has {found}; {where} declares {pool.huge_pages_2mi}", fix)
    return _aspect("huge pages", True, f"huge pages {found}")


def _library_path(image: SanityImage, out: SanityOutput) -> Finding:
    section = out.get("library-path")
    entries = library_path(section.text) if section is not None else ()
    first = entries[0] if entries else "(empty)"
    if first == EFA_LIBRARY_DIR:
        return _aspect("library path", True, f"library path starts with {EFA_LIBRARY_DIR}")
    if image.wrapped:
        return _aspect("library path", True, f"the image's library path starts with {first}; the workers' shell "
                                             f"wrapper puts the EFA libraries first")
    return _aspect("library path", False,
                   f"the image's library path starts with {first}, not {EFA_LIBRARY_DIR}, and workers of "
                   f"{', '.join(image.graphs)} start without the shell wrapper that would put it first (TensorRT-LLM "
                   "across nodes)", LIBRARY_FIX)


def sanity_findings(target: PoolTarget, image: SanityImage, log: str) -> list[Finding]:
    """What the sanity script's output says about a node, one finding per aspect."""
    out = parse_sanity(log)
    if not out.sections:
        return [_aspect("script", False, f"the sanity script printed nothing it could read: {_tail(log)}",
                        "the image needs /bin/sh; " + RERUN_FIX)]
    findings = [*_gpus(target, out), _shm(target, out), _efa(target, out), _huge_pages(target, out),
                _library_path(image, out)]
    if not out.finished:
        findings.append(_aspect("script", False, f"the sanity script stopped before its end: {_tail(log)}", RERUN_FIX))
    return findings


def sanity_results(target: PoolTarget, node: str, image: SanityImage, outcome: JobOutcome) -> list[Finding]:
    """The results of one node (in one image): one line when all passed, else one per failure."""
    name = f"dataplane {target.name} {node}" + (f" ({image.short})" if len(target.images) > 1 else "")
    if not outcome.finished:
        needs = (f"the sanity pass takes the node whole ({target.pool.gpus_per_node} GPUs, "
                 f"{target.pool.efa_interfaces} EFA interfaces): run it when no graph runs on the pool, and check that "
                 f"the node advertises them (kubectl describe node {node})")
        return [Finding.failed(name, f"sanity pod {outcome.unfinished()}", unfinished_fix(outcome, needs))]
    findings = sanity_findings(target, image, outcome.log)
    if outcome.pod is not None and not outcome.succeeded:
        # the script itself always exits 0: the pod was killed, or its container never started
        findings.insert(0, _aspect("pod", False, f"the sanity pod ended {outcome.pod.describe()}, exit "
                                                 f"{outcome.pod.exit_code}", RERUN_FIX))
    failed = [f for f in findings if not f.ok]
    passed = "; ".join(f.detail for f in findings if f.ok)
    if not failed:
        return [Finding.passed(name, passed)]
    results = [Finding.failed(f"{name} {f.check}", f.detail, f.fix) for f in failed]
    if passed:
        results.append(Finding.passed(name, passed))
    return results


def node_passed(results: Sequence[Finding]) -> bool:
    return all(r.ok for r in results)


# -- the benchmark ---------------------------------------------------------------------------------
def bench_name(target: PoolTarget) -> str:
    return f"dataplane {target.name} nixlbench"


def benchmark_needs(target: PoolTarget) -> str:
    huge = f", {target.bench_huge_pages} of hugepages-2Mi" if target.bench_huge_pages else ""
    return (f"each benchmark pod needs one free GPU and {target.bench_efa} free EFA interface"
            f"{'s' if target.bench_efa > 1 else ''}{huge} on its node")


def benchmark_not_run(target: PoolTarget, usable: Sequence[str], passed: Sequence[str]) -> Finding:
    """The benchmark result when fewer than two nodes can take it."""
    name = bench_name(target)
    if target.pool.max_nodes < 2:
        return Finding.passed(name, "not run: the pool has one node, so no transfer crosses nodes")
    if len(usable) < 2:
        return Finding.failed(name, f"not run: it needs two Ready nodes, the pool has {len(usable)}",
                                  "bring a second node of the pool up")
    return Finding.failed(
        name, f"not run: it needs two nodes that passed the sanity pass; passed: {', '.join(passed) or 'none'}",
        "fix what the sanity pass found, then run again")


def _pod_failure(target: PoolTarget, outcome: JobOutcome, what: str) -> Finding:
    pod = outcome.pod
    assert pod is not None
    code = pod.exit_code
    name = bench_name(target)
    if code == NOT_FOUND_EXIT or NIXLBENCH_NOT_FOUND in outcome.log:
        return Finding.failed(name, f"the image has no nixlbench ({what} exited {code}: {_tail(outcome.log, 2)})",
                                  NIXLBENCH_MISSING_FIX)
    if "fi_mr_reg" in outcome.log:
        return Finding.failed(name, f"{what} on {pod.node} failed registering memory with EFA (exit {code}): "
                                        f"{_tail(outcome.log)}", FI_MR_REG_FIX)
    return Finding.failed(name, f"{what} on {pod.node} failed ({pod.describe()}, exit {code}): "
                                    f"{_tail(outcome.log)}", RERUN_FIX)


def image_pull_result(target: PoolTarget, outcomes: Sequence[JobOutcome]) -> Finding | None:
    """A failure when the nixlbench image could not be pulled or holds no nixlbench; None when it is
    on both nodes."""
    for outcome in outcomes:
        if not outcome.finished:
            return Finding.failed(bench_name(target), f"nixlbench image pull pod {outcome.unfinished()}",
                                      unfinished_fix(outcome, "it needs nothing but the image"))
        if not outcome.succeeded:
            return _pod_failure(target, outcome, "the image check")
    return None


def etcd_failure(target: PoolTarget, outcome: JobOutcome) -> Finding:
    return Finding.failed(bench_name(target), f"not run: the benchmark's etcd pod is not ready: "
                                                  f"{outcome.unfinished()}",
                              unfinished_fix(outcome, "it runs on any node without a taint it does not tolerate"))


def _ended(target: PoolTarget, outcomes: Sequence[JobOutcome]) -> Finding | None:
    """A failure when a benchmark pod did not finish or did not succeed; None when both did."""
    for outcome in outcomes:
        if not outcome.finished:
            return Finding.failed(bench_name(target), f"nixlbench pod {outcome.unfinished()}",
                                      unfinished_fix(outcome, benchmark_needs(target)))
    for outcome in outcomes:
        if not outcome.succeeded:
            return _pod_failure(target, outcome, "nixlbench")
    return None


def judge_bandwidth(target: PoolTarget, measured: str, best_gbs: float) -> Finding:
    """`best_gbs` (described by `measured`) against the pool's threshold."""
    name, rule = bench_name(target), target.threshold
    if rule.min_gbs is None:
        return Finding.passed(name, f"{measured}; {rule.rule}")
    needs = f"needs {rule.min_gbs:g} GB/s ({rule.rule})"
    if best_gbs >= rule.min_gbs:
        return Finding.passed(name, f"{measured}; {needs}")
    if best_gbs <= FALLBACK_GBS < rule.min_gbs:
        return Finding.failed(name, f"{measured}; {needs}: a TCP-like rate", FALLBACK_FIX)
    return Finding.failed(name, f"{measured}; {needs}", BELOW_FIX)


def benchmark_result(target: PoolTarget, nodes: Sequence[str], outcomes: Sequence[JobOutcome]) -> Finding:
    """The judgement of a two-node run from both pods' ends and logs. The initiator prints the
    table: when it did, the bandwidth is judged (and a pod that did not end well is noted);
    otherwise how the pods ended says what went wrong."""
    name = bench_name(target)
    between = f"between {nodes[0]} and {nodes[1]}"
    tables = [rows for rows in (parse_nixlbench(o.log) for o in outcomes) if rows]
    if not tables:
        ended = _ended(target, outcomes)
        return ended or Finding.failed(name, f"nixlbench {between} printed no results table: "
                                                 f"{_tail(outcomes[0].log)} / {_tail(outcomes[-1].log)}", RERUN_FIX)
    rows = tables[0]
    best = best_large_block(rows)
    if best is None:
        largest = max(r.block_bytes for r in rows)
        return Finding.failed(name, f"nixlbench {between} printed no row of {size_text(MIN_BLOCK_BYTES)} blocks or "
                                        f"larger (largest: {size_text(largest)})", RERUN_FIX)
    large = ", ".join(f"{size_text(r.block_bytes)} {r.gbs:.1f}" for r in rows if r.block_bytes >= MIN_BLOCK_BYTES)
    measured = f"{best.gbs:.1f} GB/s at {size_text(best.block_bytes)} blocks {between} (GB/s by block size: {large})"
    for outcome in outcomes:
        if outcome.pod is not None and not outcome.succeeded:
            how = f"exit {outcome.pod.exit_code}" if outcome.finished else outcome.unfinished()
            measured += f"; the other pod, on {outcome.pod.node}, did not end well: {how}"
    return judge_bandwidth(target, measured, best.gbs)


# -- the run as a whole ----------------------------------------------------------------------------
def cleanup_result(namespace: str, objects: int, errors: Sequence[str]) -> Finding:
    name = "dataplane cleanup"
    if errors:
        return Finding.failed(name, f"could not delete everything in namespace {namespace}: {'; '.join(errors)}",
                                  f"delete it yourself: kubectl delete namespace {namespace} (every run's namespace "
                                  "carries the label dynamo-cluster/preflight=dataplane)")
    return Finding.passed(name, f"deleted namespace {namespace} and the {objects} objects the run created in it")


def refused(error: str) -> Finding:
    """The cluster refused a request of the run (`error` says which and why)."""
    return Finding.failed(
        "dataplane", f"stopped: {error}",
        "the run creates a namespace labelled pod-security.kubernetes.io/enforce=privileged with privileged pods "
        "(as EFA workers are), an etcd pod and Service and Jobs, reads pod logs and deletes it all: give the "
        "credentials those rights, and let admission policies allow privileged pods in namespaces labelled "
        "dynamo-cluster/preflight=dataplane")
