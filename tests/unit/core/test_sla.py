"""SLA windows and the once-only SLAImminent / SLAExpired ticks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sentinai.core.effects import EmitEvent, Notify
from sentinai.core.engine import decide
from sentinai.core.models import DecisionOutcome, Status
from sentinai.core.normalize import normalize
from sentinai.core.packs import TenantPacks, build_pack_set
from sentinai.core.sla import LATEST, SlaClock, due, on_sla_tick, sla_times, start_clock

from .conftest import NOW, mini_docs

OCCURRED = NOW - timedelta(minutes=10)


def packs(tenant: dict[str, Any] | None = None) -> TenantPacks:
    d, t = mini_docs(None, tenant)
    compiled = build_pack_set([d], [t]).for_tenant("mini-co")
    assert compiled is not None
    return compiled


def outcome(p: TenantPacks, exception_type: str = "ALPHA", **context: Any) -> DecisionOutcome:
    raw = {"tenant_id": "mini-co", "exception_id": "EX-1", "exception_type": exception_type,
           "occurred_at": OCCURRED.isoformat(), "payload": {"kind": "alpha"}, "context": context}
    return decide(normalize(raw, now=NOW), p, now=NOW)


M = timedelta(minutes=1)
WINDOWS = [
    # exception type, context, share, expected (imminent_at, deadline)
    ("ALPHA", {}, 0.8, (OCCURRED + 24 * M, OCCURRED + 30 * M)),  # type default: 30 min from occurrence
    ("ALPHA", {"slaMinutesRemaining": 100}, 0.8, (NOW + 80 * M, NOW + 100 * M)),  # from now
    ("ALPHA", {"slaMinutesRemaining": 100}, 0.5, (NOW + 50 * M, NOW + 100 * M)),
    ("ALPHA", {"slaMinutesRemaining": 0.5}, 0.5,
     (NOW + timedelta(seconds=15), NOW + timedelta(seconds=30))),  # fractions of a minute
    ("ALPHA", {"slaDeadline": (OCCURRED + 60 * M).isoformat()}, 0.8,
     (OCCURRED + 48 * M, OCCURRED + 60 * M)),  # context deadline wins over everything
    ("ALPHA", {"slaDeadline": "2026-11-24T10:50:00", "slaMinutesRemaining": 5}, 0.8,
     (OCCURRED + 48 * M, OCCURRED + 60 * M)),  # naive deadline is UTC
    ("ALPHA", {"slaMinutesRemaining": -5}, 0.8, (NOW - 5 * M, NOW - 5 * M)),  # due 5 minutes ago
    ("BETA", {}, 0.8, None),  # no SLA anywhere
    ("BETA", {"slaMinutesRemaining": "soon"}, 0.8, None),  # not a duration
]


@pytest.mark.parametrize(("exception_type", "context", "share", "expected"), WINDOWS)
def test_sla_times(exception_type: str, context: dict[str, Any], share: float,
                   expected: tuple[datetime, datetime] | None) -> None:
    p = packs()
    decided = outcome(p, exception_type, **context)
    assert sla_times(decided, p, NOW, share=share) == expected
    assert decided.sla_deadline == (expected[1] if expected else None)  # the row shows the clock's deadline


def test_share_must_be_a_fraction() -> None:
    p = packs()
    with pytest.raises(ValueError):
        sla_times(outcome(p), p, NOW, share=0)


def test_the_tenant_sets_the_imminent_share() -> None:
    p = packs({"slaImminentShare": 0.5})
    c = start_clock(outcome(p, slaMinutesRemaining=10), p, NOW)
    assert c is not None and (c.imminent_at, c.deadline) == (NOW + 5 * M, NOW + 10 * M)


def clock() -> SlaClock:
    p = packs({"notificationPolicies": [
        {"channel": "pagerduty", "target": "svc-1", "events": ["SLAExpired"]},
        {"channel": "slack", "target": "#ops"},
    ]})
    started = start_clock(outcome(p), p, NOW)
    assert started is not None
    return started


def test_ticks_emit_imminent_then_expired_once_each() -> None:
    c = clock()
    assert on_sla_tick(c, status=Status.IN_PROGRESS, now=c.imminent_at - M) == (c, [])
    c, effects = on_sla_tick(c, status=Status.IN_PROGRESS, now=c.imminent_at)
    assert [type(e).__name__ for e in effects] == ["EmitEvent"]
    imminent = effects[0]
    assert isinstance(imminent, EmitEvent)
    assert (imminent.event_type, imminent.step, imminent.actor.type) == (
        "SLAImminent", "sla:imminent", "system")
    assert on_sla_tick(c, status=Status.IN_PROGRESS, now=c.imminent_at + M) == (c, [])
    c, effects = on_sla_tick(c, status=Status.ESCALATED, now=c.deadline)
    assert effects == [
        EmitEvent("SLAExpired", {"deadline": c.deadline.isoformat(),
                                 "imminent_at": c.imminent_at.isoformat()}, "sla:expired",
                  effects[0].actor),  # type: ignore[union-attr]
        Notify("pagerduty", "svc-1", f"EX-1: SLA expired at {c.deadline.isoformat()}", "SLAExpired",
               "sla:expired:0"),
    ]
    assert c.done
    assert on_sla_tick(c, status=Status.ESCALATED, now=c.deadline + 60 * M) == (c, [])


def test_due_names_the_tick_the_timer_asks_for() -> None:
    c = clock()
    open_ = Status.IN_PROGRESS
    assert due(c, status=open_, now=c.imminent_at - M) is None
    assert due(c, status=open_, now=c.imminent_at) == "imminent"
    assert due(c, status=open_, now=c.deadline) == "expired"
    imminent_sent, _ = on_sla_tick(c, status=open_, now=c.imminent_at)
    assert due(imminent_sent, status=open_, now=c.imminent_at + M) is None
    assert due(imminent_sent, status=open_, now=c.deadline) == "expired"
    expired, _ = on_sla_tick(imminent_sent, status=open_, now=c.deadline)
    assert due(expired, status=open_, now=c.deadline + 60 * M) is None
    assert due(c, status=Status.RESOLVED, now=c.deadline) is None


def test_first_tick_after_the_deadline_emits_only_expired() -> None:
    c, effects = on_sla_tick(clock(), status=Status.IN_PROGRESS, now=NOW + timedelta(days=1))
    assert [e.event_type for e in effects if isinstance(e, EmitEvent)] == ["SLAExpired"]
    assert c.imminent_sent and c.expired_sent


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED])
def test_resolved_exceptions_stop_the_clock(status: Status) -> None:
    c, effects = on_sla_tick(clock(), status=status, now=NOW + timedelta(days=1))
    assert effects == [] and c.done


def test_clock_round_trips_through_json() -> None:
    c = clock()
    assert SlaClock.model_validate_json(c.model_dump_json()) == c


def test_a_deadline_past_year_9999_is_the_last_moment_of_it() -> None:
    """An exception of 9999-12-31 23:45 UTC with its type's 30 minutes: the deadline would be in
    year 10000; it is the last moment of 9999 instead of an error that dead-letters the input."""
    p = packs()
    raw = {"tenant_id": "mini-co", "exception_id": "EX-9", "exception_type": "ALPHA",
           "occurred_at": "9999-12-31T23:45:00Z", "payload": {"kind": "alpha"}}
    decided = decide(normalize(raw, now=NOW), p, now=NOW)
    assert decided.sla_deadline == LATEST
    assert start_clock(decided, p, NOW) is not None


@pytest.mark.parametrize("remaining", [5e9, 10**39, 1e300])
def test_a_remaining_time_past_year_9999_is_the_last_moment_of_it(remaining: float) -> None:
    """As for the type's SLA: minutes that reach past 9999 give its last moment (they gave no SLA
    at all, not even the type's)."""
    p = packs()
    decided = outcome(p, slaMinutesRemaining=remaining)
    assert decided.sla_deadline == LATEST
    assert sla_times(decided, p, NOW) == (NOW + (LATEST - NOW) * 0.8, LATEST)


