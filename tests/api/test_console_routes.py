"""The read routes the console needs: tool executions with secrets masked, the approvals queue
oldest first, the differences between two pack versions, and the playbook's steps from its pack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from sentinai.core.json_diff import json_diff
from tests.api.conftest import Web
from tests.api.test_auth import assert_error
from tests.support.seed import NEEDS_APPROVAL, RESOLVED_AT_ONCE, WAITS_ON_A_TOOL, decided, store

T = "/api/v1/tenants/acme"
PACKS = Path(__file__).resolve().parents[2] / "packs"


async def test_tool_executions_masked_and_tenant_scoped(web_env: Web) -> None:
    await web_env.pool.execute(
        "INSERT INTO exceptions (tenant_id, exception_id, status, version) VALUES "
        "('acme', 'E-1', 'IN_PROGRESS', 3), ('globex', 'G-1', 'IN_PROGRESS', 3)")
    request = {"account": "ACC-1", "auth": {"api_key": "k-123", "user": "ops"}, "password": "p"}
    response = {"ticket": "T-9", "token": "t-456"}
    for tenant, exception_id, execution_id, started in (
            ("acme", "E-1", "x-2", "2026-11-24T09:31:00Z"), ("acme", "E-1", "x-1", "2026-11-24T09:30:00Z"),
            ("globex", "G-1", "g-1", "2026-11-24T09:30:00Z")):
        await web_env.pool.execute(
            "INSERT INTO tool_executions (tenant_id, execution_id, exception_id, tool_name, status, request, "
            "response, attempts, started_at, version) VALUES ($1, $2, $3, 'recon_rerun', 'SUCCEEDED', $4::jsonb, "
            "$5::jsonb, 1, $6::text::timestamptz, 3)",
            tenant, execution_id, exception_id, json.dumps(request), json.dumps(response), started)
    status, body = await web_env.get(f"{T}/exceptions/E-1/tool-executions")
    assert status == 200, body
    assert [i["execution_id"] for i in body["items"]] == ["x-1", "x-2"]
    item = body["items"][0]
    assert item["request"] == {"account": "ACC-1", "auth": {"api_key": "***", "user": "ops"}, "password": "***"}
    assert item["response"] == {"ticket": "T-9", "token": "***"}
    assert "k-123" not in json.dumps(body) and "t-456" not in json.dumps(body)
    status, body = await web_env.get(f"{T}/exceptions/G-1/tool-executions")
    assert_error(status, body, 404)
    status, body = await web_env.get("/api/v1/tenants/globex/exceptions/G-1/tool-executions")
    assert_error(status, body, 404)


async def test_approvals_queue_oldest_first(web_env: Web) -> None:
    now = datetime.now(UTC)
    new, old, mid = (decided("acme", exception_id, NEEDS_APPROVAL, at=at) for exception_id, at in (
        ("E-2", now), ("E-1", now - timedelta(hours=1)), ("E-3", now - timedelta(minutes=1))))
    await store(web_env.settings.database_url, new, old, mid)
    status, body = await web_env.get(f"{T}/approvals?status=pending&order=oldest&limit=2")
    assert status == 200 and [a["approval_id"] for a in body["items"]] == [old.approval_id, mid.approval_id]
    status, body = await web_env.get(f"{T}/approvals?status=pending")
    assert [a["approval_id"] for a in body["items"]] == [new.approval_id, mid.approval_id, old.approval_id]
    status, body = await web_env.get(f"{T}/approvals?order=sideways")
    assert_error(status, body, 400)


async def _versions(web_env: Web) -> dict[str, int]:
    tenant = yaml.safe_load((PACKS / "tenants" / "acme-capital.yaml").read_text())
    domain = yaml.safe_load((PACKS / "domains" / "capital-markets-trading.yaml").read_text())
    first = {**tenant, "tenantId": "acme", "domainName": domain["domainName"]}
    second = {**first, "approvalTimeoutMinutes": 15, "humanApprovalRules": []}
    ids = {}

    async def put(tenant: str, body: dict) -> list[dict]:
        status, answer = await web_env.send("PUT", f"/api/v1/tenants/{tenant}/packs", key="root", json=body)
        assert status == 200, answer
        return answer["activated"]

    activated = {v["kind"]: v["id"] for v in await put("acme", {"domains": [domain], "tenants": [first]})}
    ids["domain"], ids["first"] = activated["domain"], activated["tenant"]
    ids["second"] = (await put("acme", second))[0]["id"]
    ids["globex"] = (await put("globex", {**first, "tenantId": "globex"}))[0]["id"]
    return ids


async def test_pack_diff_between_two_versions(web_env: Web) -> None:
    ids = await _versions(web_env)
    status, body = await web_env.get(f"{T}/packs/diff?from={ids['first']}&to={ids['second']}")
    assert status == 200, body
    assert (body["from"]["status"], body["to"]["status"]) == ("deprecated", "active")
    assert "document" not in body["from"]
    changes = {c["path"]: c for c in body["changes"]}
    assert changes["approvalTimeoutMinutes"]["op"] in ("added", "changed")
    assert changes["approvalTimeoutMinutes"]["to"] == 15
    assert any(p.startswith("humanApprovalRules[") and c["op"] == "removed" for p, c in changes.items())
    status, body = await web_env.get(f"{T}/packs/diff?from={ids['first']}&to={ids['domain']}")
    assert_error(status, body, 422)
    status, body = await web_env.get(f"{T}/packs/diff?from={ids['first']}&to={ids['globex']}")
    assert_error(status, body, 404)
    status, body = await web_env.get(f"{T}/packs/diff?from={ids['first']}")
    assert_error(status, body, 400)


def test_json_diff_paths_and_kinds() -> None:
    old = {"a": 1, "b": {"c": [1, 2, 3]}, "gone": True, "t": 1}
    new = {"a": 1, "b": {"c": [1, 5]}, "t": "1", "extra": None}
    assert json_diff(old, new) == [
        {"op": "changed", "path": "b.c[1]", "from": 2, "to": 5},
        {"op": "removed", "path": "b.c[2]", "from": 3, "to": None},
        {"op": "removed", "path": "gone", "from": True, "to": None},
        {"op": "changed", "path": "t", "from": 1, "to": "1"},
        {"op": "added", "path": "extra", "from": None, "to": None},
    ]
    assert json_diff({"x": 1}, {"x": 1.0}) == [{"op": "changed", "path": "x", "from": 1, "to": 1.0}]
    assert json_diff([1], [1]) == []


async def test_playbook_lists_every_step_of_its_pack(web_env: Web) -> None:
    await _versions(web_env)
    waiting = decided("acme", "E-1", WAITS_ON_A_TOOL, at=datetime.now(UTC))  # its first step calls a tool
    await store(web_env.settings.database_url, waiting)
    domain = yaml.safe_load((PACKS / "domains" / "capital-markets-trading.yaml").read_text())
    [playbook] = [p for p in domain["playbooks"] if p["id"] == waiting.run.playbook_id]  # type: ignore[union-attr]
    status, body = await web_env.get(f"{T}/exceptions/E-1/playbook")
    assert status == 200, body
    assert [s["step"] for s in body["steps"]] == list(range(len(playbook["steps"])))
    assert [s["name"] for s in body["steps"]] == [s["name"] for s in playbook["steps"]]
    assert [s["status"] for s in body["steps"]] == ["started"] + ["pending"] * (len(playbook["steps"]) - 1)


async def test_completing_a_step_the_playbook_has_not_or_of_an_ended_playbook_is_refused(web_env: Web) -> None:
    """The API answers what it knows for sure at once, instead of a 202 the stream dead-letters:
    a step number beyond the playbook's steps is a 404, a step of a resolved exception a 409."""
    await _versions(web_env)
    now = datetime.now(UTC)
    waiting, done = decided("acme", "E-1", WAITS_ON_A_TOOL, at=now), decided("acme", "E-3", RESOLVED_AT_ONCE, at=now)
    await store(web_env.settings.database_url, waiting, done)
    assert waiting.run is not None
    steps = len(waiting.run.steps)
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/{steps}/complete", json={"by": "ann"})
    assert_error(status, body, 404)
    assert (body["error"], body["path"]) == ("no_step", "path.step") and f"has {steps} steps" in body["detail"]
    status, body = await web_env.send("POST", f"{T}/exceptions/E-3/playbook/steps/0/complete", json={"by": "ann"})
    assert_error(status, body, 409)
    assert body["error"] == "closed" and "RESOLVED" in body["detail"]
    status, body = await web_env.send("POST", f"{T}/exceptions/E-1/playbook/steps/{steps - 1}/complete",
                                      json={"by": "ann"})
    assert status == 202, body  # whether that step waits is the stream's to say
