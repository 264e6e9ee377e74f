"""What a decided exception puts on the log and the decision stream: one transition, one record."""

from datetime import UTC, datetime, timedelta

from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.occurrence import Occurrence
from sentinai.core.packs import load_pack_dir
from sentinai.streams.envelope import EventEnvelope
from sentinai.streams.records import (
    SUPERSEDED,
    decided,
    first_record,
    outcome_events,
    replaced_tool_result,
)
from sentinai.streams.transition import transition_id_for
from tests.support.packs import PACKS

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
PACK_SET = load_pack_dir(PACKS)


def _decided(raw: dict, tenant: str = "acme-capital") -> tuple:
    exception = normalize({"tenant_id": tenant, **raw}, now=NOW)
    packs = PACK_SET.for_tenant(tenant)
    assert packs is not None
    return exception, decide(exception, packs, now=NOW), packs


def test_position_break_publishes_stage_events_an_approval_and_a_status() -> None:
    exception, outcome, _ = _decided({"exception_id": "PB-1", "exception_type": "POSITION_BREAK",
                                      "payload": {"account": "A-1"}})
    events = outcome_events(exception, outcome, now=NOW, approval_timeout_minutes=45)
    types = [e.event_type for e in events]
    assert types == ["ExceptionNormalized", "TriageCompleted", "PolicyEvaluated", "PlaybookAssigned",
                     "ApprovalRequested", "ExceptionStatusChanged"]
    assert [e.version for e in events] == [1, 2, 3, 4, 5, 6]
    assert all("exception" not in e.payload for e in events), "the snapshot travels once, on the transition"
    approval = events[4].payload["approval"]
    assert approval["status"] == "PENDING"
    assert approval["expires_at"] == (NOW + timedelta(minutes=45)).isoformat()


def test_the_transition_carries_the_snapshot_after_the_steps_that_ran_at_once() -> None:
    exception, outcome, packs = _decided({"exception_id": "SF-1", "exception_type": "SETTLEMENT_FAIL",
                                          "source_system": "settlements",
                                          "payload": {"orderId": "O-1", "failReason": "SSI_MISMATCH"}})
    result = decided(exception, outcome, packs, now=NOW)
    assert result.run is not None
    assert result.snapshot["version"] == result.run.version == max(e.version or 0 for e in result.events)
    assert result.snapshot["raw_payload"] == {"orderId": "O-1", "failReason": "SSI_MISMATCH"}
    assert result.snapshot["normalized_context"]["source_system"] == "settlements"
    assert result.snapshot["status"] == result.run.status.value
    assert [s.stage for s in result.stages][:3] == ["triage", "policy", "playbook"]
    assert "PlaybookStepStarted" in [e.event_type for e in result.events]
    versions = [e.version for e in result.events if e.version is not None]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)


def test_ids_are_deterministic_so_replays_deduplicate() -> None:
    exception, outcome, packs = _decided({"exception_id": "CB-1", "exception_type": "CASH_BREAK", "payload": {}})
    first = decided(exception, outcome, packs, now=NOW)
    again = decided(exception, outcome, packs, now=NOW + timedelta(seconds=5))
    assert [e.event_id for e in first.events] == [e.event_id for e in again.events]
    assert len({e.event_id for e in first.events}) == len(first.events)
    assert transition_id_for("acme-capital", "CB-1", first.events) == \
        transition_id_for("acme-capital", "CB-1", again.events)
    assert first_record(exception, outcome, first, now=NOW).event_id == \
        first_record(exception, outcome, again, now=NOW + timedelta(seconds=5)).event_id



def test_an_occurrence_has_ids_of_its_own_and_closes_the_approval_of_the_one_it_replaces() -> None:
    """PB-1 waits for approval; the producer sends PB-1 again a day later: the new occurrence's
    events, approval and decision record have ids of their own, and the old approval is closed."""
    exception, outcome, packs = _decided({"exception_id": "PB-1", "exception_type": "POSITION_BREAK",
                                          "payload": {"account": "A-1"}})
    day = timedelta(days=1)
    first_seen = Occurrence.started_by(("sentinai.exceptions", 0, 1), first_seen=NOW.timestamp())
    first = decided(exception, outcome, packs, now=NOW, occurrence=first_seen)
    assert first.run is not None and first.run.approval == "PENDING"
    seen_again = Occurrence.started_by(("sentinai.exceptions", 0, 7), first_seen=(NOW + day).timestamp())
    again = decided(exception, outcome, packs, now=NOW + day, occurrence=seen_again, replaced=first.run)
    assert again.run is not None
    assert not {e.event_id for e in first.events} & {e.event_id for e in again.events}
    assert first_record(exception, outcome, first, now=NOW).event_id != \
        first_record(exception, outcome, again, now=NOW + day).event_id
    closed = again.events[-1]
    assert closed.event_type == "ApprovalExpired" and closed.payload["reason"] == SUPERSEDED
    assert closed.payload["approval"]["approval_id"] == first.run.approval_id() != again.run.approval_id()
    assert (closed.payload["approval"]["status"], closed.payload["approval"]["version"]) == ("EXPIRED", 2)
    assert closed.payload["approval"]["comment"] == SUPERSEDED  # the row says why, and so does a late answer's 409
    requested = next(e for e in again.events if e.event_type == "ApprovalRequested")
    assert requested.payload["approval"]["approval_id"] == again.run.approval_id()
    assert (first.snapshot["first_seen_at"], again.snapshot["first_seen_at"]) == (NOW.isoformat(), (NOW + day).isoformat())
    assert [e.event_id for e in decided(exception, outcome, packs, now=NOW + day, occurrence=seen_again,
                                        replaced=first.run).events] == [e.event_id for e in again.events]


def test_a_replaced_occurrences_tool_result_is_its_calls_finished_row_not_applied_with_an_id_of_its_own() -> None:
    def finished(occurrence: str = "t:0:5", key: str = "K-1", now: datetime = NOW) -> EventEnvelope:
        return replaced_tool_result(
            tenant_id="acme", exception_id="SF-1", occurrence=occurrence, step=0, execution_id=key,
            tool_name="resend_ssi", request={"token": "t0ken", "n": 1}, succeeded=False,
            detail={"status": "failed", "error": "boom", "attempts": 3, "response": {"password": "p"}}, now=now)

    event = finished()
    assert (event.event_type, event.version, event.payload["applied"]) == ("ToolExecutionFailed", None, False)
    assert event.payload["tool_execution"] == {
        "execution_id": "K-1", "tool_name": "resend_ssi", "status": "FAILED", "request": {"token": "***", "n": 1},
        "response": {"password": "***"}, "error": "boom", "attempts": 3, "started_at": None,
        "finished_at": NOW.isoformat(), "version": 3}
    assert finished(now=NOW + timedelta(seconds=5)).event_id == event.event_id  # a replay, later
    assert len({event.event_id, finished(occurrence="t:0:6").event_id, finished(key="K-2").event_id}) == 3


def test_cash_break_has_no_playbook_and_escalates_in_one_record() -> None:
    exception, outcome, packs = _decided({"exception_id": "CB-2", "exception_type": "CASH_BREAK", "payload": {}})
    result = decided(exception, outcome, packs, now=NOW)
    types = [e.event_type for e in result.events]
    assert "PlaybookNotFound" in types and "ExceptionEscalated" in types
    record = first_record(exception, outcome, result, now=NOW)
    assert [s.stage for s in record.stages] == ["triage", "policy", "playbook"]
    assert record.status == "ESCALATED" and record.playbook_id is None
    assert record.exception_type == "CASH_BREAK" and record.source == "rules"
