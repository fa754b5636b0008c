"""The Dynamo dashboards: the frontend (per model) and the workers (per worker group)."""

from __future__ import annotations

from components.observability.dashboards.builder import RATE, Dashboard, Panel, Query, Row, Threshold, Variable
from components.observability.metrics_catalog import bucket, metric

QUANTILES = (0.5, 0.95, 0.99)

# Frontend series are filtered by the namespace and model variables.
_FRONT = 'namespace=~"$namespace", model=~"$model"'
# Worker series by namespace and worker group (the `dynamo_component` label).
_WORK = 'namespace=~"$namespace", dynamo_component=~"$group"'


def _rate(name: str, selector: str, by: str, extra: str = "") -> str:
    matchers = f"{selector}, {extra}" if extra else selector
    return f"sum by ({by}) (rate({metric(name)}{{{matchers}}}[{RATE}]))"


def _quantiles(family: str, selector: str, by: str, legend: str) -> tuple[Query, ...]:
    return tuple(Query(
        f"histogram_quantile({q}, sum by ({by}, le) (rate({bucket(family)}{{{selector}}}[{RATE}])))",
        f"p{round(q * 100)} {legend}") for q in QUANTILES)


def _mean(family: str, selector: str, by: str) -> str:
    return (f"sum by ({by}) (rate({metric(family + '_sum')}{{{selector}}}[{RATE}])) / "
            f"sum by ({by}) (rate({metric(family + '_count')}{{{selector}}}[{RATE}]))")


def frontend_dashboard(ttft_slo_seconds: float, error_ratio: float) -> Dashboard:
    requests = "dynamo_frontend_requests_total"
    errors = _rate(requests, _FRONT, "model", 'status="error"')
    error_share = f"{errors} / {_rate(requests, _FRONT, 'model')}"
    ttft_p95 = (f"histogram_quantile(0.95, sum by (model, le) "
                f"(rate({bucket('dynamo_frontend_time_to_first_token_seconds')}{{{_FRONT}}}[{RATE}])))")
    overview = Row("Overview", (
        Panel("Requests per second", (Query(f"sum({_rate(requests, _FRONT, 'model')})", "all models"),),
              unit="reqps", kind="stat", width=6, height=5),
        Panel("Error ratio", (Query(f"max({error_share})", "worst model"),), unit="percentunit",
              kind="stat", width=6, height=5, thresholds=(Threshold(error_ratio, "red"),),
              description="Share of requests that ended with status=error, worst model."),
        Panel("Time to first token, p95", (Query(f"max({ttft_p95})", "worst model"),), unit="s",
              kind="stat", width=6, height=5, thresholds=(Threshold(ttft_slo_seconds, "red"),),
              description=f"Red above the SLO of {ttft_slo_seconds:g} s that the TTFT alert uses."),
        Panel("Active requests", (Query(f"sum({metric('dynamo_frontend_active_requests')}{{{_FRONT}}})",
                                        "all models"),),
              kind="stat", width=6, height=5),
    ))
    traffic = Row("Traffic per model", (
        Panel("Request rate", (Query(_rate(requests, _FRONT, "model"), "{{model}}"),), unit="reqps"),
        Panel("Error ratio", (Query(error_share, "{{model}}"),), unit="percentunit",
              thresholds=(Threshold(error_ratio, "red"),)),
        Panel("Active requests", (Query(f"sum by (model) ({metric('dynamo_frontend_active_requests')}"
                                        f"{{{_FRONT}}})", "{{model}}"),)),
        Panel("Requests in frontend stages", (Query(
            f"sum by (stage) ({metric('dynamo_frontend_stage_requests')}"
            f'{{namespace=~"$namespace", stage=~"preprocess|route|dispatch"}})', "{{stage}}"),),
              description="Requests the frontend is still preprocessing, routing or dispatching (all models: "
                          "the stage gauge has no model label); Dynamo 1.4's replacement for the queued-requests "
                          "gauge."),
        Panel("Output tokens per second", (Query(_rate("dynamo_frontend_output_tokens_total", _FRONT, "model"),
                                                 "{{model}}"),)),
        Panel("Mean input / output sequence length", (
            Query(_mean("dynamo_frontend_input_sequence_tokens", _FRONT, "model"), "input {{model}}"),
            Query(_mean("dynamo_frontend_output_sequence_tokens", _FRONT, "model"), "output {{model}}"),
        )),
    ))
    def per_model(family: str) -> tuple[Query, ...]:
        return _quantiles(family, _FRONT, "model", "{{model}}")

    latency = Row("Latency per model", (
        Panel("Time to first token", per_model("dynamo_frontend_time_to_first_token_seconds"), unit="s",
              thresholds=(Threshold(ttft_slo_seconds, "red"),)),
        Panel("Inter-token latency", per_model("dynamo_frontend_inter_token_latency_seconds"), unit="s"),
        Panel("Request duration", per_model("dynamo_frontend_request_duration_seconds"), unit="s", width=24),
    ))
    return Dashboard(
        uid="dynamo-frontend",
        title="Dynamo / Frontend",
        description="The OpenAI-compatible frontend: traffic, errors and token latency per model.",
        variables=(
            Variable("namespace", "Namespace", "dynamo_frontend_requests_total", "namespace"),
            Variable("model", "Model", 'dynamo_frontend_requests_total{namespace=~"$namespace"}', "model"),
        ),
        rows=(overview, traffic, latency),
    )


