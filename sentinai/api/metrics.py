"""Prometheus metrics of the web process (names prefixed ``sentinai_``; tenant as a label).

They live in :data:`WEB_REGISTRY`, which the web's ``/metrics`` serves with the process's own
``process_*`` and ``python_*`` series: only what the web measures. The worker's metrics
(``sentinai/metrics.py``, in the default registry) are imported by modules the web shares with the
worker, but they are the worker's to serve, on its own port (``SENTINAI_WORKER_METRICS_PORT``;
``sentinai dev`` runs the worker and the web as two processes and prints both URLs). Served from the
default registry, the web showed them at zero, as if no worker were doing anything."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
)

WEB_REGISTRY = CollectorRegistry(auto_describe=True)
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    WEB_REGISTRY.register(_collector)

HTTP_REQUESTS = Counter("sentinai_http_requests_total", "HTTP requests served by the web view",
                        ["method", "route", "status"], registry=WEB_REGISTRY)
HTTP_LATENCY = Histogram("sentinai_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                         registry=WEB_REGISTRY)
INGESTED = Counter("sentinai_web_ingested_total", "Exceptions posted to the web API, by outcome",
                   ["tenant", "outcome"], registry=WEB_REGISTRY)
COMMANDS = Counter("sentinai_web_commands_total", "Commands produced by the web API", ["tenant", "command"],
                   registry=WEB_REGISTRY)
COPILOT_LLM_QUOTA = Counter("sentinai_web_copilot_llm_quota_total",
                            "Copilot questions answered from templates because the tenant's "
                            "llmTokensPerMinute was spent", ["tenant"], registry=WEB_REGISTRY)
DLQ_REPLAYS = Counter("sentinai_web_dlq_replays_total", "Dead letters replayed through the web API", ["tenant"],
                      registry=WEB_REGISTRY)
SSE_SUBSCRIBERS = Gauge("sentinai_web_sse_subscribers", "Open decision-stream (SSE) connections",
                        registry=WEB_REGISTRY)
FEED_RECORDS = Counter("sentinai_web_decision_feed_records_total", "Records read by the web's decision feed",
                       ["outcome"], registry=WEB_REGISTRY)
DECISIONS_SEEN = Counter("sentinai_web_decisions_total",
                         "Decisions seen on the decisions topic by the web, by outcome and source",
                         ["tenant", "decision", "source"], registry=WEB_REGISTRY)
FEED_LAG = Gauge("sentinai_web_decision_feed_lag", "Consumer lag of the web's decision feed (records)",
                 registry=WEB_REGISTRY)
DLQ_ENTRIES = Gauge("sentinai_dlq_entries", "Dead letters in Postgres, by tenant and status",
                    ["tenant", "status"], registry=WEB_REGISTRY)
PENDING_APPROVALS = Gauge("sentinai_pending_approvals", "Pending approvals, by tenant", ["tenant"],
                          registry=WEB_REGISTRY)
