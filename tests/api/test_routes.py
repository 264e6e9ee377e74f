"""OpenAPI coverage, pagination, commands produced by approvals and steps, health and metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.api.conftest import Web, consume_all

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
    for target in set(re.findall(r'"\$ref": "([^"]+)"', json.dumps(doc))):
        node = doc
        for part in target.removeprefix("#/").split("/"):
            node = node[part]
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


async def _seed_exceptions(web_env: Web, n: int) -> list[str]:
    base = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    ids = []
    for i in range(n):
        eid = f"E-{i:03d}"
        ids.append(eid)
        await web_env.pool.execute(
            "INSERT INTO exceptions (tenant_id, exception_id, exception_type, severity, status, version, created_at) "
            "VALUES ('acme', $1, $2, $3, $4, 1, $5)",
            eid, "SETTLEMENT_FAIL" if i % 2 else "POSITION_BREAK", "HIGH" if i % 3 == 0 else "LOW",
            "RESOLVED" if i % 4 == 0 else "NEW", base + timedelta(minutes=i // 2))  # pairs share a timestamp
    return ids


async def test_pagination_cursor_round_trip(web_env: Web) -> None:
    ids = await _seed_exceptions(web_env, 23)
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
    await _seed_exceptions(web_env, 12)
    status, body = await web_env.get(f"{T}/exceptions?status=RESOLVED")
    assert status == 200 and {i["status"] for i in body["items"]} == {"RESOLVED"} and len(body["items"]) == 3
    status, body = await web_env.get(f"{T}/exceptions?severity=HIGH&type=SETTLEMENT_FAIL")
    assert [i["exception_id"] for i in body["items"]] == ["E-009", "E-003"]
    status, body = await web_env.get(f"{T}/exceptions?since=2026-11-24T09:04:00Z&until=2026-11-24T09:05:00Z")
    assert sorted(i["exception_id"] for i in body["items"]) == ["E-008", "E-009"]


async def test_exception_detail_with_timeline_and_decisions(web_env: Web) -> None:
    await _seed_exceptions(web_env, 1)
    await web_env.pool.execute(
        "INSERT INTO exception_events (event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload, occurred_at) "
        "VALUES ('ev1', 'acme', 'E-000', 'ExceptionIngested', 'agent', 'intake', '{}', now() - interval '2 s'), "
        "('ev2', 'acme', 'E-000', 'TriageCompleted', 'agent', 'decide', $1, now() - interval '1 s'), "
        "('ev3', 'globex', 'E-000', 'TriageCompleted', 'agent', 'decide', $1, now())",
        json.dumps({"decision": "classified", "confidence": 0.9, "evidence": ["rule r1 matched"], "exception": {"x": 1}}))
    status, body = await web_env.get(f"{T}/exceptions/E-000")
    assert status == 200
    assert body["status"] == "RESOLVED"
    assert [e["event_id"] for e in body["timeline"]] == ["ev1", "ev2"]
    assert [d["event_id"] for d in body["decisions"]] == ["ev2"]
    assert body["decisions"][0]["evidence"] == ["rule r1 matched"] and "exception" not in body["decisions"][0]


async def test_approve_and_reject_produce_commands(web_env: Web) -> None:
    await web_env.pool.execute(
        "INSERT INTO approvals (approval_id, tenant_id, exception_id, status, requested_at) VALUES "
        "('ap-1', 'acme', 'E-1', 'PENDING', now()), ('ap-2', 'acme', 'E-2', 'PENDING', now()), "
        "('ap-3', 'acme', 'E-3', 'APPROVED', now()), ('ap-g', 'globex', 'G-1', 'PENDING', now())")
    status, body = await web_env.get(f"{T}/approvals?status=pending")
    assert status == 200 and sorted(a["approval_id"] for a in body["items"]) == ["ap-1", "ap-2"]
    status, body = await web_env.send("POST", f"{T}/approvals/ap-1/approve", json={"by": "ann", "comment": "fine"})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/approvals/ap-2/reject", json={"by": "bob"})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/approvals/ap-g/approve", json={"by": "ann"})
    assert status == 404
    messages = await consume_all(web_env.bootstrap, f"{web_env.settings.topic_prefix}.approvals", expect=2)
    commands = sorted((json.loads(m.value) for m in messages), key=lambda c: c["approval_id"])
    assert [(m.key) for m in messages] == [b"acme", b"acme"]
    assert [(c["command"], c["approval_id"], c["by"], c["comment"]) for c in commands] == [
        ("approve", "ap-1", "ann", "fine"), ("reject", "ap-2", "bob", None)]
    assert all(c["tenant_id"] == "acme" and c["requested_at"] for c in commands)


async def test_playbook_view_and_step_completion(web_env: Web) -> None:
    await web_env.pool.execute(
        "INSERT INTO exceptions (tenant_id, exception_id, status, playbook_id, current_step, version) "
        "VALUES ('acme', 'E-1', 'IN_PROGRESS', 'pb-settle', 2, 3), ('acme', 'E-2', 'NEW', NULL, NULL, 1)")
    await web_env.pool.execute(
        "INSERT INTO exception_events (event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload, occurred_at) "
        "VALUES ('p1', 'acme', 'E-1', 'PlaybookAssigned', 'agent', 'act', $1, now() - interval '3 s'), "
        "('p2', 'acme', 'E-1', 'PlaybookStepCompleted', 'agent', 'act', $2, now() - interval '2 s')",
        json.dumps({"playbook_id": "pb-settle", "steps": [{"action": "notify"}, {"action": "call_tool"}]}),
        json.dumps({"step": 1, "action": "notify"}))
    status, body = await web_env.get(f"{T}/exceptions/E-1/playbook")
    assert status == 200, body
    assert body["playbook_id"] == "pb-settle" and body["current_step"] == 2
    assert [(s["step"], s["status"]) for s in body["steps"]] == [(1, "completed"), (2, "pending")]
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/2/complete",
                                      json={"by": "ann", "comment": "called the desk", "output": {"ticket": "T-9"}})
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/exceptions/E-2/playbook/steps/1/complete", json={"by": "ann"})
    assert status == 409 and body["error"] == "no_playbook"
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/2/complete",
                                      key="acme-viewer", json={"by": "ann"})
    assert status == 403
    [message] = await consume_all(web_env.bootstrap, f"{web_env.settings.topic_prefix}.steps", expect=1)
    command = json.loads(message.value)
    assert message.key == b"acme"
    assert {k: command[k] for k in ("command", "tenant_id", "exception_id", "playbook_id", "step", "by", "output")} == {
        "command": "complete_step", "tenant_id": "acme", "exception_id": "E-1", "playbook_id": "pb-settle",
        "step": 2, "by": "ann", "output": {"ticket": "T-9"}}


async def test_health_ready_and_metrics(web_env: Web) -> None:
    status, body = await web_env.get("/health", key=None)
    assert status == 200 and body["status"] == "ok" and body["broker"] == "ok" and body["database"] == "ok"
    assert body["decision_feed"] == "live"
    status, body = await web_env.get("/health/ready", key=None)
    assert status == 200
    await web_env.pool.execute(
        "INSERT INTO approvals (approval_id, tenant_id, exception_id, status, requested_at) "
        "VALUES ('ap-1', 'acme', 'E-1', 'PENDING', now())")
    async with web_env.client.get("/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    assert "sentinai_http_requests_total" in text
    assert 'sentinai_pending_approvals{tenant="acme"} 1.0' in text
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert names and all(n.startswith("sentinai_") or not n.startswith(("http", "web")) for n in names)


async def test_status_aggregates(web_env: Web) -> None:
    await _seed_exceptions(web_env, 8)
    await web_env.pool.execute(
        "INSERT INTO exception_events (event_id, tenant_id, exception_id, event_type, actor_type, actor_id, payload, occurred_at) "
        "VALUES ('d1', 'acme', 'E-001', 'TriageCompleted', 'agent', 'decide', '{\"decision\": \"x\"}', now() - interval '30 s'), "
        "('u1', 'acme', 'E-004', 'ApprovalGranted', 'user', 'ann', '{}', now())")
    status, body = await web_env.get(f"{T}/status")
    assert status == 200, body
    assert body["exceptions_total"] == 8 and body["by_status"] == {"RESOLVED": 2, "NEW": 6}
    assert body["resolved"] == 2 and body["auto_resolved"] == 1 and body["auto_resolution_rate"] == 0.5
    assert body["decisions_series"][-1] == 1 and body["decisions_per_minute"] > 0
    assert body["mean_time_to_resolve_seconds"] is not None


async def test_status_page_is_served(web_env: Web) -> None:
    async with web_env.client.get("/") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        assert "EventSource" not in await resp.text()  # the script is a separate file (CSP: no inline JS)
    async with web_env.client.get("/static/app.js") as resp:
        assert resp.status == 200 and "EventSource" in await resp.text()
