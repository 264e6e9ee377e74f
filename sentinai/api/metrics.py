"""Prometheus metrics of the web process (names prefixed ``sentinai_``; tenant as a label).

They live in the default registry, so ``/metrics`` also shows whatever else runs in the process
(the workers' metrics under ``sentinai dev``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("sentinai_http_requests_total", "HTTP requests served by the web view",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("sentinai_http_request_duration_seconds", "HTTP request latency", ["method", "route"])
INGESTED = Counter("sentinai_web_ingested_total", "Exceptions posted to the web API, by outcome",
                   ["tenant", "outcome"])
COMMANDS = Counter("sentinai_web_commands_total", "Commands produced by the web API", ["tenant", "command"])
COPILOT_LLM_QUOTA = Counter("sentinai_web_copilot_llm_quota_total",
                            "Copilot questions answered from templates because the tenant's "
                            "llmTokensPerMinute was spent", ["tenant"])
DLQ_REPLAYS = Counter("sentinai_web_dlq_replays_total", "Dead letters replayed through the web API", ["tenant"])
SSE_SUBSCRIBERS = Gauge("sentinai_web_sse_subscribers", "Open decision-stream (SSE) connections")
FEED_RECORDS = Counter("sentinai_web_decision_feed_records_total", "Records read by the web's decision feed",
                       ["outcome"])
DECISIONS_SEEN = Counter("sentinai_web_decisions_total",
                         "Decisions seen on the decisions topic by the web, by outcome and source",
                         ["tenant", "decision", "source"])
FEED_LAG = Gauge("sentinai_web_decision_feed_lag", "Consumer lag of the web's decision feed (records)")
DLQ_ENTRIES = Gauge("sentinai_dlq_entries", "Dead letters in Postgres, by tenant and status",
                    ["tenant", "status"])
PENDING_APPROVALS = Gauge("sentinai_pending_approvals", "Pending approvals, by tenant", ["tenant"])