def test_a_context_deadline_past_year_9999_in_utc_is_ignored() -> None:
    p = packs()
    decided = outcome(p, slaDeadline="9999-12-31T23:59:59-05:00")
    assert decided.sla_deadline == OCCURRED + 30 * M  # the type's default, as for an unreadable deadline


@pytest.mark.parametrize("deadline", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00", "0001-01-01T05:00:00+05:00",
                                      "9999-12-31T23:59:59.999999Z", "9999-12-31T18:59:59.999999-05:00"])
def test_a_context_deadline_postgresql_would_store_as_infinity_is_ignored(deadline: str) -> None:
    """The first and last microsecond of years 1-9999 in UTC are what asyncpg writes as -infinity
    and infinity (0001-01-01T00:00:00Z is Go's zero time: no deadline); ignored as out of range."""
    p = packs()
    assert outcome(p, slaDeadline=deadline).sla_deadline == OCCURRED + 30 * M
    assert outcome(p, slaDeadline="0001-01-01T00:00:00.000001Z", slaMinutesRemaining=5).sla_deadline == \
        datetime(1, 1, 1, 0, 0, 0, 1, tzinfo=UTC)  # a microsecond later is kept: long overdue


def test_a_remaining_time_reaching_the_edges_exactly_is_no_infinity() -> None:
    """`now` plus `slaMinutesRemaining` landing on the last microsecond of 9999 is its last second,
    as one past it is; landing on the first of year 1 gives no deadline, as one before it does."""
    p = packs()

    def deadline(now: datetime, remaining: int) -> datetime | None:
        raw = {"tenant_id": "mini-co", "exception_id": "EX-1", "exception_type": "ALPHA",
               "occurred_at": OCCURRED.isoformat(), "payload": {"kind": "alpha"},
               "context": {"slaMinutesRemaining": remaining}}
        return decide(normalize(raw, now=now), p, now=now).sla_deadline

    late = datetime(2026, 11, 24, 10, 0, 59, 999999, tzinfo=UTC)  # whole minutes before datetime.max
    assert late + ((datetime.max.replace(tzinfo=UTC) - late) // M) * M == datetime.max.replace(tzinfo=UTC)
    assert deadline(late, (datetime.max.replace(tzinfo=UTC) - late) // M) == LATEST
    assert deadline(NOW, -((NOW - datetime.min.replace(tzinfo=UTC)) // M)) is None
