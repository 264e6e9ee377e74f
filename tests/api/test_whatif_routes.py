"""What-if and simulate over real HTTP, and the pack routes without a second approver."""

from __future__ import annotations

import asyncio
import copy
import json
import random
from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestServer

from sentinai.api.app import create_app
from sentinai.bench.history import store_history
from sentinai.bench.workload import pack_documents
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import build_pack_set
from sentinai.embedded.process import free_port
from sentinai.samples import sample_exception
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pack_proposals import create_proposal
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool
from tests.api.conftest import Web
from tests.support.pipeline import PACKS

T = "/api/v1/tenants/acme"


async def seed(database_url: str, count: int = 80) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict]]:
    domains, samples = pack_documents(PACKS)
    domain = next(d for d in domains if d["domainName"] == "CapitalMarketsTrading")
    tenant = copy.deepcopy(next(t for t in samples if t["tenantId"] == "acme-capital"))
    tenant["tenantId"] = "acme"
    tenant.pop("testSuites", None)
    pack_set = build_pack_set([domain], [tenant])
    rng = random.Random(5)
    raws = []
    for index in range(count):
        raw = sample_exception(rng, pack_set, "acme")
        assert isinstance(raw, dict)
        raws.append({**raw, "exception_id": f"WI-{index}"})
    async with open_pool(database_url) as pool:
        await store_packs(pool, [domain], [tenant], created_by="migrate")
        await store_history(pool, pack_set, raws, now=datetime.now(UTC))
    return tenant, [domain], raws


def critical_settlements(tenant: dict[str, Any]) -> dict[str, Any]:
    return {**tenant, "version": "2", "customSeverityOverrides": [
        *tenant["customSeverityOverrides"], {"exceptionType": "SETTLEMENT_FAIL", "severity": "CRITICAL"}]}


async def test_whatif_reports_what_a_candidate_would_change_and_changes_nothing(
        web_env: Web, database_url: str) -> None:
    tenant, domains, raws = await seed(database_url)
    candidate = critical_settlements(tenant)
    old = build_pack_set(domains, [tenant]).for_tenant("acme")
    new = build_pack_set(domains, [candidate]).for_tenant("acme")
    assert old is not None and new is not None
    changed = set()
    for raw in raws:
        exception = normalize(raw, now=datetime.now(UTC))
        at = exception.occurred_at
        if decide(exception, old, now=at).severity != decide(exception, new, now=at).severity:
            changed.add(exception.exception_id)
    assert changed

    status, report = await web_env.send("POST", f"{T}/whatif", key="acme-operator", json=candidate)
    assert status == 200, report
    assert (report["compared"], report["changed_by_field"]["severity"]) == (len(raws), len(changed))
    assert {e["exception_id"] for e in report["changed_exceptions"]} == changed
    assert report["approval"]["newly_required"] == len(changed)
    status, body = await web_env.get(f"{T}/packs", key="acme-viewer")
    assert [v["version"] for v in body["versions"] if v["kind"] == "tenant"] == [tenant["version"]]

    status, body = await web_env.send("POST", f"{T}/whatif", key="acme-viewer", json=candidate)
    assert status == 403
    status, body = await web_env.send("POST", f"{T}/whatif", key="acme-operator",
                                      json={**candidate, "approvalTimeoutMinutes": -1})
    assert (status, body["error"]) == (422, "invalid_pack")
    assert body["issues"][0]["path"] == "approvalTimeoutMinutes"

    exception_id = sorted(changed)[0]
    simulate = f"{T}/exceptions/{exception_id}/simulate"
    status, body = await web_env.send("POST", simulate, key="acme-operator", json=candidate)
    assert status == 200, body
    assert body["packs"] == "candidate" and body["decision"]["severity"] == "CRITICAL"
    assert body["active_decision"]["severity"] != "CRITICAL" and "severity" in body["changed"]
    assert any("tenant override" in line for line in body["decision"]["stages"][0]["evidence"])
    status, body = await web_env.send("POST", f"{T}/exceptions/NOPE/simulate", key="acme-operator")
    assert (status, body["error"]) == (404, "not_found")


