"""OpenAPI coverage, pagination, commands produced by approvals and steps, health and metrics."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import Web, consume_all
from tests.support.seed import (
    ESCALATED_AT_ONCE,
    NEEDS_APPROVAL,
    RESOLVED_AT_ONCE,
    WAITS_ON_A_TOOL,
    Seeded,
    approved,
    decided,
    store,
)

T = "/api/v1/tenants/acme"


async def test_openapi_covers_every_route(web_env: Web) -> None:
    status, doc = await web_env.get("/api/v1/openapi.json", key=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    missing = []
    for route in web_env.app.router.routes():
        method = route.method.lower()
        if method == "head":
            continue
        path = route.resource.canonical if route.resource else None
        if path is None or method not in doc["paths"].get(path, {}):
            missing.append(f"{route.method} {path}")
    assert not missing, missing
    # and nothing documented that is not served
    served = {(r.resource.canonical, r.method.lower()) for r in web_env.app.router.routes() if r.resource}
    for path, ops in doc["paths"].items():
        for method in ops:
            assert (path, method) in served, (method, path)


async def test_openapi_refs_resolve_and_schemas_are_valid() -> None:
    import re

    from jsonschema import Draft202012Validator

    from sentinai.api.openapi import openapi_document

    doc = openapi_document()

    def resolves(target: str) -> bool:
        node = doc
        for part in target.removeprefix("#/").split("/"):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    targets = set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc)))
    assert targets, "the document refers to no schema"
    assert sorted(t for t in targets if not resolves(t)) == []
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)  # raises SchemaError, naming what is wrong


KINDS = (RESOLVED_AT_ONCE, NEEDS_APPROVAL, ESCALATED_AT_ONCE, WAITS_ON_A_TOOL)


async def _seed_exceptions(web_env: Web, n: int) -> list[Seeded]:
    """``n`` exceptions of acme, decided two by two a minute apart, of four kinds in turn."""
    base = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    seeded = [decided("acme", f"E-{i:03d}", KINDS[i % len(KINDS)], at=base + timedelta(minutes=i // 2))
              for i in range(n)]  # pairs share a timestamp
    await store(web_env.settings.database_url, *seeded)
    return seeded


async def test_pagination_cursor_round_trip(web_env: Web) -> None:
    ids = [e.exception_id for e in await _seed_exceptions(web_env, 23)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=5" + (f"&cursor={cursor}" if cursor else "")
        status, body = await web_env.get(f"{T}/exceptions{query}")
        assert status == 200, body
        seen.extend(item["exception_id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 5
    assert seen == sorted(ids, reverse=True)  # newest first, ties broken by id, no gaps or repeats


async def test_filters(web_env: Web) -> None:
    seeded = await _seed_exceptions(web_env, 12)

    def newest_first(keep: Callable[[Seeded], bool]) -> list[str]:
        chosen = [e for e in seeded if keep(e)]
        assert chosen, "the seed must hold some of each"
        return [e.exception_id for e in sorted(chosen, key=lambda e: (e.created_at, e.exception_id), reverse=True)]

    status, body = await web_env.get(f"{T}/exceptions?status=RESOLVED")
    assert status == 200 and [i["exception_id"] for i in body["items"]] == newest_first(
        lambda e: e.status == "RESOLVED")
    status, body = await web_env.get(f"{T}/exceptions?severity=HIGH&type=SETTLEMENT_FAIL")
    assert [i["exception_id"] for i in body["items"]] == newest_first(
        lambda e: e.severity == "HIGH" and e.exception_type == "SETTLEMENT_FAIL")
    # a type is read as ingest stores it: separators as "_", in capitals
    status, body = await web_env.get(f"{T}/exceptions?severity=HIGH&type=settlement-fail,position%20break")
    assert status == 200 and [i["exception_id"] for i in body["items"]] == newest_first(
        lambda e: e.severity == "HIGH" and e.exception_type in ("SETTLEMENT_FAIL", "POSITION_BREAK"))
    status, body = await web_env.get(f"{T}/exceptions?since=2026-11-24T09:04:00Z&until=2026-11-24T09:05:00Z")
    assert sorted(i["exception_id"] for i in body["items"]) == ["E-008", "E-009"]


@pytest.mark.parametrize("deadline", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00", "0001-01-01T05:00:00+05:00",
                                      "9999-12-31T23:59:59.999999Z"])
async def test_an_sla_deadline_postgresql_would_store_as_infinity_is_ignored(web_env: Web, deadline: str) -> None:
    """`slaDeadline: 0001-01-01T00:00:00Z` (Go's zero time, .NET's DateTime.MinValue: no deadline)
    was stored as PostgreSQL's -infinity (asyncpg's datetime.min) and read back as
    `0001-01-01T00:00:00` with no zone; the last microsecond of 9999 as infinity. Such a deadline is
    ignored as one out of range is: the exception has its type's SLA, as without one."""
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    plain = decided("acme", "E-PLAIN", ESCALATED_AT_ONCE, at=at)
    extreme = decided("acme", "E-EXTREME", ESCALATED_AT_ONCE, at=at, context={"slaDeadline": deadline})
    await store(web_env.settings.database_url, plain, extreme)
    status, body = await web_env.get(f"{T}/exceptions/E-EXTREME")
    assert status == 200, body
    _, expected = await web_env.get(f"{T}/exceptions/E-PLAIN")
    assert body["sla_deadline"] == expected["sla_deadline"] == (at + timedelta(minutes=60)).isoformat()
    assert await web_env.pool.fetchval(
        "SELECT sla_deadline::text FROM exceptions WHERE exception_id = 'E-EXTREME'") == "2026-11-24 10:00:00+00"


