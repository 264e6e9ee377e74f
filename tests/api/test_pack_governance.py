"""Governed pack changes over real HTTP: a proposal raising a severity threshold, its what-if
report against a recount, approval by a second admin only, rollback, and the packs' timeline."""

from __future__ import annotations

import asyncio
import copy
import random
from datetime import UTC, datetime
from typing import Any

from sentinai.bench.history import store_history
from sentinai.bench.workload import pack_documents
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import build_pack_set
from sentinai.samples import sample_exception
from sentinai.sinks.api_keys import create_api_key
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool
from tests.api.conftest import Web
from tests.support.pipeline import PACKS

TENANT = "acme"
DOMAIN = "CapitalMarketsTrading"
PACKS_PATH = f"/api/v1/tenants/{TENANT}/packs"


def with_threshold(domain: dict[str, Any], quantity: int) -> dict[str, Any]:
    """The domain pack with one more severity rule: trades over ``quantity`` are CRITICAL."""
    doc = copy.deepcopy(domain)
    doc["version"] = f"{domain['version']}-q{quantity}"
    doc["severityRules"] = [*domain["severityRules"],
                            {"name": "large-trade", "condition": f"payload.quantity > {quantity}",
                             "severity": "CRITICAL"}]
    return doc


def tenant_pack(samples: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(next(t for t in samples if t["tenantId"] == "acme-capital"))
    doc.update(tenantId=TENANT, governance={"requireSecondApprover": True})
    doc.pop("testSuites", None)
    return doc


def key_id(token: str) -> str:
    return token.split("_")[1]


async def wait_for_report(web: Web, proposal_id: int) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        status, body = await web.get(f"{PACKS_PATH}/proposals/{proposal_id}", key="root")
        assert status == 200, body
        if body["report_status"] != "pending":
            return body
        assert asyncio.get_running_loop().time() < deadline, "the report was not made in time"
        await asyncio.sleep(0.1)


async def simulated_severity(web: Web, exception_id: str) -> str:
    status, body = await web.send("POST", f"/api/v1/tenants/{TENANT}/exceptions/{exception_id}/simulate",
                                  key="acme-operator")
    assert status == 200, body
    assert body["packs"] == "active" and body["decision"]["stages"][0]["evidence"]
    return body["decision"]["severity"]


async def test_a_threshold_change_is_proposed_reported_approved_by_another_admin_and_rolled_back(
        web_env: Web, database_url: str) -> None:
    web = web_env
    web.keys["root2"] = await create_api_key(web.pool, "*", "admin")
    domains, samples = pack_documents(PACKS)
    base = with_threshold(next(d for d in domains if d["domainName"] == DOMAIN), 20_000)
    raised = with_threshold(next(d for d in domains if d["domainName"] == DOMAIN), 40_000)
    tenant = tenant_pack(samples)
    old_set, new_set = build_pack_set([base], [tenant]), build_pack_set([raised], [tenant])
    rng = random.Random(19)
    raws = []
    for index in range(300):
        raw = sample_exception(rng, old_set, TENANT)
        assert isinstance(raw, dict)
        raws.append({**raw, "exception_id": f"GOV-{index}"})
    async with open_pool(database_url) as pool:
        await store_packs(pool, [base], [tenant], created_by="migrate")
        await store_history(pool, old_set, raws, now=datetime.now(UTC))

    old_packs, new_packs = old_set.for_tenant(TENANT), new_set.for_tenant(TENANT)
    assert old_packs is not None and new_packs is not None
    before, after = {}, {}
    for raw in raws:
        exception = normalize(raw, now=datetime.now(UTC))
        before[exception.exception_id] = decide(exception, old_packs, now=exception.occurred_at).severity.value
        after[exception.exception_id] = decide(exception, new_packs, now=exception.occurred_at).severity.value
    moved = sorted(e for e in before if before[e] != after[e])
    assert 0 < len(moved) < len(raws)

    # The tenant requires a second approver: PUT packs proposes instead of activating.
    status, body = await web.send("PUT", PACKS_PATH, key="root", json={"domains": [raised]})
    assert status == 202, body
    proposal = body["proposal"]
    assert proposal["status"] == "proposed" and proposal["proposed_by"] == f"api-key:{key_id(web.keys['root'])}"
    [entry] = proposal["diff"]
    assert (entry["kind"], entry["name"], entry["to_version"]) == ("domain", DOMAIN, raised["version"])
    assert {"op": "changed", "path": f"severityRules[{len(base['severityRules']) - 1}].condition",
            "from": "payload.quantity > 20000", "to": "payload.quantity > 40000"} in entry["changes"]
    status, body = await web.get(PACKS_PATH, key="root")
    active = [v for v in body["versions"] if v["kind"] == "domain" and v["status"] == "active"]
    assert [v["version"] for v in active] == [base["version"]]

    done = await wait_for_report(web, proposal["id"])
    report = done["report"]
    assert done["report_status"] == "done", done["report_error"]
    assert report["compared"] == len(raws) and report["skipped"] == 0
    assert report["changed_by_field"]["severity"] == len(moved)
    off_diagonal = sum(n for old, row in report["severity_matrix"].items() for new, n in row.items() if old != new)
    assert off_diagonal == len(moved)
    for example in report["changed_exceptions"]:
        exception_id = example["exception_id"]
        assert ("severity" in example["changed"]) == (exception_id in moved)
        assert (example["active"]["severity"], example["candidate"]["severity"]) == (
            before[exception_id], after[exception_id])
        assert example["active"]["stages"] and example["candidate"]["stages"]

    approve = f"{PACKS_PATH}/proposals/{proposal['id']}/approve"
    status, body = await web.send("POST", approve, key="root", json={"comment": "looks right to me"})
    assert (status, body["error"]) == (403, "own_proposal")
    status, body = await web.send("POST", approve, key="acme-admin", json={"comment": "ok"})
    assert (status, body["error"]) == (403, "forbidden")  # a domain pack needs an admin for '*'
    status, body = await web.send("POST", approve, key="root2", json={"comment": "second pair of eyes"})
    assert status == 200, body
    assert body["status"] == "approved" and body["decided_by"] == f"api-key:{key_id(web.keys['root2'])}"
    assert [(a["kind"], a["version"]) for a in body["activated"]] == [("domain", raised["version"])]
    status, body = await web.send("POST", approve, key="root2", json={"comment": "again"})
    assert (status, body["error"]) == (409, "proposal_closed")

    for exception_id in moved[:20]:
        assert await simulated_severity(web, exception_id) == after[exception_id]
    again = await wait_for_report(web, proposal["id"])
    assert again["report"] == report

    # Rollback: one call, itself a proposal, approved by the other admin.
    status, body = await web.get(PACKS_PATH, key="root")
    base_id = next(v["id"] for v in body["versions"] if v["version"] == base["version"])
    status, body = await web.send("POST", f"{PACKS_PATH}/rollback", key="root2",
                                  json={"version_id": base_id, "comment": "undo"})
    assert status == 202, body
    rollback = body["proposal"]
    assert rollback["kind"] == "rollback"
    status, body = await web.send("POST", f"{PACKS_PATH}/proposals/{rollback['id']}/approve", key="root",
                                  json={"comment": "undo approved"})
    assert status == 200, body
    assert body["activated"] == [{"kind": "domain", "name": DOMAIN, "version": base["version"], "id": base_id}]
    for exception_id in moved[:20]:
        assert await simulated_severity(web, exception_id) == before[exception_id]

    status, body = await web.send("POST", f"{PACKS_PATH}/proposals", key="root",
                                  json={"domains": [raised], "comment": "try again"})
    assert status == 202, body
    rejected_id = body["proposal"]["id"]
    status, body = await web.send("POST", f"{PACKS_PATH}/proposals/{rejected_id}/reject", key="root2",
                                  json={"comment": "not this week"})
    assert (status, body["status"]) == (200, "rejected")

    status, body = await web.get(f"{PACKS_PATH}/events", key="acme-viewer")
    assert status == 200, body
    steps = [(e["event_type"], e["proposal_id"], e["actor_id"]) for e in reversed(body["items"])]
    root, root2 = (f"api-key:{key_id(web.keys[k])}" for k in ("root", "root2"))
    assert steps == [
        ("PackVersionActivated", None, "migrate"),
        ("PackVersionActivated", None, "migrate"),
        ("PackChangeProposed", proposal["id"], root),
        ("PackChangeApproved", proposal["id"], root2),
        ("PackVersionActivated", proposal["id"], root2),
        ("PackChangeProposed", rollback["id"], root2),
        ("PackChangeApproved", rollback["id"], root),
        ("PackVersionActivated", rollback["id"], root),
        ("PackChangeProposed", rejected_id, root),
        ("PackChangeRejected", rejected_id, root2),
    ]
    activation = next(e for e in body["items"] if e["proposal_id"] == proposal["id"]
                      and e["event_type"] == "PackVersionActivated")
    assert activation["payload"]["changes"] == entry["changes"] and activation["occurred_at"]
