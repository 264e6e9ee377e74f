"""SLA clocks as pure functions: when an exception's SLA is imminent and when it expires.

The deadline comes from the exception's context (`slaDeadline`, an ISO-8601 time, or
`slaMinutesRemaining`) or else from its type's `slaMinutes` in the Domain Pack. The SLA is
*imminent* once the tenant's threshold share of the window has passed (default 80%). A faust
timer calls `on_sla_tick` for open clocks; each of SLAImminent and SLAExpired is emitted at most
once, and never for an exception that is already RESOLVED or CLOSED.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from sentinai.core.actor import TIMER
from sentinai.core.effects import EmitEvent, Notify
from sentinai.core.input_limits import in_utc_range
from sentinai.core.models import DecisionOutcome, NormalizedException, Status
from sentinai.core.packs import TenantPacks
from sentinai.core.packs.tenant import NotificationRoute
from sentinai.core.run import SlaPhase

DEFAULT_IMMINENT_SHARE = 0.8
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
"""A deadline past year 9999 (an exception of 9999-12-31 with a day's SLA) is this one; not
``datetime.max``, which asyncpg writes as PostgreSQL's ``infinity``."""
_INFINITIES = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))
"""The first and last microsecond of years 1-9999 in UTC: asyncpg writes them as PostgreSQL's
``-infinity`` and ``infinity`` (read back without a zone), so no deadline may be either."""
_DONE = frozenset({Status.RESOLVED, Status.CLOSED})


def _storable(moment: datetime) -> bool:
    """Whether the aware ``moment`` can be a deadline: a time of years 1-9999 in UTC that
    PostgreSQL keeps as itself (not one of :data:`_INFINITIES`)."""
    return in_utc_range(moment) and moment not in _INFINITIES


def _parse_deadline(value: object) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    # 0001-01-01T00:00:00Z is Go's zero time and .NET's DateTime.MinValue: a producer's "none"
    return parsed if _storable(parsed) else None


def _later(moment: datetime, minutes: float) -> datetime:
    """``moment`` plus ``minutes``, or the last moment of year 9999 (UTC) when that lies beyond it."""
    try:
        later = moment + timedelta(minutes=minutes)
    except OverflowError:
        return LATEST
    return later if _storable(later) else LATEST


def sla_window(exception: NormalizedException, exception_type: str, packs: TenantPacks,
               now: datetime) -> tuple[datetime, datetime] | None:
    """(start, deadline) of the SLA, or None when nothing sets one.

    `slaDeadline` counts from when the exception occurred; `slaMinutesRemaining` (a float is
    fine: 0.5 is 30 s) from `now` (the producer says how much is left, not how much there was;
    a negative value was due that many minutes ago, a deadline in the past like a past `slaDeadline`);
    the type's `slaMinutes` from when the exception occurred. A `slaDeadline` that cannot be read,
    or whose UTC time is not a storable time of years 1-9999 (year 0 or 10000 in UTC, or exactly
    0001-01-01T00:00:00Z or 9999-12-31T23:59:59.999999Z, which PostgreSQL would keep as -infinity
    and infinity), is ignored: the next source sets the deadline. A deadline computed past year 9999
    is :data:`LATEST`; one before year 1 (a huge negative remainder) is none. The decision's `sla_deadline` is
    this deadline, so the exceptions row and the clock name the same moment.
    """
    occurred = exception.occurred_at
    deadline = _parse_deadline(exception.context.get("slaDeadline"))
    if deadline is not None:
        return min(occurred, now, deadline), deadline
    remaining = exception.context.get("slaMinutesRemaining")
    if isinstance(remaining, int | float) and not isinstance(remaining, bool):
        if remaining >= 0:
            deadline = _later(now, remaining)
        else:
            try:
                deadline = now + timedelta(minutes=remaining)  # due that long ago
            except (OverflowError, ValueError):  # before year 1
                return None
            if not _storable(deadline):  # the first microsecond of year 1
                return None
        return min(now, deadline), deadline
    definition = packs.exception_types.get(exception_type)
    if definition is not None and definition.sla_minutes is not None:
        return occurred, _later(occurred, definition.sla_minutes)
    return None


