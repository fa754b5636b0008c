"""Where `verify --dataplane` reads its counters: the stack's Prometheus, or the pods themselves.

- `PrometheusSource`: the HTTP API (``/api/v1/query``) of the stack's Prometheus, reached through
  ``kubectl port-forward svc/<service>`` (the service, namespace and port come from the stack's
  ``observability.prometheusUrl``). For each counter, its current total and
  ``increase(...[5m])``: Prometheus scrapes every 30 s (kube-prometheus-stack's default, which the
  stack keeps), so two instant queries a few seconds apart would mostly see the same scrape, where
  five minutes hold several.
- `DirectSource`: each pod's own ``/metrics`` page through ``kubectl port-forward pod/<name>``,
  read twice `sample_seconds` apart; the increase is the difference (a counter that went down was
  reset by a restart, and its second value is all it rose).

Every HTTP request has a timeout, capped by the run's deadline.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Protocol

from stacks.ops.metrics import MetricsError, Sample, parse_exposition, parse_query_answer
from stacks.verify.dataplane.cluster import Cluster, Deadline
from stacks.verify.dataplane.readings import Metric, Reading, Readings, Want
from stacks.verify.discovery import DiscoveryError

PROMETHEUS_WINDOW = "5m"
MAX_PAGE = 64 << 20  # bytes read from one answer at most

Fetch = Callable[[str, float], str]


class SourceError(Exception):
    """The source cannot be read at all."""


def http_get(url: str, timeout: float) -> str:
    """The body of a GET; raises OSError (URLError, HTTPError, timeouts) when there is none."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body: bytes = response.read(MAX_PAGE)
    return body.decode("utf-8", "replace")