async def test_exception_detail_with_timeline_and_decisions(web_env: Web) -> None:
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    mine, same_id_elsewhere = decided("acme", "E-000", NEEDS_APPROVAL, at=at), decided("globex", "E-000",
                                                                                        NEEDS_APPROVAL, at=at)
    await store(web_env.settings.database_url, mine, same_id_elsewhere)
    status, body = await web_env.get(f"{T}/exceptions/E-000")
    assert status == 200
    assert body["status"] == "PENDING_APPROVAL" and body["severity"] == mine.severity
    assert [e["event_id"] for e in body["timeline"]] == [e.event_id for e in mine.events]
    assert [d["event_id"] for d in body["decisions"]] == [e.event_id for e in mine.events if "decision" in e.payload]
    assert [d["event_type"] for d in body["decisions"]] == ["TriageCompleted", "PolicyEvaluated", "PlaybookAssigned"]
    assert all(d["decision"]["evidence"] and "exception" not in d for d in body["decisions"])
    # the stage's fields at the top too, as the Decision schema has them
    assert [d["stage"] for d in body["decisions"]] == ["triage", "policy", "playbook"]
    assert all(d["evidence"] == d["decision"]["evidence"] and d["confidence"] == d["decision"]["confidence"]
               for d in body["decisions"])


async def test_approve_and_reject_produce_commands(web_env: Web) -> None:
    now = datetime.now(UTC)
    first, second, answered = (decided("acme", f"E-{i}", NEEDS_APPROVAL, at=now) for i in (1, 2, 3))
    elsewhere = decided("globex", "G-1", NEEDS_APPROVAL, at=now)
    approved(answered, by="carl", at=now)
    await store(web_env.settings.database_url, first, second, answered, elsewhere)
    status, body = await web_env.get(f"{T}/approvals?status=pending")
    assert status == 200 and sorted(a["approval_id"] for a in body["items"]) == sorted(
        [first.approval_id, second.approval_id])
    status, body = await web_env.send("POST", f"{T}/approvals/{first.approval_id}/approve",
                                      json={"by": "ann", "comment": "fine"})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/approvals/{second.approval_id}/reject", json={"by": "bob"})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/approvals/{elsewhere.approval_id}/approve", json={"by": "ann"})
    assert status == 404
    messages = await consume_all(web_env.bootstrap, f"{web_env.settings.topic_prefix}.approvals", expect=2)
    commands = sorted((json.loads(m.value) for m in messages), key=lambda c: c["command"])
    assert [(m.key) for m in messages] == [b"acme", b"acme"]
    assert [(c["command"], c["approval_id"], c["by"], c["comment"]) for c in commands] == [
        ("approve", first.approval_id, "ann", "fine"), ("reject", second.approval_id, "bob", None)]
    assert all(c["tenant_id"] == "acme" and c["requested_at"] for c in commands)


