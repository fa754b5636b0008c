"""The GPU dashboard: DCGM exporter series per node and per pool."""

from __future__ import annotations

from components.observability.dashboards.builder import RATE, Dashboard, Panel, Query, Row, Threshold, Variable
from components.observability.metrics_catalog import metric
from components.observability.observed import Observed

# DCGM series carry the node name in `Hostname`; filtered by the node variable.
_NODE = 'Hostname=~"$node"'


def per_pool(aggregation: str, expr: str, observed: Observed) -> str:
    """`expr` (DCGM series) aggregated per GPU pool: each series joins its node's pool, read from
    kube-state-metrics' `kube_node_labels`, keeping only pools picked in the pool variable."""
    label = observed.pool_series_label
    nodes = (f'max by (node, pool) (label_replace({metric("kube_node_labels")}{{{label}=~"$pool"}}, '
             f'"pool", "$1", "{label}", "(.+)"))')
    return (f'{aggregation} by (pool) (label_replace({expr}, "node", "$1", "Hostname", "(.*)") '
            f"* on (node) group_left (pool) {nodes})")


def gpu_dashboard(observed: Observed, temperature_limit: int) -> Dashboard:
    util, used, free = (metric("DCGM_FI_DEV_GPU_UTIL"), metric("DCGM_FI_DEV_FB_USED"),
                        metric("DCGM_FI_DEV_FB_FREE"))
    power, temp = metric("DCGM_FI_DEV_POWER_USAGE"), metric("DCGM_FI_DEV_GPU_TEMP")
    pools = Row("Per pool", (
        Panel("GPU utilisation per pool", (Query(per_pool("avg", util, observed), "{{pool}}"),),
              unit="percent", minimum=0, maximum=100),
        Panel("GPU memory used per pool", (Query(
            f"100 * {per_pool('sum', used, observed)} / "
            f"({per_pool('sum', used, observed)} + {per_pool('sum', free, observed)})", "{{pool}}"),),
            unit="percent", minimum=0, maximum=100),
        Panel("Power draw per pool", (Query(per_pool("sum", power, observed), "{{pool}}"),), unit="watt"),
        Panel("Hottest GPU per pool", (Query(per_pool("max", temp, observed), "{{pool}}"),), unit="celsius",
              thresholds=(Threshold(temperature_limit, "red"),)),
    ))
    nodes = Row("Per node", (
        Panel("GPU utilisation", (Query(f"avg by (Hostname) ({util}{{{_NODE}}})", "{{Hostname}}"),),
              unit="percent", minimum=0, maximum=100),
        Panel("GPU memory used", (Query(
            f"100 * sum by (Hostname) ({used}{{{_NODE}}}) / "
            f"(sum by (Hostname) ({used}{{{_NODE}}}) + sum by (Hostname) ({free}{{{_NODE}}}))",
            "{{Hostname}}"),), unit="percent", minimum=0, maximum=100),
        Panel("Power draw", (Query(f"sum by (Hostname) ({power}{{{_NODE}}})", "{{Hostname}}"),), unit="watt"),
        Panel("Temperature", (
            Query(f"max by (Hostname) ({temp}{{{_NODE}}})", "GPU {{Hostname}}"),
            Query(f"max by (Hostname) ({metric('DCGM_FI_DEV_MEMORY_TEMP')}{{{_NODE}}})", "memory {{Hostname}}"),
        ), unit="celsius", thresholds=(Threshold(temperature_limit, "red"),)),
        Panel("Last XID error per GPU", (Query(
            f"max by (Hostname, gpu) ({metric('DCGM_FI_DEV_XID_ERRORS')}{{{_NODE}}}) > 0",
            "{{Hostname}} GPU {{gpu}}"),), kind="table",
            description="The code of the last XID error each GPU reported; GPUs without one are not listed."),
        Panel("NVLink traffic", (
            Query(f"sum by (Hostname) ({metric('DCGM_FI_PROF_NVLINK_TX_BYTES')}{{{_NODE}}} + "
                  f"{metric('DCGM_FI_PROF_NVLINK_RX_BYTES')}{{{_NODE}}})", "{{Hostname}}"),
            Query(f"sum by (Hostname) (rate({metric('DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL')}{{{_NODE}}}[{RATE}]))",
                  "{{Hostname}} (bandwidth counter)"),
        ), unit="Bps", description="Empty on GPUs without NVLink or when the exporter does not collect it."),
    ))
    return Dashboard(
        uid="dynamo-gpus",
        title="Dynamo / GPUs",
        description="DCGM exporter: utilisation, memory, power, temperature, XID errors and NVLink.",
        variables=(
            Variable("pool", "Pool", metric("kube_node_labels"), observed.pool_series_label),
            Variable("node", "Node", util, "Hostname"),
        ),
        rows=(pools, nodes),
    )