def _error(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__


class Source(Protocol):
    def read(self, namespace: str, wants: Sequence[Want]) -> Readings: ...


@dataclass(frozen=True)
class PrometheusService:
    """The Service behind the stack's Prometheus URL (``http://<service>.<namespace>.svc...:<port>``)."""

    service: str
    namespace: str
    port: int

    @staticmethod
    def from_url(url: str) -> PrometheusService:
        parsed = urllib.parse.urlsplit(url)
        parts = (parsed.hostname or "").split(".")
        if len(parts) < 3 or parts[2] != "svc":
            raise SourceError(f"{url} does not name an in-cluster Service (http://<service>.<namespace>.svc...)")
        return PrometheusService(parts[0], parts[1], parsed.port or 80)


def _pod_regex(pods: Sequence[str]) -> str:
    """An RE2 alternation of pod names, written as a PromQL string body (a dot is a literal dot)."""
    return "|".join(p.replace(".", "\\\\.") for p in sorted(set(pods)))


def _add(values: dict[tuple[str, str, str], list[float]], key: tuple[str, str, str], index: int,
         value: float) -> None:
    values.setdefault(key, [0.0, 0.0])[index] += value


class PrometheusSource:
    def __init__(self, base_url: str, *, fetch: Fetch, deadline: Deadline, timeout: float,
                 label: str = "Prometheus") -> None:
        self.base_url = base_url.rstrip("/")
        self.fetch = fetch
        self.deadline = deadline
        self.timeout = timeout
        self.label = label

    def query(self, promql: str) -> list[Sample]:
        url = f"{self.base_url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        try:
            return parse_query_answer(self.fetch(url, self.deadline.cap(self.timeout)))
        except urllib.error.HTTPError as error:
            # Prometheus answers a bad query with 400 and its reason in the JSON body
            try:
                body = error.read().decode("utf-8", "replace")
                parse_query_answer(body)
            except (MetricsError, OSError) as inner:
                raise SourceError(f"query {promql!r}: {_error(error)}: {inner}") from None
            raise SourceError(f"query {promql!r}: {_error(error)}") from None
        except (OSError, MetricsError) as error:
            raise SourceError(f"query {promql!r}: {_error(error)}") from None

    def read(self, namespace: str, wants: Sequence[Want]) -> Readings:
        pods_of: dict[Metric, list[str]] = {}
        for want in wants:
            for metric in want.metrics:
                pods_of.setdefault(metric, []).append(want.pod)
        values: dict[tuple[str, str, str], list[float]] = {}
        for metric, pods in pods_of.items():
            selector = f'{metric.name}{{namespace="{namespace}",pod=~"{_pod_regex(pods)}"}}'
            by = ", ".join(["pod", *([metric.by] if metric.by else [])])
            for index, expr in enumerate((selector, f"increase({selector}[{PROMETHEUS_WINDOW}])")):
                for sample in self.query(f"sum by ({by}) ({expr})"):
                    label = sample.labels.get(metric.by, "") if metric.by else ""
                    _add(values, (sample.labels.get("pod", ""), metric.name, label), index, sample.value)
        return Readings(source=self.label, window=f"the last {PROMETHEUS_WINDOW}",
                        values={k: Reading(v[0], max(v[1], 0.0)) for k, v in values.items()})


def _page_values(samples: Sequence[Sample], metrics: Sequence[Metric]) -> dict[tuple[str, str], float]:
    """(metric, `by` value) -> the sum of the page's samples of the wanted metrics."""
    out: dict[tuple[str, str], float] = {}
    names = {m.name: m for m in metrics}
    for sample in samples:
        metric = names.get(sample.name)
        if metric is None or math.isnan(sample.value):
            continue
        key = (metric.name, sample.labels.get(metric.by, "") if metric.by else "")
        out[key] = out.get(key, 0.0) + sample.value
    return out


class DirectSource:
    def __init__(self, cluster: Cluster, *, fetch: Fetch, deadline: Deadline, timeout: float,
                 sample_seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.cluster = cluster
        self.fetch = fetch
        self.deadline = deadline
        self.timeout = timeout
        self.sample_seconds = sample_seconds
        self.sleep = sleep

    @contextmanager
    def _forwards(self, namespace: str, wants: Sequence[Want], failed: dict[Want, str]) -> Iterator[dict[Want, int]]:
        with ExitStack() as stack:
            ports: dict[Want, int] = {}
            for want in wants:
                try:
                    self.deadline.cap(self.timeout)
                    forward = self.cluster.port_forward(namespace, f"pod/{want.pod}", want.port)
                    ports[want] = stack.enter_context(forward)
                except DiscoveryError as error:
                    failed[want] = str(error)
            yield ports

    def _sample(self, ports: dict[Want, int], failed: dict[Want, str]) -> dict[Want, dict[tuple[str, str], float]]:
        out: dict[Want, dict[tuple[str, str], float]] = {}
        for want, local in ports.items():
            if want in failed:
                continue
            try:
                page = self.fetch(f"http://127.0.0.1:{local}/metrics", self.deadline.cap(self.timeout))
                out[want] = _page_values(parse_exposition(page), want.metrics)
            except (OSError, MetricsError) as error:
                failed[want] = f"http://<pod>:{want.port}/metrics: {_error(error)}"
        return out

    def read(self, namespace: str, wants: Sequence[Want]) -> Readings:
        failed: dict[Want, str] = {}
        with self._forwards(namespace, wants, failed) as ports:
            first = self._sample(ports, failed)
            if ports:
                self.sleep(max(0.0, min(self.sample_seconds, self.deadline.remaining())))
            second = self._sample(ports, failed)
        unreachable: dict[str, str] = {}
        for want, why in failed.items():
            unreachable[want.pod] = f"{unreachable[want.pod]}; {why}" if want.pod in unreachable else why
        values: dict[tuple[str, str, str], Reading] = {}
        for want, page in second.items():
            before = first.get(want, {})
            for (name, label), now in page.items():
                then = before.get((name, label), 0.0)
                values[(want.pod, name, label)] = Reading(now, now - then if now >= then else now)
        return Readings(source="the pods' own /metrics", window=f"{self.sample_seconds:g} s",
                        values=values, unreachable=unreachable)