def sla_times(outcome: DecisionOutcome, packs: TenantPacks, now: datetime, *,
              share: float = DEFAULT_IMMINENT_SHARE) -> tuple[datetime, datetime] | None:
    """(imminent_at, deadline): imminent once `share` of the window has passed.

    The deadline is the decision's (an LLM-assisted decision may have moved it earlier); the
    window starts where `sla_window` starts it.
    """
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    deadline = outcome.sla_deadline
    if deadline is None:
        return None
    window = sla_window(outcome.exception, outcome.exception_type, packs, now)
    start = min(window[0] if window else outcome.exception.occurred_at, deadline)
    return start + (deadline - start) * share, deadline


class SlaClock(BaseModel):
    """One exception's SLA timers and which of their events were already emitted."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    exception_id: str
    imminent_at: datetime
    deadline: datetime
    imminent_sent: bool = False
    expired_sent: bool = False
    routes: tuple[NotificationRoute, ...] = ()

    @property
    def done(self) -> bool:
        """Nothing left to emit: the timer can forget this clock."""
        return self.expired_sent


def start_clock(outcome: DecisionOutcome, packs: TenantPacks, now: datetime, *,
                share: float | None = None) -> SlaClock | None:
    """The clock of a decided exception (None: no SLA); `share` defaults to the tenant's
    `slaImminentShare`. `now` must be the decision's time, as `slaMinutesRemaining` counts from it."""
    times = sla_times(outcome, packs, now,
                      share=packs.tenant.sla_imminent_share if share is None else share)
    if times is None:
        return None
    routes = tuple(
        r for r in packs.tenant.notification_policies
        if (not r.severities or outcome.severity in r.severities)
        and {"SLAImminent", "SLAExpired"} & set(r.events)
    )
    return SlaClock(tenant_id=outcome.exception.tenant_id,
                    exception_id=outcome.exception.exception_id,
                    imminent_at=times[0], deadline=times[1], routes=routes)


def due(clock: SlaClock, *, status: Status, now: datetime) -> SlaPhase | None:
    """The tick due at `now`, if any: what the timer asks the act agent to apply.

    The act agent decides again with `on_sla_tick` when the command arrives, so a late, repeated
    or stale command is harmless.
    """
    if clock.done or status in _DONE:
        return None
    if now >= clock.deadline:
        return "expired"
    if now >= clock.imminent_at and not clock.imminent_sent:
        return "imminent"
    return None


def on_sla_tick(clock: SlaClock, *, status: Status,
                now: datetime) -> tuple[SlaClock, list[EmitEvent | Notify]]:
    """Events due at `now` for an exception in `status`, each once.

    A first tick past the deadline emits only SLAExpired (an SLAImminent after the fact would
    mislead). A RESOLVED or CLOSED exception stops the clock silently. Tenant routes that list
    the event type are notified.
    """
    if clock.done:
        return clock, []
    if status in _DONE:
        return clock.model_copy(update={"imminent_sent": True, "expired_sent": True}), []
    base = {"deadline": clock.deadline.isoformat(), "imminent_at": clock.imminent_at.isoformat()}
    effects: list[EmitEvent | Notify] = []
    if now >= clock.deadline:
        clock = clock.model_copy(update={"imminent_sent": True, "expired_sent": True})
        event_type, key = "SLAExpired", "sla:expired"
        message = f"{clock.exception_id}: SLA expired at {clock.deadline.isoformat()}"
    elif now >= clock.imminent_at and not clock.imminent_sent:
        clock = clock.model_copy(update={"imminent_sent": True})
        event_type, key = "SLAImminent", "sla:imminent"
        message = f"{clock.exception_id}: SLA deadline {clock.deadline.isoformat()} is near"
    else:
        return clock, []
    effects.append(EmitEvent(event_type, base, key, TIMER))
    effects += [Notify(r.channel, r.target, message, event_type, f"{key}:{i}")
                for i, r in enumerate(clock.routes) if event_type in r.events]
    return clock, effects


_PHASE_EVENTS: dict[str, SlaPhase] = {"SLAImminent": "imminent", "SLAExpired": "expired"}


def emitted_phase(effects: list[EmitEvent | Notify]) -> SlaPhase | None:
    """The phase whose event `on_sla_tick` emitted, if any: what the playbook run is told."""
    return next((_PHASE_EVENTS[e.event_type] for e in effects
                 if isinstance(e, EmitEvent) and e.event_type in _PHASE_EVENTS), None)
