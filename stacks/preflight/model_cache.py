"""Cluster preflight of the model cache: its CSI driver, and whether the models fit.

- ``model cache csi driver`` (caches on FSx for Lustre or EFS): the driver the cache mounts with is
  registered (its CSIDriver object) and healthy (every pod of its node DaemonSet and of its controller
  Deployment in ``kube-system`` ready). When the stack installs it (the EKS add-on) and it is not
  there yet, that passes: `pulumi up` installs it. When the stack does not install it
  (``modelCache.csiDriver.install: false``), it must be there.
- ``model cache size``: the models the graphs download (`model_download.download_plans`) against the
  cache's capacity, with each model's size from ``graphs[].modelSizeGiB`` or, failing that, from the
  termination message of its finished download pod (the script reports the bytes it put in the cache).
  A model of unknown size is named, not guessed; EFS grows by itself.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import assert_never

from components.storage.cache import Efs, ExistingClass, FsxLustre, ModelCacheSettings, cache_fit
from components.storage.csi import NAMESPACE, CsiDriverSettings
from components.storage.downloads import DOWNLOAD_LABEL, DownloadPlan, download_plans
from components.storage.lustre import CAPACITY_STEP_GIB
from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import ClusterView, WorkloadInfo
from stacks.ops.report import Finding

CSI_CHECK = "model cache csi driver"
SIZE_CHECK = "model cache size"
_GIB = 1 << 30


def _workload(items: Sequence[WorkloadInfo], name: str) -> WorkloadInfo | None:
    return next((w for w in items if w.namespace == NAMESPACE and w.name == name), None)


def check_csi_driver(csi: CsiDriverSettings, drivers: Sequence[str], daemon_sets: Sequence[WorkloadInfo],
                     deployments: Sequence[WorkloadInfo]) -> Finding:
    driver = csi.driver
    node = _workload(daemon_sets, driver.node_daemonset)
    controller = _workload(deployments, driver.controller)
    registered = driver.driver in drivers
    install = (f"install it (aws eks create-addon --cluster-name {csi.cluster_name} --addon-name {driver.addon} "
               f"--addon-version {csi.version}), or set modelCache.csiDriver.install to true")
    if not registered or node is None:
        missing = "no CSIDriver object" if not registered else f"no DaemonSet {NAMESPACE}/{driver.node_daemonset}"
        if csi.install:
            return Finding.passed(CSI_CHECK, f"{driver.driver} is not installed yet ({missing}); `pulumi up` "
                                                 f"installs the EKS add-on {driver.addon} {csi.version}")
        return Finding.failed(CSI_CHECK, f"{driver.driver} is not installed ({missing}), and "
                                             "modelCache.csiDriver.install is false", install)
    unready = [f"{w.ref} has {w.ready} of {w.desired} pods ready" for w in (node, controller)
               if w is not None and (w.ready < w.desired or w.desired == 0)]
    if unready:
        return Finding.failed(
            CSI_CHECK, f"{driver.driver} is not healthy: {'; '.join(unready)}",
            f"kubectl -n {NAMESPACE} describe daemonset {driver.node_daemonset}; kubectl -n {NAMESPACE} logs "
            f"daemonset/{driver.node_daemonset} (a node pod that cannot start leaves that node unable to mount the "
            "cache)")
    return Finding.passed(CSI_CHECK, f"{driver.driver} registered; {node.ready} node pods ready"
                              + (f", controller {controller.ready}/{controller.desired}" if controller else ""))


def learned_sizes(messages: Sequence[str]) -> dict[str, int]:
    """``repo@revision`` -> GiB (rounded up), from download pods' termination messages."""
    out: dict[str, int] = {}
    for message in messages:
        try:
            report = json.loads(message)
        except ValueError:
            continue
        if not isinstance(report, dict) or not isinstance(report.get("bytes"), int):
            continue
        key = f"{report.get('model')}@{report.get('revision')}"
        out[key] = max(out.get(key, 0), -(-report["bytes"] // _GIB))
    return out


def _next_capacity(gib: int) -> int:
    return 2400 if gib <= 2400 else -(-gib // CAPACITY_STEP_GIB) * CAPACITY_STEP_GIB


def check_cache_size(cache: ModelCacheSettings, plans: Sequence[DownloadPlan], messages: Sequence[str]) -> Finding:
    fit = cache_fit(cache, plans, learned_sizes(messages))
    sizes = ", ".join(f"{model} {gib} GiB" for model, gib in fit.sizes.items())
    if fit.capacity_gib is None:
        return Finding.passed(SIZE_CHECK, "EFS grows as files are written" + (f" ({sizes})" if sizes else ""))
    if fit.fits is False:
        match cache.store:
            case FsxLustre():
                fix = (f"raise modelCache.fsx.storageCapacityGiB to {_next_capacity(fit.known_gib)} (FSx for Lustre "
                       "grows in place in steps of 2400 GiB), or download fewer models")
            case ExistingClass() | Efs():
                fix = f"raise modelCache.storage.size to at least {fit.known_gib}Gi, or download fewer models"
            case _:
                assert_never(cache.store)
        return Finding.failed(SIZE_CHECK, f"the models take {fit.known_gib} GiB ({sizes}), but the cache holds "
                                              f"{fit.capacity_gib} GiB", fix)
    unknown = (f"; size not known for {', '.join(fit.unknown)} (set graphs[].modelSizeGiB, or it is read after its "
               "first download)") if fit.unknown else ""
    return Finding.passed(SIZE_CHECK, f"{fit.known_gib} of {fit.capacity_gib} GiB"
                              + (f" ({sizes})" if sizes else "") + unknown)


def model_cache_checks(config: StackConfig, view: ClusterView) -> list[Finding]:
    cache = config.dynamo.model_cache
    if cache is None:
        return []
    results = []
    if cache.csi is not None:
        results.append(check_csi_driver(cache.csi, view.csi_drivers(), view.daemon_sets(), view.deployments()))
    plans = download_plans(config.dynamo.graphs) if cache.download.enabled else []
    if plans:
        messages = view.termination_messages(config.namespaces.workloads, DOWNLOAD_LABEL)
        results.append(check_cache_size(cache, plans, messages))
    return results
