"""An exception id sent again after its dedup window is a new occurrence of it: decided afresh under
ids of its own (its events, decision records, approval, webhook Idempotency-Key), its row replaced,
and the approval the earlier occurrence still waited for closed — whether the earlier state was
already forgotten or is still held."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from sentinai.core.ids import approval_id_for, event_id_for
from sentinai.settings import Settings
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce, produce_positions, read_all
from tests.support.packs import activate, fix_or_sign_off_tenant
from tests.support.pipeline import PACKS, Pipeline
from tests.support.webhook_server import WebhookServer

pytestmark = pytest.mark.integration

WINDOW = 2


def test_an_exception_id_sent_again_after_its_window_is_a_new_occurrence_with_ids_of_its_own(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline],
        server: WebhookServer) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, dedup_window_seconds=WINDOW))
    url, topic = pipeline.database_url, pipeline.topics.exceptions
    doc = fix_or_sign_off_tenant("again", server.url("/desk"))
    tenant = doc["tenantId"]
    activate(url, [doc])
    pipeline.start_worker()

    def send() -> dict[str, int]:
        """DONE-1 (resolved at once, one webhook) and WAIT-1 (waits for approval); their offsets."""
        messages = [(tenant.encode(), json.dumps({"tenant_id": tenant, "exception_id": exception_id,
                                                  "exception_type": exception_type,
                                                  "payload": {"securityId": "S-1", "tradeId": "T-1"}}).encode())
                    for exception_id, exception_type in (("DONE-1", "SEC_MASTER_MISMATCH"), ("WAIT-1", "SETTLEMENT_FAIL"))]
        positions = produce_positions(pipeline.bootstrap, topic, messages)
        assert {partition for partition, _ in positions} == {0}
        return {"DONE-1": positions[0][1], "WAIT-1": positions[1][1]}

    def rows() -> dict[str, tuple]:
        return {r["exception_id"]: (r["status"], r["version"], r["first_seen_at"], r["created_at"])
                for r in fetch(url, "SELECT * FROM exceptions WHERE tenant_id=$1", tenant)}

    statuses = ("SELECT string_agg(exception_id || '=' || status, ',' ORDER BY exception_id) FROM exceptions "
                "WHERE tenant_id=$1")
    first = send()
    wait_for(url, statuses, tenant, until=lambda s: s == "DONE-1=RESOLVED,WAIT-1=PENDING_APPROVAL", timeout=45)
    before = rows()
    assert all(first_seen is not None for _, _, first_seen, _ in before.values())
    while time.time() < max(first_seen for _, _, first_seen, _ in before.values()).timestamp() + WINDOW + 0.5:
        time.sleep(0.2)  # the dedup window is wall-clock time: let it pass

    again = send()
    normalized = ("SELECT count(*) FROM exception_events WHERE tenant_id=$1 AND event_type='ExceptionNormalized'")
    wait_for(url, normalized, tenant, until=lambda n: n == 4, timeout=45)
    wait_for(url, statuses, tenant, until=lambda s: s == "DONE-1=RESOLVED,WAIT-1=PENDING_APPROVAL", timeout=45)
    after = rows()
    print(f"rows before: {before}\nrows after: {after}")
    for exception_id in ("DONE-1", "WAIT-1"):
        status, version, first_seen, created = after[exception_id]
        assert (status, version) == before[exception_id][:2]  # versions count from 1 again, the row follows
        assert first_seen > before[exception_id][2] and created > before[exception_id][3]

    def ids(event_type: str, exception_id: str) -> set[str]:
        return {r["event_id"] for r in fetch(url, "SELECT event_id FROM exception_events WHERE tenant_id=$1 "
                                                  "AND exception_id=$2 AND event_type=$3", tenant, exception_id,
                                             event_type)}

    for exception_id in ("DONE-1", "WAIT-1"):
        assert ids("ExceptionNormalized", exception_id) == {
            event_id_for(tenant, exception_id, "ExceptionNormalized", "", f"{topic}:0:{offsets[exception_id]}")
            for offsets in (first, again)}

    approvals = fetch(url, "SELECT approval_id, status FROM approvals WHERE tenant_id=$1 AND exception_id='WAIT-1'",
                      tenant)
    expected = {approval_id_for(tenant, "WAIT-1", f"{topic}:0:{first['WAIT-1']}"): "EXPIRED",
                approval_id_for(tenant, "WAIT-1", f"{topic}:0:{again['WAIT-1']}"): "PENDING"}
    assert {r["approval_id"]: r["status"] for r in approvals} == expected

    keys = [c["idempotency_key"] for c in server.calls]
    assert len(keys) == 2 and len(set(keys)) == 2, f"one webhook per occurrence, each with its key: {server.calls}"

    records = [json.loads(m.value()) for m in read_all(pipeline.bootstrap, pipeline.topics.decisions)]
    firsts = [r["event_id"] for r in records if r["exception_id"] == "WAIT-1"
              and [s["stage"] for s in r["stages"]][:1] == ["triage"]]
    assert len(firsts) == len(set(firsts)) == 2  # a consumer keeping the first record of an id sees both

    old, new = (next(a for a, s in expected.items() if s == status) for status in ("EXPIRED", "PENDING"))

    def approve(approval_id: str) -> None:  # as the web view sends it
        produce(pipeline.bootstrap, pipeline.topics.approvals, [(tenant.encode(), {
            "command": "approve", "tenant_id": tenant, "exception_id": "WAIT-1", "approval_id": approval_id,
            "by": "olivia"})])

    approve(old)  # an operator answering the earlier occurrence's question: refused, not applied to the new one
    letter = wait_for(url, "SELECT error_message FROM dead_letters WHERE tenant_id=$1", tenant, timeout=45)
    assert "not the exception's current one" in letter
    assert fetch(url, "SELECT status FROM approvals WHERE approval_id=$1", new)[0]["status"] == "PENDING"
    approve(new)
    wait_for(url, "SELECT status FROM approvals WHERE approval_id=$1", new, until=lambda s: s == "GRANTED", timeout=45)
    wait_for(url, statuses, tenant, until=lambda s: s == "DONE-1=RESOLVED,WAIT-1=RESOLVED", timeout=45)
