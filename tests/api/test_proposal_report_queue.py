"""Proposals' what-if reports: one made at a time per web process, in a thread of its own, and at
most one waiting per tenant besides (a proposal beyond is a 429 ``busy``)."""

from __future__ import annotations

import threading

from sentinai.api.proposal_reports import REPORTS
from sentinai.whatif import _compare
from tests.api.conftest import Web
from tests.api.test_validation_limits import until
from tests.api.test_whatif_routes import T, critical_settlements, seed


def proposal(tenant: dict, version: str, tenant_id: str = "acme") -> dict:
    return {"tenants": [{**critical_settlements(tenant), "tenantId": tenant_id, "version": version}]}


async def test_reports_are_made_one_at_a_time_and_a_tenant_queues_at_most_one(
        web_env: Web, database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sentinai.whatif as whatif

    threads: set[str] = set()

    def compare(*args):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        return _compare(*args)

    monkeypatch.setattr(whatif, "_compare", compare)
    tenant, _, _ = await seed(database_url, count=20)
    queue = web_env.app[REPORTS]
    await queue.turn.acquire()  # as while an expensive report is made
    held = True
    try:
        status, first = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin", json=proposal(tenant, "2"))
        assert status == 202, first
        await until(lambda: queue.running == ("acme", first["proposal"]["id"]), "the first report was not taken")
        status, second = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin", json=proposal(tenant, "3"))
        assert status == 202, second  # it waits
        status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin", json=proposal(tenant, "4"))
        assert (status, body["error"]) == (429, "busy"), body
        assert "one waits at a time per tenant" in body["detail"]
        status, body = await web_env.send("GET", f"{T}/packs/proposals", key="acme-admin")
        assert len(body["items"]) == 2, body  # the refused one was not stored
        status, other = await web_env.send("POST", "/api/v1/tenants/globex/packs/proposals", key="globex-admin",
                                           json=proposal(tenant, "2", "globex"))
        assert status == 202, other  # another tenant's report waits beside
        queue.turn.release()
        held = False
    finally:
        if held:
            queue.turn.release()
    ids = [first["proposal"]["id"], second["proposal"]["id"]]
    await until(lambda: not queue.waiting and queue.running is None, "the reports were not made")
    rows = await web_env.pool.fetch("SELECT id, report_status FROM pack_proposals WHERE id = ANY($1::bigint[])",
                                    ids)
    assert {r["report_status"] for r in rows} == {"done"}, rows
    # globex has no active pack to compare with: its report is made, as failed
    assert await web_env.pool.fetchval("SELECT report_status FROM pack_proposals WHERE id = $1",
                                       other["proposal"]["id"]) == "failed"
    assert threads and all(name.startswith("proposal-report") for name in threads), threads
    status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin", json=proposal(tenant, "5"))
    assert status == 202, body
