"""Grafana datasource links between traces and logs.

Dynamo's log records and its spans carry the same trace id: Loki keeps it as the structured
metadata `trace_id` of each OTLP log record (the collector ships them), and Tempo indexes the span.
A derived field on the Loki datasource turns `trace_id` into a link to the trace; the Tempo
datasource's trace-to-logs query finds a trace's log lines by that field. `$$` escapes `$` from
Grafana's environment expansion of provisioned datasources.
"""

from __future__ import annotations

from typing import Any

LOKI_DATASOURCE_UID = "loki"
TRACE_ID_FIELD = "trace_id"
# How far around a span's start and end the trace-to-logs query looks (upstream Dynamo's setting).
LOG_WINDOW = ("-1h", "1h")


def loki_datasource(url: str, tempo_uid: str) -> dict[str, Any]:
    """Loki in Grafana (namespace-relative `url`), with `trace_id` linked to the trace in Tempo."""
    return {
        "name": "Loki",
        "type": "loki",
        "uid": LOKI_DATASOURCE_UID,
        "access": "proxy",
        "url": url,
        "isDefault": False,
        "editable": False,
        "jsonData": {
            "maxLines": 1000,
            "derivedFields": [{
                "name": "TraceID",
                "matcherType": "label",  # a label or structured-metadata key, not a regex over the line
                "matcherRegex": TRACE_ID_FIELD,
                "datasourceUid": tempo_uid,
                "url": "$${__value.raw}",
                "urlDisplayLabel": "Open trace",
            }],
        },
    }


def traces_to_logs() -> dict[str, Any]:
    """The Tempo datasource's `tracesToLogsV2`: every log line of the trace, from any service."""
    start, end = LOG_WINDOW
    return {
        "datasourceUid": LOKI_DATASOURCE_UID,
        "spanStartTimeShift": start,
        "spanEndTimeShift": end,
        "filterByTraceID": False,
        "filterBySpanID": False,
        "customQuery": True,
        "query": f'{{service_name=~".+"}} | {TRACE_ID_FIELD} = "$${{__trace.traceId}}"',
    }