def workers_dashboard() -> Dashboard:
    group = "dynamo_namespace, dynamo_component"
    legend = "{{dynamo_namespace}}/{{dynamo_component}}"
    queues = Row("Queues", (
        Panel("Router queue per worker type", (Query(
            f"sum by (worker_type) ({metric('dynamo_frontend_router_queue_pending_requests')}"
            f'{{namespace=~"$namespace"}})', "{{worker_type}}"),),
            description="Requests the frontend's router holds back per worker type (prefill, decode)."),
        Panel("In-flight requests per worker group", (Query(
            f"sum by ({group}) ({metric('dynamo_component_inflight_requests')}{{{_WORK}}})", legend),)),
        Panel("Queued prefill tokens per worker", (Query(
            f"sum by (worker_id) ({metric('dynamo_frontend_worker_active_prefill_tokens')}"
            f'{{namespace=~"$namespace"}})', "worker {{worker_id}}"),),
            description="Prefill tokens the router has sent to each worker and not yet seen finished."),
        Panel("Active decode blocks per worker", (Query(
            f"sum by (worker_id) ({metric('dynamo_frontend_worker_active_decode_blocks')}"
            f'{{namespace=~"$namespace"}})', "worker {{worker_id}}"),)),
    ))
    kv_cache = Row("KV cache", (
        Panel("KV cache usage per worker group", (
            Query(f"avg by ({group}) ({metric('dynamo_component_gpu_cache_usage_percent')}{{{_WORK}}})",
                  f"mean {legend}"),
            Query(f"max by ({group}) ({metric('dynamo_component_gpu_cache_usage_percent')}{{{_WORK}}})",
                  f"fullest {legend}"),
        ), unit="percentunit", minimum=0, maximum=1, thresholds=(Threshold(0.9, "orange"),)),
        Panel("KV cache blocks per worker group", (Query(
            f"sum by ({group}) ({metric('dynamo_component_total_blocks')}{{{_WORK}}})", legend),)),
    ))
    throughput = Row("Requests", (
        Panel("Request rate per worker group", (Query(_rate("dynamo_component_requests_total", _WORK, group),
                                                      legend),), unit="reqps"),
        Panel("Errors per second per worker group", (Query(_rate("dynamo_component_errors_total", _WORK, group),
                                                           legend),), unit="reqps"),
        Panel("Request duration per worker group",
              _quantiles("dynamo_component_request_duration_seconds", _WORK, group, legend), unit="s", width=24),
    ))
    return Dashboard(
        uid="dynamo-workers",
        title="Dynamo / Workers",
        description="Prefill and decode workers: queues, KV-cache usage and request handling per worker group.",
        variables=(
            Variable("namespace", "Namespace", "dynamo_component_requests_total", "namespace"),
            Variable("group", "Worker group", 'dynamo_component_requests_total{namespace=~"$namespace"}',
                     "dynamo_component"),
        ),
        rows=(queues, kv_cache, throughput),
    )
