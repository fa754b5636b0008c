"""`verify --dataplane`'s run: for each graph with workers on EFA, read its pods, their logs and
processes through the cluster, read the transfer counters, and turn it all into one report section
per graph (the pure checks in `checks` and `traffic` decide).

Logs are read twice, bounded: the first `HEAD_BYTES` of the main container's current log (the lines
an engine prints once, at start: NIXL's backends, NCCL's network) and its last `TAIL_LINES` lines
(vLLM's periodic engine line). Every kubectl call and HTTP request has a timeout, capped by the
run's deadline; what the deadline leaves unread is reported as not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from components.dynamo.datapath import NIXL_TELEMETRY_PORT
from components.dynamo.dgd import MAIN_CONTAINER
from components.dynamo.spec import FRONTEND
from stacks.ops.report import Finding, Section, Status
from stacks.verify.dataplane import causes
from stacks.verify.dataplane.checks import (
    PodEvidence,
    backend_finding,
    decode_hits_finding,
    library_path_finding,
    nccl_finding,
    plugin_finding,
    pods_finding,
)
from stacks.verify.dataplane.cluster import Cluster, Deadline, OutOfTime
from stacks.verify.dataplane.logs import LogEvidence
from stacks.verify.dataplane.pods import Pod, parse_pods, selector
from stacks.verify.dataplane.procfs import PROBE, ProbeError, parse_probe
from stacks.verify.dataplane.readings import (
    NIXL_METRICS,
    NIXL_PORT_ENV,
    ROUTER_METRICS,
    SYSTEM_PORT,
    SYSTEM_PORT_ENV,
    Readings,
    Want,
    engine_metrics,
)
from stacks.verify.dataplane.sources import (
    DirectSource,
    Fetch,
    PrometheusService,
    PrometheusSource,
    Source,
    SourceError,
)
from stacks.verify.dataplane.targets import GraphPlan, GroupPlan
from stacks.verify.dataplane.traffic import failures_finding, kv_events_finding, transfers_finding, verified_metrics
from stacks.verify.discovery import DiscoveryError

HEAD_BYTES = 8 << 20
TAIL_LINES = 5000


@dataclass(frozen=True)
class Settings:
    sample_seconds: float  # between the two reads of a pod's /metrics
    http_timeout: float  # each HTTP request
    kubectl_timeout: float = 60.0  # each kubectl call (a log of HEAD_BYTES may take a while)


@dataclass(frozen=True)
class GraphPods:
    plan: GraphPlan
    pods: tuple[Pod, ...]
    evidence: dict[str, tuple[PodEvidence, ...]]  # role -> what was read from its running pods

    def running(self, role: str) -> list[Pod]:
        return [p for p in self.pods if p.role == role and p.running]


def _read_logs(cluster: Cluster, namespace: str, pod: Pod, deadline: Deadline, settings: Settings) -> LogEvidence:
    head = cluster.logs(namespace, pod.name, MAIN_CONTAINER, limit_bytes=HEAD_BYTES,
                        timeout=deadline.cap(settings.kubectl_timeout))
    tail = cluster.logs(namespace, pod.name, MAIN_CONTAINER, tail=TAIL_LINES,
                        timeout=deadline.cap(settings.kubectl_timeout))
    return LogEvidence.parse(head, tail)


def _evidence(cluster: Cluster, plan: GraphPlan, group: GroupPlan, pod: Pod, *, deadline: Deadline,
              settings: Settings) -> PodEvidence:
    """Logs where a check reads them (NIXL's backend, decode hits, NCCL), the /proc probe on every EFA worker."""
    logs, logs_error, probe, probe_error = None, "", None, ""
    if group.path.rdma or group.group.multinode:
        try:
            logs = _read_logs(cluster, plan.namespace, pod, deadline, settings)
        except (DiscoveryError, OutOfTime) as error:
            logs_error = str(error)
    try:
        probe = parse_probe(cluster.exec(plan.namespace, pod.name, MAIN_CONTAINER, PROBE,
                                         timeout=deadline.cap(settings.kubectl_timeout)))
    except (DiscoveryError, OutOfTime, ProbeError) as error:
        probe_error = str(error)
    return PodEvidence(pod, logs, logs_error, probe, probe_error)


def read_graph(cluster: Cluster, plan: GraphPlan, deadline: Deadline, settings: Settings) -> GraphPods:
    """The graph's pods, and what its EFA workers' logs and processes show. Raises DiscoveryError or
    OutOfTime when the pods cannot be listed."""
    items = cluster.pods(plan.namespace, selector(plan.name), timeout=deadline.cap(settings.kubectl_timeout))
    pods = tuple(parse_pods(items))
    evidence = {g.role: tuple(_evidence(cluster, plan, g, pod, deadline=deadline, settings=settings)
                              for pod in pods if pod.role == g.role and pod.running)
                for g in plan.efa_groups}
    return GraphPods(plan, pods, evidence)


def wants(graph: GraphPods) -> list[Want]:
    """The counters each graph's checks read: NIXL telemetry on workers that export it, the engine's
    own where verify reads them (vLLM's), the router's on frontends that route by KV events."""
    out: list[Want] = []
    metrics = verified_metrics(graph.plan)
    for group in graph.plan.kv_groups:
        for pod in graph.running(group.role):
            if metrics is not None:
                out.append(Want(pod.name, pod.port(SYSTEM_PORT_ENV, SYSTEM_PORT), engine_metrics(metrics)))
            if group.path.nixl_telemetry:
                out.append(Want(pod.name, pod.port(NIXL_PORT_ENV, NIXL_TELEMETRY_PORT), NIXL_METRICS))
    if graph.plan.expects_kv_events:
        out += [Want(p.name, graph.plan.spec.frontend.http_port, ROUTER_METRICS) for p in graph.running(FRONTEND)]
    return out


def _group_findings(graph: GraphPods, group: GroupPlan) -> list[Finding]:
    spec, namespace = graph.plan.spec, graph.plan.namespace
    evidence = graph.evidence.get(group.role, ())
    if not evidence:
        return []
    out: list[Finding] = []
    if group.path.rdma:
        out += [backend_finding(spec, group, evidence, namespace), plugin_finding(spec, group, evidence, namespace)]
    out.append(library_path_finding(group, evidence))
    if group.group.multinode:
        out.append(nccl_finding(group, evidence))
    return out


def _traffic_findings(graph: GraphPods, readings: Readings | None, why_unread: str) -> list[Finding]:
    """Transfers and failures where KV moves and a worker runs, the router's KV events where it
    listens for them, decode hits where decode workers run; None readings: they could not be read."""
    plan = graph.plan
    kv_pods = [p.name for g in plan.kv_groups for p in graph.running(g.role)]
    engine_pods = kv_pods if verified_metrics(plan) is not None else []
    nixl_pods = [p.name for g in plan.kv_groups if g.path.nixl_telemetry for p in graph.running(g.role)]
    frontends = [p.name for p in graph.running(FRONTEND)]
    checks: list[tuple[str, Callable[[Readings], Finding]]] = []
    if kv_pods:
        checks.append(("KV transfers", lambda r: transfers_finding(plan, engine_pods, nixl_pods, r)))
        checks.append(("failed transfers", lambda r: failures_finding(plan, engine_pods, r)))
    if plan.expects_kv_events and frontends:
        checks.append(("router KV events", lambda r: kv_events_finding(plan, frontends, r)))
    out = [finding(readings) if readings is not None else
           Finding(check, Status.DEGRADED, f"not read: {why_unread}", causes.unreadable("the counters"))
           for check, finding in checks]
    decode = [ev for g in plan.kv_groups if g.role == "decode" for ev in graph.evidence.get(g.role, ())]
    if decode:
        out.append(decode_hits_finding(plan.spec, decode))
    return out


def section(graph: GraphPods, readings: Readings | None, why_unread: str = "") -> Section:
    plan = graph.plan
    sel = selector(plan.name)
    findings = [pods_finding(role, expected, [p for p in graph.pods if p.role == role], plan.namespace, sel)
                for role, expected in plan.expected_pods.items()]
    for group in plan.groups:
        if not group.path.efa:
            findings.append(Finding(f"{group.role} data path", Status.OK, f"no EFA: {group.path.reason} (not checked)"))
            continue
        findings += _group_findings(graph, group)
    findings += _traffic_findings(graph, readings, why_unread)
    return Section(title(plan), findings)


def title(plan: GraphPlan) -> str:
    return f"graph {plan.name} ({plan.spec.backend} {plan.spec.mode}, namespace {plan.namespace})"


@contextmanager
def metrics_source(cluster: Cluster, prometheus_url: str | None, *, fetch: Fetch, deadline: Deadline,
                   settings: Settings, notes: list[Section]) -> Iterator[tuple[Source, Source | None]]:
    """(the source to read first, the one to fall back to): the stack's Prometheus when it has one,
    else the pods. A Prometheus that cannot be reached is reported in `notes`, and the pods are read."""
    direct = DirectSource(cluster, fetch=fetch, deadline=deadline, timeout=settings.http_timeout,
                          sample_seconds=settings.sample_seconds)
    if prometheus_url is None:
        yield direct, None
        return
    with ExitStack() as stack:
        try:
            service = PrometheusService.from_url(prometheus_url)
            port = stack.enter_context(cluster.port_forward(service.namespace, f"svc/{service.service}", service.port))
        except (SourceError, DiscoveryError) as error:
            notes.append(prometheus_note(prometheus_url, str(error)))
            yield direct, None
            return
        yield PrometheusSource(f"http://127.0.0.1:{port}", fetch=fetch, deadline=deadline,
                               timeout=settings.http_timeout,
                               label=f"Prometheus svc/{service.service} in {service.namespace}"), direct


def prometheus_note(url: str, error: str) -> Section:
    return Section(f"Prometheus {url}", [Finding(
        "reachable", Status.DEGRADED, f"no: {error}; the pods' own /metrics were read instead",
        "the Prometheus pods are down or not ready, or the Service was renamed: `kubectl get pods` in its "
        "namespace; the observability stack's own checks (docs/observability.md)")])


def read_counters(graphs: Sequence[GraphPods], first: Source, fallback: Source | None, url: str | None,
                  notes: list[Section]) -> tuple[dict[str, Readings], str]:
    """namespace -> what was read for every graph's wants there (nothing to read: empty readings), and
    why the rest could not be read ("" when all was). A first source that fails is reported in
    `notes` and the fallback reads instead."""
    by_namespace: dict[str, list[Want]] = {}
    for graph in graphs:
        by_namespace.setdefault(graph.plan.namespace, []).extend(wants(graph))
    out = {ns: Readings(source="nothing to read", window="") for ns, wanted in by_namespace.items() if not wanted}
    source = first
    for namespace, wanted in by_namespace.items():
        if not wanted:
            continue
        try:
            try:
                out[namespace] = source.read(namespace, wanted)
            except SourceError as error:
                if fallback is None:
                    raise
                notes.append(prometheus_note(url or "", str(error)))
                source, fallback = fallback, None
                out[namespace] = source.read(namespace, wanted)
        except (SourceError, OutOfTime) as error:
            return out, str(error)
    return out, ""


def check(plans: Sequence[GraphPlan], cluster: Cluster, *, prometheus_url: str | None, fetch: Fetch,
          deadline: Deadline, settings: Settings) -> list[Section]:
    """One section per graph, in the plans' order, after any note on the metrics source."""
    sections: dict[str, Section] = {}
    graphs: list[GraphPods] = []
    for plan in plans:
        why = plan.skipped()
        if why:
            sections[plan.name] = Section(title(plan), [], note=why)
            continue
        try:
            graphs.append(read_graph(cluster, plan, deadline, settings))
        except (DiscoveryError, OutOfTime) as error:
            sections[plan.name] = Section(title(plan), [Finding(
                "pods", Status.FAILED, f"not listed: {error}", causes.unreadable("the graph's pods"))])
    notes: list[Section] = []
    readings: dict[str, Readings] = {}
    why_unread = ""
    if any(wants(g) for g in graphs):
        with metrics_source(cluster, prometheus_url, fetch=fetch, deadline=deadline, settings=settings,
                            notes=notes) as (first, fallback):
            readings, why_unread = read_counters(graphs, first, fallback, prometheus_url, notes)
    else:
        readings = {g.plan.namespace: Readings(source="nothing to read", window="") for g in graphs}
    for graph in graphs:
        sections[graph.plan.name] = section(graph, readings.get(graph.plan.namespace), why_unread)
    return notes + [sections[p.name] for p in plans]