async def test_playbook_view_and_step_completion(web_env: Web) -> None:
    now = datetime.now(UTC)
    waiting, done = decided("acme", "E-1", WAITS_ON_A_TOOL, at=now), decided("acme", "E-3", RESOLVED_AT_ONCE, at=now)
    await store(web_env.settings.database_url, waiting, done, decided("acme", "E-2", ESCALATED_AT_ONCE, at=now))
    assert waiting.run is not None and done.run is not None
    status, body = await web_env.get(f"{T}/exceptions/E-1/playbook")
    assert status == 200, body
    assert body["playbook_id"] == waiting.run.playbook_id and body["current_step"] == 0 and not body["completed"]
    assert [(s["step"], s["status"], s["name"]) for s in body["steps"]] == [(0, "started", waiting.run.steps[0].name)]
    status, body = await web_env.get(f"{T}/exceptions/E-3/playbook")
    assert body["completed"] and body["status"] == "RESOLVED"
    assert [(s["step"], s["status"]) for s in body["steps"]] == [(i, "completed") for i in range(len(done.run.steps))]
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/0/complete",
                                      json={"by": "ann", "comment": "called the desk", "output": {"ticket": "T-9"}})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/exceptions/E-2/playbook/steps/0/complete", json={"by": "ann"})
    assert status == 409 and body["error"] == "no_playbook"
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/0/complete",
                                      key="acme-viewer", json={"by": "ann"})
    assert status == 403
    [message] = await consume_all(web_env.bootstrap, f"{web_env.settings.topic_prefix}.steps", expect=1)
    command = json.loads(message.value)
    assert message.key == b"acme"
    assert {k: command[k] for k in ("command", "tenant_id", "exception_id", "playbook_id", "step", "by", "output")} == {
        "command": "complete_step", "tenant_id": "acme", "exception_id": "E-1", "playbook_id": waiting.run.playbook_id,
        "step": 0, "by": "ann", "output": {"ticket": "T-9"}}


async def test_health_ready_and_metrics(web_env: Web) -> None:
    status, body = await web_env.get("/health", key=None)
    assert status == 200 and body["status"] == "ok" and body["broker"] == "ok" and body["database"] == "ok"
    assert body["decision_feed"] == "live"
    status, body = await web_env.get("/health/ready", key=None)
    assert status == 200
    await store(web_env.settings.database_url, decided("acme", "E-1", NEEDS_APPROVAL, at=datetime.now(UTC)))
    async with web_env.client.get("/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    assert "sentinai_http_requests_total" in text
    assert 'sentinai_pending_approvals{tenant="acme"} 1.0' in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names and all(n.startswith("sentinai_") or not n.startswith(("http", "web")) for n in names)


async def test_health_probes_may_add_a_query_string(web_env: Web) -> None:
    """Kubernetes probes and load balancers often add a query string; /health?probe=1 was a 400
    (unknown query parameter). The health routes ignore their query; /api/v1 routes stay strict."""
    for path in ("/health?probe=1", "/health?probe=1&probe=2&ts=1700000000", "/health/ready?probe=1"):
        status, body = await web_env.get(path, key=None)
        assert status == 200 and body["status"] == "ok", (path, body)
    status, body = await web_env.get("/api/v1/whoami?probe=1")
    assert status == 400 and body["error"] == "unknown_parameter" and body["path"] == "query.probe"


async def test_status_aggregates(web_env: Web) -> None:
    now = datetime.now(UTC)
    by_agents = decided("acme", "E-1", RESOLVED_AT_ONCE, at=now - timedelta(seconds=40))
    by_a_person = decided("acme", "E-2", NEEDS_APPROVAL, at=now - timedelta(seconds=30))
    approved(by_a_person, by="ann", at=now - timedelta(seconds=10))  # its tools then succeed: RESOLVED
    escalated = decided("acme", "E-3", ESCALATED_AT_ONCE, at=now - timedelta(seconds=20))
    await store(web_env.settings.database_url, by_agents, by_a_person, escalated)
    status, body = await web_env.get(f"{T}/status")
    assert status == 200, body
    assert body["exceptions_total"] == 3 and body["by_status"] == {"RESOLVED": 2, "ESCALATED": 1}
    assert body["resolved"] == 2 and body["auto_resolved"] == 1 and body["auto_resolution_rate"] == 0.5
    assert body["mean_time_to_resolve_seconds"] == 10.0  # (0 s + 20 s) / 2
    decisions = 4  # the decision records: three decided exceptions and one approval (its steps with it)
    assert sum(body["decisions_series"]) == decisions and body["decisions_series"][-1] == decisions
    assert body["decisions_per_minute"] == round(decisions / len(body["decisions_series"]), 3)


async def test_status_page_is_served(web_env: Web) -> None:
    async with web_env.client.get("/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "EventSource" not in await resp.text()  # the script is a separate file (CSP: no inline JS)
    async with web_env.client.get("/static/app.js") as resp:
        assert resp.status == 200 and "EventSource" in await resp.text()