async def test_without_a_second_approver_put_activates_and_the_timeline_records_it(
        web_env: Web, database_url: str) -> None:
    tenant, _, _ = await seed(database_url, count=1)
    status, body = await web_env.send("PUT", f"{T}/packs", key="acme-admin", json=critical_settlements(tenant))
    assert status == 200, body
    assert [(a["kind"], a["version"]) for a in body["activated"]] == [("tenant", "2")]
    status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin",
                                      json={"tenants": [critical_settlements(tenant)]})
    assert (status, body["error"]) == (422, "no_change")
    status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin",
                                      json={"tenants": [{**tenant, "customPlaybooks": "nope"}]})
    assert (status, body["error"]) == (422, "invalid_pack")
    assert {"file": "<request>/tenants/acme", "path": "customPlaybooks"}.items() <= body["issues"][0].items()
    status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-operator", json=tenant)
    assert status == 403

    status, body = await web_env.send("POST", f"{T}/packs/rollback", key="acme-admin", json={})
    assert status == 200, body
    assert [(a["kind"], a["version"]) for a in body["activated"]] == [("tenant", tenant["version"])]
    status, body = await web_env.get(f"{T}/packs/events", key="acme-viewer")
    admin = f"api-key:{web_env.keys['acme-admin'].split('_')[1]}"
    assert [(e["event_type"], e["actor_id"], e["payload"]["version"]) for e in body["items"][:2]] == [
        ("PackVersionActivated", admin, tenant["version"]), ("PackVersionActivated", admin, "2")]
    assert {"op": "added", "path": "customSeverityOverrides[1]", "from": None,
            "to": {"exceptionType": "SETTLEMENT_FAIL", "severity": "CRITICAL"}} in body["items"][1]["payload"]["changes"]


async def test_a_proposal_made_against_replaced_versions_is_not_approved(web_env: Web, database_url: str) -> None:
    tenant, _, _ = await seed(database_url, count=1)
    second_admin = await create_api_key(web_env.pool, "acme", "admin")
    first = {**tenant, "version": "2", "approvalTimeoutMinutes": 30}
    second = {**tenant, "version": "3", "approvalTimeoutMinutes": 20}
    ids = []
    for doc in (first, second):
        status, body = await web_env.send("POST", f"{T}/packs/proposals", key="acme-admin", json=doc)
        assert status == 202, body
        ids.append(body["proposal"]["id"])
    status, body = await web_env.send("POST", f"{T}/packs/proposals/{ids[0]}/approve", key=second_admin,
                                      json={"comment": "ok"})
    assert (status, body["status"]) == (200, "approved")
    status, body = await web_env.send("POST", f"{T}/packs/proposals/{ids[1]}/approve", key=second_admin,
                                      json={"comment": "ok"})
    assert (status, body["error"]) == (409, "stale_proposal")
    status, body = await web_env.get(f"{T}/packs/proposals/{ids[1]}", key="acme-viewer")
    assert body["status"] == "proposed"
    status, body = await web_env.get(f"{T}/packs", key="acme-viewer")
    assert [v["version"] for v in body["versions"] if v["status"] == "active" and v["kind"] == "tenant"] == ["2"]


async def test_a_report_left_pending_is_made_by_the_next_web_process(
        web_env: Web, database_url: str, make_settings: Any) -> None:
    tenant, _, raws = await seed(database_url, count=30)
    async with open_pool(database_url) as pool:
        proposal = await create_proposal(pool, "acme", [], [critical_settlements(tenant)],
                                         proposed_by="cli:someone")
    assert proposal["report_status"] == "pending"
    app = create_app(make_settings(database_url=database_url, web_port=free_port()))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            row = await web_env.pool.fetchrow(
                "SELECT report_status, report::text FROM pack_proposals WHERE id = $1", proposal["id"])
            if row["report_status"] != "pending":
                break
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.1)
    finally:
        await server.close()
    assert row["report_status"] == "done"
    assert json.loads(row["report"])["compared"] == len(raws)


async def test_a_whatif_compiles_its_tenant_alone_and_runs_one_at_a_time(web_env: Web, database_url: str) -> None:
    """Another tenant's stored pack that no longer validates does not concern this tenant's
    what-if; a second what-if of the tenant while one runs, or past the web view's limit, is a 429."""
    from sentinai.api.routes_whatif import MAX_WHATIFS
    from sentinai.api.state import WHATIFS

    tenant, _, raws = await seed(database_url, count=10)
    stale = {**tenant, "tenantId": "globex", "retentionPolicies": {"dataTTL": 10**9}}
    async with open_pool(database_url) as pool:
        await store_packs(pool, [], [stale], created_by="an earlier release")
    status, report = await web_env.send("POST", f"{T}/whatif", key="acme-operator", json=critical_settlements(tenant))
    assert status == 200 and report["compared"] == len(raws), report

    running = web_env.app[WHATIFS]
    running.add("acme")  # as while one runs
    status, body = await web_env.send("POST", f"{T}/whatif", key="acme-operator", json=critical_settlements(tenant))
    assert (status, body["error"]) == (429, "busy") and "one runs at a time per tenant" in body["detail"]
    # a simulation is counted with them: its candidate packs decide as a what-if's do
    exception_id = raws[0]["exception_id"]
    status, body = await web_env.send("POST", f"{T}/exceptions/{exception_id}/simulate", key="acme-operator",
                                      json=critical_settlements(tenant))
    assert (status, body["error"]) == (429, "busy") and "one runs at a time per tenant" in body["detail"]
    running.clear()
    running.update(f"other-{i}" for i in range(MAX_WHATIFS))
    status, body = await web_env.send("POST", f"{T}/whatif", key="acme-operator", json=critical_settlements(tenant))
    assert (status, body["error"]) == (429, "busy"), body
    running.clear()
