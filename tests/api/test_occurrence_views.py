"""The views of an exception id sent again after its dedup window show its current occurrence: the
playbook view its steps, the status page its time to resolve, not the earlier occurrence's (found
by an outsider's test of occurrences)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.occurrence import Occurrence
from sentinai.core.run import PlaybookRun
from sentinai.streams import records
from sentinai.streams.transition import transition
from tests.api.conftest import Web
from tests.support.seed import DECIDING_PACKS, NEEDS_APPROVAL, Seeded, approved, store

T = "/api/v1/tenants/acme"


def _occurrence(exception_id: str, at: datetime, offset: int, replaced: PlaybookRun | None = None) -> Seeded:
    raw = {"tenant_id": "acme", "exception_id": exception_id, "source_system": "recon",
           "exception_type": NEEDS_APPROVAL, "occurred_at": at.isoformat(),
           "payload": {"account": "ACC-1", "isin": "US0378331005", "breakQuantity": 1200}}
    exception = normalize(raw, now=at, known_tenants={"acme"})
    outcome = decide(exception, DECIDING_PACKS, now=at)
    occurrence = Occurrence.started_by(("sentinai.exceptions", 0, offset), first_seen=at.timestamp())
    result = records.decided(exception, outcome, DECIDING_PACKS, now=at, occurrence=occurrence, replaced=replaced)
    return Seeded("acme", exception_id, NEEDS_APPROVAL, outcome.severity.value, result.snapshot["status"], at,
                  result.run, [transition(tenant_id="acme", exception_id=exception_id, events=result.events,
                                          snapshot=result.snapshot)])


async def test_playbook_view_shows_only_the_current_occurrences_steps(web_env: Web) -> None:
    first_at = datetime.now(UTC) - timedelta(days=2)
    first = _occurrence("OCC-1", first_at, offset=1)
    approved(first, by="ann", at=first_at + timedelta(minutes=1))  # approved, its steps run and it resolves
    assert first.status == "RESOLVED"
    second = _occurrence("OCC-1", datetime.now(UTC), offset=99, replaced=first.run)  # sent again after the window
    assert second.status == "PENDING_APPROVAL"
    await store(web_env.settings.database_url, first, second)

    status, row = await web_env.get(f"{T}/exceptions/OCC-1")
    assert status == 200 and row["status"] == "PENDING_APPROVAL"  # the row is the new occurrence's
    status, body = await web_env.get(f"{T}/exceptions/OCC-1/playbook")
    assert status == 200, body
    # The new occurrence waits for its approval: no step of it has started, and it is not completed.
    assert not body["completed"], [(body["completed"], body["current_step"])] + [(s["step"], s["status"]) for s in body["steps"]]
    assert all(s["status"] == "pending" for s in body["steps"]), [(s["step"], s["status"]) for s in body["steps"]]


def _settlement(exception_id: str, at: datetime, offset: int) -> Seeded:
    raw = {"tenant_id": "acme", "exception_id": exception_id, "source_system": "settlements",
           "exception_type": "SETTLEMENT_FAIL", "occurred_at": at.isoformat(),
           "payload": {"tradeId": "T-1", "failReason": "INSUFFICIENT_SECURITIES"}}
    exception = normalize(raw, now=at, known_tenants={"acme"})
    outcome = decide(exception, DECIDING_PACKS, now=at)
    occurrence = Occurrence.started_by(("sentinai.exceptions", 0, offset), first_seen=at.timestamp())
    result = records.decided(exception, outcome, DECIDING_PACKS, now=at, occurrence=occurrence)
    return Seeded("acme", exception_id, "SETTLEMENT_FAIL", outcome.severity.value, result.snapshot["status"], at,
                  result.run, [transition(tenant_id="acme", exception_id=exception_id, events=result.events,
                                          snapshot=result.snapshot)])


async def test_time_to_resolve_of_a_new_occurrence_is_not_measured_from_the_earlier_ones_resolution(
        web_env: Web) -> None:
    now = datetime.now(UTC)
    first, second = _settlement("OCC-2", now - timedelta(days=2), offset=1), _settlement("OCC-2", now, offset=50)
    assert first.status == second.status == "RESOLVED"
    await store(web_env.settings.database_url, first, second)
    status, body = await web_env.get(f"{T}/status")
    assert status == 200, body
    mttr = (body["tenants"][0] if "tenants" in body else body)["mean_time_to_resolve_seconds"]
    assert mttr is not None and 0 <= mttr < 60, mttr  # resolved at once; not two days before it was created
