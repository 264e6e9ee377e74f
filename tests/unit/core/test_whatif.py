"""The what-if core: a stored exception rebuilt as its input, and the report's counts."""

from __future__ import annotations

import random

from sentinai.core import rows
from sentinai.core.engine import decide
from sentinai.core.models import DecisionOutcome
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, build_pack_set
from sentinai.core.packs.diff import pack_diff
from sentinai.core.whatif import WhatIfReport, render_report, stored_input
from sentinai.samples import sample_exception
from tests.unit.core.conftest import NOW, mini_docs


def test_a_stored_exception_rebuilds_the_input_the_intake_normalized(sample_packs: PackSet) -> None:
    rng = random.Random(3)
    for _ in range(200):
        raw = sample_exception(rng, sample_packs)
        assert isinstance(raw, dict)
        exception = normalize(raw, now=NOW)
        packs = sample_packs.for_tenant(exception.tenant_id)
        assert packs is not None
        outcome = decide(exception, packs, now=exception.occurred_at)
        stored = rows.input_fields(exception)
        rebuilt = stored_input(exception.tenant_id, exception.exception_id,
                               source_system=exception.source_system, stored_type=outcome.exception_type,
                               payload=stored["raw_payload"], normalized_context=stored["normalized_context"])
        assert normalize(rebuilt, now=NOW) == exception


def _outcomes(**tenant: object) -> tuple[DecisionOutcome, DecisionOutcome]:
    domain, base = mini_docs()
    _, candidate = mini_docs(tenant={"version": "2", **tenant})
    old = build_pack_set([domain], [base]).for_tenant("mini-co")
    new = build_pack_set([domain], [candidate]).for_tenant("mini-co")
    assert old is not None and new is not None
    exception = normalize({"tenant_id": "mini-co", "exception_id": "E1", "exception_type": "ALPHA",
                           "payload": {"amount": 5000}}, now=NOW)
    return decide(exception, old, now=NOW), decide(exception, new, now=NOW)


def test_the_report_counts_each_changed_field_and_the_moves() -> None:
    before, after = _outcomes(customSeverityOverrides=[{"exceptionType": "ALPHA", "severity": "CRITICAL"}],
                           humanApprovalRules=[{"severity": "CRITICAL"}])
    report = WhatIfReport(max_changed=1)
    assert report.add("E1", NOW, before, after) == ("severity", "status", "approval_required")
    assert report.add("E2", NOW, before, after)
    assert report.add("E3", NOW, before, before) == ()
    body = report.as_json()
    assert (body["compared"], body["changed"]) == (3, 2)
    assert body["changed_by_field"] == {"exception_type": 0, "severity": 2, "status": 2,
                                        "approval_required": 2, "actionability": 0, "playbook_id": 0}
    assert body["severity_matrix"] == {"HIGH": {"CRITICAL": 2, "HIGH": 1}}
    assert body["approval"] == {"newly_required": 2, "no_longer_required": 0}
    assert [e["exception_id"] for e in body["changed_exceptions"]] == ["E1"]
    assert body["changed_exceptions_truncated"]
    text = render_report(body)
    assert "E1: severity HIGH -> CRITICAL" in text and "… and 1 more" in text


def test_the_diff_lists_the_changes_from_the_active_document() -> None:
    domain, tenant = mini_docs()
    changed = {**tenant, "version": "2", "approvalTimeoutMinutes": 5}
    [entry] = pack_diff({("tenant", "mini-co"): tenant, ("domain", "Mini"): domain},
                        [("tenant", changed), ("domain", domain)])
    assert (entry["from_version"], entry["to_version"]) == ("1", "2")
    assert entry["changes"] == [
        {"op": "changed", "path": "version", "from": "1", "to": "2"},
        {"op": "added", "path": "approvalTimeoutMinutes", "from": None, "to": 5}]
