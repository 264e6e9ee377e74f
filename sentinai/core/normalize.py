"""Raw exception (either naming convention) -> `NormalizedException`, or `RejectedInput`."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Container, Mapping
from datetime import UTC, datetime
from typing import Any

from sentinai.core.input_limits import InputLimitError, check_value, in_utc_range
from sentinai.core.models import NormalizedException

MAX_ID_LENGTH = 200
_TYPE_SEPARATORS = re.compile(r"[\s\-.]+")


class RejectedInput(Exception):
    """An input that cannot be processed; `path` names the offending field ("" = whole input)."""

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


def _field(raw: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        value = raw.get(name)
        if value is not None:
            return value
    return None


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def exception_id_for(tenant_id: str, source_system: str | None, payload: Mapping[str, Any], *,
                     exception_type: str | None = None, occurred_at: datetime | None = None) -> str:
    """Deterministic id of an exception sent without one, so a re-send is the same exception:
    from its tenant, source, payload, and its type and time when it gives them (two exceptions of
    one source with the same payload but another type or time are two exceptions)."""
    parts: list[Any] = [tenant_id, source_system, payload]
    if exception_type is not None or occurred_at is not None:
        parts += [exception_type, occurred_at.isoformat() if occurred_at is not None else None]
    digest = hashlib.sha256(_canonical_json(parts).encode()).hexdigest()
    return f"auto-{digest[:32]}"


def _timestamp(value: Any, now: datetime) -> datetime:
    if value is None:
        return now
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise RejectedInput(f"timestamp {value!r} is out of range", "occurred_at") from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RejectedInput(
                f"{value[:60]!r} is not an ISO 8601 timestamp", "occurred_at"
            ) from None
    else:
        raise RejectedInput(
            f"timestamp must be an ISO 8601 string or epoch number, got {type(value).__name__}",
            "occurred_at",
        )
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    if not in_utc_range(moment):
        raise RejectedInput(f"timestamp {str(value)[:60]!r} is out of range: it must lie between "
                            "years 1 and 9999 in UTC", "occurred_at")
    return moment


def _optional_text(raw: Mapping[str, Any], path: str, *names: str) -> str | None:
    value = _field(raw, path, *names)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RejectedInput(f"must be a string, got {type(value).__name__}", path)
    return value.strip() or None


def exception_type_name(value: str) -> str:
    """An exception type as it is stored: spaces, dashes and dots as ``_``, in capitals
    (``settlement-fail`` is ``SETTLEMENT_FAIL``); the API's ``type`` filter reads it so too."""
    return _TYPE_SEPARATORS.sub("_", value).upper()


def _exception_type(raw: Mapping[str, Any]) -> str | None:
    value = _optional_text(raw, "exception_type", "exceptionType")
    return exception_type_name(value) if value else None


def _size(raw: Mapping[str, Any]) -> int:
    return len(_canonical_json(raw).encode())


def normalize(
    raw: Mapping[str, Any],
    *,
    now: datetime,
    known_tenants: Container[str] | None = None,
    max_bytes: int = 256_000,
    raw_size: int | None = None,
    key_tenant: str | None = None,
    within_limits: bool = False,
) -> NormalizedException:
    """Accept snake_case or the seed's camelCase names; reject what cannot be processed or kept
    (:mod:`sentinai.core.input_limits`: the same rules as the HTTP ingest's).

    ``within_limits`` says the input limits were checked already (an exception read back from
    PostgreSQL passed them when it came in): the walk is skipped, a fifth of this function's cost.

    ``key_tenant`` is the tenant the message's key names (None: no key). A body naming another
    tenant is refused rather than taken under either name: the key chose the partition, and so
    the tables the exception is decided with, while the body chose the packs and the rows; a
    producer that disagrees with itself is a bug to show, not to guess around.
    """
    if not isinstance(raw, Mapping):
        raise RejectedInput(f"an exception must be a JSON object, got {type(raw).__name__}")
    if raw_size is not None and raw_size > max_bytes:
        raise RejectedInput(f"message of {raw_size} bytes is over the limit of {max_bytes}")
    if not within_limits:
        try:
            check_value(dict(raw))
        except InputLimitError as err:
            raise RejectedInput(err.reason, err.path) from None
    size = raw_size if raw_size is not None else _size(raw)
    if size > max_bytes:
        raise RejectedInput(f"message of {size} bytes is over the limit of {max_bytes}")
    tenant_id = _field(raw, "tenant_id", "tenantId")
    if not isinstance(tenant_id, str) or not tenant_id.strip():
        raise RejectedInput("a tenant id is required", "tenant_id")
    tenant_id = tenant_id.strip()
    if key_tenant is not None and key_tenant != tenant_id:
        raise RejectedInput(f"the message key names tenant {key_tenant[:100]!r} but the body names "
                            f"{tenant_id[:100]!r}", "tenant_id")
    if known_tenants is not None and tenant_id not in known_tenants:
        raise RejectedInput(f"unknown tenant {tenant_id[:100]!r}", "tenant_id")
    payload = _field(raw, "payload", "rawPayload")
    if not isinstance(payload, dict):
        got = "nothing" if payload is None else type(payload).__name__
        raise RejectedInput(f"payload must be a JSON object, got {got}", "payload")
    context = _field(raw, "context", "normalizedContext")
    if context is None:
        context = {}
    elif not isinstance(context, dict):
        raise RejectedInput(f"context must be a JSON object, got {type(context).__name__}", "context")
    source_system = _optional_text(raw, "source_system", "sourceSystem")
    given_at = _field(raw, "occurred_at", "occurredAt", "timestamp")
    occurred_at = _timestamp(given_at, now)
    exception_type = _exception_type(raw)
    exception_id = _field(raw, "exception_id", "exceptionId")
    if isinstance(exception_id, int) and not isinstance(exception_id, bool):
        exception_id = str(exception_id)
    if exception_id is None or (isinstance(exception_id, str) and not exception_id.strip()):
        exception_id = exception_id_for(tenant_id, source_system, payload, exception_type=exception_type,
                                        occurred_at=None if given_at is None else occurred_at)
    elif not isinstance(exception_id, str) or len(exception_id) > MAX_ID_LENGTH:
        raise RejectedInput(
            f"must be a string of at most {MAX_ID_LENGTH} characters", "exception_id"
        )
    return NormalizedException(
        tenant_id=tenant_id,
        exception_id=exception_id.strip(),
        source_system=source_system,
        exception_type=exception_type,
        occurred_at=occurred_at,
        payload=payload,
        context=context,
    )
