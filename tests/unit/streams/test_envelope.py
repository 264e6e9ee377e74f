"""Event ids: deterministic, and the very ids earlier releases stored (a replay must match them)."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from sentinai.core.ids import event_id_for

NAMESPACE = uuid.UUID("7d3a3b9e-5c1f-4b8e-9d6a-2f0c1e4b8a10")


def test_a_known_id_is_unchanged() -> None:
    # what the first release, which used uuid.uuid5 itself, published for this event
    assert event_id_for("acme-capital", "SF-2026-000123", "TriageCompleted", "triage") == (
        "b53660d1-93ea-56b2-b55c-2406188cd427")


@given(st.text(), st.text(), st.text(), st.text())
def test_ids_equal_uuid5_of_the_joined_name(tenant: str, exception_id: str, event_type: str, step: str) -> None:
    expected = uuid.uuid5(NAMESPACE, f"{tenant}\x1f{exception_id}\x1f{event_type}\x1f{step}")
    produced = event_id_for(tenant, exception_id, event_type, step)
    assert produced == str(expected)
    assert uuid.UUID(produced).version == 5


@given(st.text(), st.text(), st.text(), st.text(), st.text(min_size=1))
def test_an_occurrence_is_one_more_field_of_the_name(tenant: str, exception_id: str, event_type: str, step: str,
                                                     occurrence: str) -> None:
    expected = uuid.uuid5(NAMESPACE, f"{tenant}\x1f{exception_id}\x1f{event_type}\x1f{step}\x1f{occurrence}")
    assert event_id_for(tenant, exception_id, event_type, step, occurrence) == str(expected)
    assert event_id_for(tenant, exception_id, event_type, step, "") == event_id_for(tenant, exception_id, event_type,
                                                                                    step)
