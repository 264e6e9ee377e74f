"""The worker's Prometheus metrics (names prefixed ``sentinai_``, labelled by tenant)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PROCESSED = Counter("sentinai_exceptions_processed_total", "Input messages handled by intake",
                           ["outcome"])
PROCESSED_SAMPLE = "sentinai_exceptions_processed_total"
"""The sample name of EVENTS_PROCESSED, to read it back from the registry (the progress log)."""
DECISIONS = Counter("sentinai_decisions_total", "Decision records published", ["tenant", "stage", "source"])
DLQ_MESSAGES = Counter("sentinai_dlq_messages_total", "Messages sent to the dead-letter topic", ["stage"])
STAGE_LATENCY = Histogram("sentinai_stage_seconds", "Time spent per pipeline stage", ["stage"],
                          buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
BACKPRESSURE = Gauge("sentinai_backpressure_level", "0 NORMAL, 1 WARNING, 2 CRITICAL, 3 OVERLOADED",
                     ["tenant"])
QUOTA_TOKENS = Gauge("sentinai_quota_tokens", "Intake tokens left in the tenant's bucket", ["tenant"])
QUOTA_DEFERRED = Counter("sentinai_quota_deferred_total", "Exceptions deferred by the intake quota", ["tenant"])
PACKS_LEFT_OUT = Gauge("sentinai_packs_left_out", "Issues of active packs that do not validate (their tenants "
                       "are not served until a valid version is activated)")
DEFERRED_WAITING = Gauge("sentinai_deferred_waiting", "Deferred messages this worker holds until their time")
DEFERRED_FULL = Gauge("sentinai_deferred_full", "1 while the deferred agent holds SENTINAI_DEFERRED_CAPACITY "
                      "messages and reads no further deferred input")
TOOLS_WAITING = Gauge("sentinai_tools_waiting", "Tool and notification requests this worker holds in their "
                      "tenants' lanes, not yet handled")
TOOLS_FULL = Gauge("sentinai_tools_full", "1 while the tools agent holds SENTINAI_TOOLS_CAPACITY requests "
                   "and reads no further tool requests")
SINK_BATCH = Histogram("sentinai_sink_batch_size", "Events per sink batch",
                       buckets=(1, 10, 50, 100, 250, 500, 1000, 2500))
SINK_PENDING = Gauge("sentinai_sink_pending_events", "Events published but not yet stored in Postgres")
DELIVERY_FAILURES = Counter("sentinai_delivery_failures_total",
                            "Messages the worker's producer accepted but could not deliver (the worker stops "
                            "without committing)", ["topic"])
SINK_ERRORS = Counter("sentinai_sink_errors_total", "Failed sink batch writes (retried)")
NOTIFICATIONS = Counter("sentinai_notifications_total", "Playbook and policy notifications", ["tenant", "channel"])
NOTIFICATION_FAILURES = Counter("sentinai_notification_failures_total", "Notifications that could not be delivered",
                                ["tenant", "channel"])
TOOL_CALLS = Counter("sentinai_tool_calls_total", "Tool calls by outcome", ["tenant", "tool", "status"])
EXCEPTION_STATES = Gauge("sentinai_exception_states", "Exception states held for the partitions this worker owns")
EXCEPTION_STATES_FORGOTTEN = Counter("sentinai_exception_states_forgotten_total",
                                     "Exception states dropped once settled and past the dedup window", ["tenant"])
RETENTION_DELETED = Counter("sentinai_retention_deleted_total",
                            "Rows deleted by the retention job (the tenant's dataTTL)", ["tenant", "table"])
