"""The tables do not grow for ever: once an exception is settled and its dedup window has passed,
the worker's timer has the act agent drop its state (a tombstone on the changelog), and the
outcome of its webhook notice in the tool-calls table; an exception still waiting for approval
keeps its state."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from sentinai.core.ids import event_id_for
from sentinai.settings import Settings
from tests.support.db import wait_for
from tests.support.kafka import TopicReader, produce, read_all_from
from tests.support.packs import activate, fix_or_sign_off_tenant
from tests.support.pipeline import PACKS, Pipeline
from tests.support.webhook_server import WebhookServer

pytestmark = pytest.mark.integration

WINDOW = 3


def test_settled_states_are_forgotten_after_the_dedup_window_and_waiting_ones_kept(
        make_settings: Callable[..., Settings], pipeline_factory: Callable[[Settings], Pipeline],
        server: WebhookServer) -> None:
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=1, dedup_window_seconds=WINDOW))
    url = pipeline.database_url
    doc = fix_or_sign_off_tenant("forget", server.url("/desk"))
    tenant = doc["tenantId"]
    activate(url, [doc])
    pipeline.start_worker()

    def exception(exception_id: str, exception_type: str) -> tuple[bytes, dict]:
        return tenant.encode(), {"tenant_id": tenant, "exception_id": exception_id, "exception_type": exception_type,
                                 "payload": {"securityId": "S-1", "tradeId": "T-1"}}

    produce(pipeline.bootstrap, pipeline.topics.exceptions,
            [exception("DONE-1", "SEC_MASTER_MISMATCH"), exception("WAIT-1", "SETTLEMENT_FAIL")])
    rows = ("SELECT string_agg(exception_id || '=' || status, ',' ORDER BY exception_id) FROM exceptions "
            "WHERE tenant_id=$1")
    wait_for(url, rows, tenant, until=lambda s: s == "DONE-1=RESOLVED,WAIT-1=PENDING_APPROVAL", timeout=45)

    # One reader per changelog, kept open: each check reads only what is new (a fresh read of the
    # whole changelog waits 2 s for it to go quiet), and once a check holds, the reader drains the
    # changelog until quiet as that fresh read did, so what is asserted is the changelog as it is.
    state_log = TopicReader(pipeline.bootstrap, f"{pipeline.settings.app_id}-exception-state-changelog")
    calls_log = TopicReader(pipeline.bootstrap, f"{pipeline.settings.app_id}-tool-calls-changelog")

    def latest(messages: list) -> dict:
        """A faust table as these changelog messages say it is (last value per key)."""
        return {json.loads(m.key()): None if m.value() is None else json.loads(m.value()) for m in messages}

    try:
        first = state_log.poll_until(lambda ms: latest(ms).get(f"{tenant}/DONE-1") is not None, timeout=30)
        occurrence = latest(first)[f"{tenant}/DONE-1"]["occurrence"]

        # the window, then up to one timer interval (5 s) and the command
        state_log.poll_until(lambda ms: f"{tenant}/DONE-1" in latest(ms) and latest(ms)[f"{tenant}/DONE-1"] is None,
                             timeout=30)
        held = latest(read_all_from(state_log))
        print(f"exception states on the changelog after the window: {sorted(k for k, v in held.items() if v)}")
        assert f"{tenant}/DONE-1" in held and held[f"{tenant}/DONE-1"] is None  # a tombstone
        assert held[f"{tenant}/WAIT-1"] is not None and held[f"{tenant}/WAIT-1"]["run"]["approval"] == "PENDING"
        assert [c["body"]["message"] for c in server.calls] == ["vendor value taken"]
        notice = event_id_for(tenant, "DONE-1", "notification", "fixed:1:notify:0", occurrence)
        # its outcome was written there, then a tombstone
        calls = latest(calls_log.poll_until(lambda ms: notice in latest(ms) and latest(ms)[notice] is None, timeout=15))
        assert notice in calls and calls[notice] is None, "the notice's outcome is still in the tool-calls table"

        produce(pipeline.bootstrap, pipeline.topics.exceptions, [exception("DONE-1", "SEC_MASTER_MISMATCH")])

        def decided_again(changelog: list) -> list[str | None]:
            """DONE-1's states on the changelog after it was forgotten (and maybe forgotten again)."""
            values = [None if m.value() is None else json.loads(m.value())["status"]
                      for m in changelog if json.loads(m.key()) == f"{tenant}/DONE-1"]
            return values[values.index(None) + 1:]

        state_log.poll_until(lambda ms: bool(decided_again(ms)), timeout=30)
        again = decided_again(read_all_from(state_log))
    finally:
        state_log.close()
        calls_log.close()
    print(f"DONE-1 on the changelog after it was forgotten: {again}")
    assert again[:again.index(None) if None in again else len(again)][-1:] == ["RESOLVED"]  # a copy decided as new
