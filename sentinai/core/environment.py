"""The mapping conditions are evaluated against, built once per exception."""

from __future__ import annotations

from typing import Any

from sentinai.core.models import NormalizedException

NO_SLA_TICK: dict[str, bool] = {"imminent": False, "expired": False}
"""`sla` when an exception is decided; the SLA timer re-matches playbooks with these set
(`sentinai.core.sla_plans.sla_plans`)."""


def condition_env(exception: NormalizedException) -> dict[str, Any]:
    """Roots a condition can name; `exceptionType` and `severity` are filled in by triage."""
    return {
        "tenantId": exception.tenant_id,
        "exceptionId": exception.exception_id,
        "sourceSystem": exception.source_system,
        "exceptionType": exception.exception_type,
        "severity": None,
        "occurredAt": exception.occurred_at.isoformat(),
        "payload": exception.payload,
        "context": exception.context,
        "sla": NO_SLA_TICK,
    }
