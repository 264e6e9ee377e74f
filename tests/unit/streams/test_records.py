from datetime import UTC, datetime, timedelta

from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import load_pack_dir
from sentinai.streams.records import decision_records, outcome_events
from tests.support.packs import PACKS

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
PACK_SET = load_pack_dir(PACKS)


def _decided(raw: dict) -> tuple:
    exception = normalize({"tenant_id": "acme-capital", **raw}, now=NOW)
    packs = PACK_SET.for_tenant("acme-capital")
    assert packs is not None
    return exception, decide(exception, packs, now=NOW)


def test_position_break_publishes_stage_events_an_approval_and_a_status() -> None:
    exception, outcome = _decided({"exception_id": "PB-1", "exception_type": "POSITION_BREAK",
                                   "payload": {"account": "A-1"}})
    events = outcome_events(exception, outcome, now=NOW, approval_timeout_minutes=45)
    types = [e.event_type for e in events]
    assert types == ["ExceptionNormalized", "TriageCompleted", "PolicyEvaluated", "PlaybookAssigned",
                     "ApprovalRequested", "ExceptionStatusChanged"]
    assert [e.payload["exception"]["version"] for e in events] == [1, 2, 3, 4, 5, 6]
    approval = events[4].payload["approval"]
    assert approval["status"] == "PENDING"
    assert approval["expires_at"] == (NOW + timedelta(minutes=45)).isoformat()
    assert events[0].payload["exception"]["raw_payload"] == {"account": "A-1"}
    assert "raw_payload" not in events[1].payload["exception"]


def test_ids_are_deterministic_so_replays_deduplicate() -> None:
    exception, outcome = _decided({"exception_id": "CB-1", "exception_type": "CASH_BREAK", "payload": {}})
    first = outcome_events(exception, outcome, now=NOW)
    again = outcome_events(exception, outcome, now=NOW + timedelta(seconds=5))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == len(first)
    assert [r.event_id for r in decision_records(exception, outcome, now=NOW)] == \
           [r.event_id for r in decision_records(exception, outcome, now=NOW + timedelta(seconds=5))]


def test_cash_break_has_no_playbook_and_escalates() -> None:
    exception, outcome = _decided({"exception_id": "CB-2", "exception_type": "CASH_BREAK", "payload": {}})
    types = [e.event_type for e in outcome_events(exception, outcome, now=NOW)]
    assert "PlaybookNotFound" in types and "ExceptionEscalated" in types
    records = decision_records(exception, outcome, now=NOW)
    assert [r.stage for r in records] == ["triage", "policy", "playbook"]
    assert records[-1].status == "ESCALATED" and records[-1].playbook_id is None
