"""Dead letters (list, replay) and packs (get, put with validation, and what `sentinai migrate`
stored)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from sentinai.core.normalize import RejectedInput
from sentinai.migrate import import_packs
from sentinai.sinks.dead_letters import record_dead_letter
from sentinai.sinks.pool import open_pool
from sentinai.streams.dlq import PREFIX, STAGE, dlq_headers, headers_dict
from tests.api.conftest import Web, consume_all
from tests.api.test_auth import assert_error

PACKS = Path(__file__).resolve().parents[2] / "packs"
T = "/api/v1/tenants/acme"


async def _dead_letter(web: Web, tenant: str, offset: int, value: bytes = b'{"exception_id": "E-7", "payload": 1}',
                       extra: dict[str, str] | None = None) -> int:
    """A message the intake rejected, parked on the DLQ and stored as the dead-letter agent stores it
    (with ``extra`` headers, such as those of a value cut to fit the DLQ)."""
    topic = web.settings.topic_exceptions
    headers = headers_dict(dlq_headers(topic=topic, partition=0, offset=offset, stage="intake", tenant_id=tenant,
                                       error=RejectedInput("payload must be a JSON object, got int", "payload")))
    headers.update(extra or {})
    async with open_pool(web.settings.database_url, max_size=1) as pool:  # set up as the worker's is
        await record_dead_letter(pool, tenant_id=tenant, source_topic=topic, source_partition=0,
                                 source_offset=offset, stage=headers[STAGE],
                                 error_class=headers[f"{PREFIX}.exception.class.name"],
                                 error_message=headers[f"{PREFIX}.exception.message"], headers=headers,
                                 key=tenant.encode(), value=value)
    return int(await web.pool.fetchval("SELECT id FROM dead_letters WHERE source_topic = $1 AND source_offset = $2",
                                       topic, offset))


async def test_dlq_list_and_replay(web_env: Web) -> None:
    first = await _dead_letter(web_env, "acme", 10)
    second = await _dead_letter(web_env, "acme", 11, value=b"\xff\x00binary")
    other = await _dead_letter(web_env, "globex", 12)
    status, body = await web_env.get(f"{T}/dlq")
    assert status == 200, body
    assert [d["id"] for d in body["items"]] == [second, first]
    item = body["items"][1]
    assert item["headers"]["__connect.errors.exception.class.name"] == "RejectedInput"
    assert item["value_size"] == len(b'{"exception_id": "E-7", "payload": 1}')
    status, item = await web_env.get(f"{T}/dlq/{first}")
    assert status == 200 and item["value"]["encoding"] == "utf-8" and "E-7" in item["value"]["text"]
    assert item["key"]["text"] == "acme"
    status, item = await web_env.get(f"{T}/dlq/{second}")
    assert item["value"]["encoding"] == "base64"
    status, body404 = await web_env.get(f"{T}/dlq/{other}")
    assert_error(status, body404, 404)
    status, body = await web_env.get(f"{T}/dlq?limit=1")
    assert [d["id"] for d in body["items"]] == [second] and body["next_before_id"] == second
    status, body = await web_env.get(f"{T}/dlq?limit=1&before_id={second}")
    assert [d["id"] for d in body["items"]] == [first]

    status, body = await web_env.send("POST", f"{T}/dlq/{other}/replay")  # globex's entry
    assert_error(status, body, 404)
    status, body = await web_env.send("POST", f"{T}/dlq/{first}/replay", key="acme-viewer")
    assert_error(status, body, 403)
    status, body = await web_env.send("POST", f"{T}/dlq/{first}/replay")
    assert status == 202, body
    [message] = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=1)
    assert message.key == b"acme" and message.value == b'{"exception_id": "E-7", "payload": 1}'
    headers = dict(message.headers)
    assert headers["sentinai.replayed_from"] == str(first).encode()
    assert not any(k.startswith("__connect.errors.") for k in headers)
    [record] = await consume_all(web_env.bootstrap, web_env.settings.topic_events, expect=1)
    transition = json.loads(record.value)
    [event] = transition["events"]
    assert transition["exception_id"] == "E-7" and transition["exception"] is None
    assert event["event_type"] == "DeadLetterReplayed" and event["actor"]["type"] == "user"
    status = await web_env.pool.fetchval("SELECT status FROM dead_letters WHERE id = $1", first)
    assert status != "new"


def _doc(kind: str, name: str) -> dict:
    return yaml.safe_load((PACKS / kind / f"{name}.yaml").read_text())


async def test_put_and_get_packs(web_env: Web) -> None:
    domain, tenant = _doc("domains", "capital-markets-trading"), _doc("tenants", "acme-capital")
    path = "/api/v1/tenants/acme-capital/packs"
    status, body = await web_env.send("PUT", path, key="root", json={"domains": [domain], "tenants": [tenant]})
    assert status == 200, body
    assert body["activated"]
    status, body = await web_env.get(path, key="root")
    assert status == 200 and body["versions"], body
    # one tenant pack on its own, changed
    changed = {**tenant, "version": "1.0.1", "displayName": "Acme (renamed)"}
    status, body = await web_env.send("PUT", path, key="root", json=changed)
    assert status == 200, body


async def test_pack_versions_come_a_page_at_a_time_with_the_active_ones_on_every_page(web_env: Web) -> None:
    """Every change is a stored version of up to SENTINAI_MAX_PACK_BYTES: the list pages on."""
    domain, tenant = _doc("domains", "capital-markets-trading"), _doc("tenants", "acme-capital")
    path = "/api/v1/tenants/acme-capital/packs"
    status, body = await web_env.send("PUT", path, key="root", json={"domains": [domain], "tenants": [tenant]})
    assert status == 200, body
    for i in range(4):
        status, body = await web_env.send("PUT", path, key="root", json={**tenant, "version": f"1.1.{i}"})
        assert status == 200, body
    seen: list[int] = []
    before = ""
    while True:
        status, page = await web_env.get(f"{path}?limit=2{before}", key="root")
        assert status == 200, page
        assert sorted((v["kind"], v["version"]) for v in page["active"]) == [
            ("domain", domain["version"]), ("tenant", "1.1.3")], page["active"]
        seen += [v["id"] for v in page["versions"]]
        if page["next_before_id"] is None:
            break
        assert len(page["versions"]) == 2 and page["next_before_id"] == page["versions"][-1]["id"]
        before = f"&before_id={page['next_before_id']}"
    assert len(seen) == 6 and seen == sorted(seen, reverse=True), seen  # 1 domain + 5 tenant versions
    _, whole = await web_env.get(path, key="root")
    assert [v["id"] for v in whole["versions"]] == seen and whole["next_before_id"] is None
    for bad in ("limit=0", "limit=201", "before_id=x"):
        status, body = await web_env.get(f"{path}?{bad}", key="root")
        assert_error(status, body, 400)


async def test_packs_imported_by_migrate_are_kept_as_written(web_env: Web) -> None:
    """`sentinai migrate` stores the pack files' documents: the same document sent by PUT is the
    version already active, and a diff to a changed one shows the change alone."""
    await asyncio.to_thread(import_packs, web_env.settings.database_url, PACKS)
    tenant = _doc("tenants", "acme-capital")
    path = "/api/v1/tenants/acme-capital/packs"
    status, body = await web_env.send("PUT", path, key="root", json=tenant)
    assert status == 200 and body["activated"] == [], body
    status, body = await web_env.send("PUT", path, key="root", json={**tenant, "displayName": "Acme (renamed)"})
    assert status == 200 and len(body["activated"]) == 1, body
    _, listed = await web_env.get(path, key="root")
    new, old = [v["id"] for v in listed["versions"] if v["kind"] == "tenant"][:2]
    status, diff = await web_env.get(f"{path}/diff?from={old}&to={new}", key="root")
    assert status == 200, diff
    assert [(c["op"], c["path"]) for c in diff["changes"]] == [("changed", "displayName")], diff["changes"]


async def test_put_packs_validation_errors(web_env: Web) -> None:
    tenant = _doc("tenants", "acme-capital")
    path = "/api/v1/tenants/acme-capital/packs"
    bad = {**tenant, "domainName": "NoSuchDomain", "approvedTools": "not-a-list"}
    status, body = await web_env.send("PUT", path, key="root", json=bad)
    assert_error(status, body, 422)
    assert body["error"] == "invalid_pack" and body["issues"]
    assert all({"file", "path", "message"} <= i.keys() for i in body["issues"])
    status, body = await web_env.send("PUT", path, key="root", json={**tenant, "tenantId": "globex-markets"})
    assert_error(status, body, 422)
    assert body["error"] == "tenant_mismatch"


async def test_put_packs_access_rules(web_env: Web) -> None:
    domain, tenant = _doc("domains", "capital-markets-trading"), _doc("tenants", "acme-capital")
    status, body = await web_env.send("PUT", f"{T}/packs", key="acme-admin", json={"domains": [domain]})
    assert_error(status, body, 403)  # domain packs are shared: only a '*' admin
    status, body = await web_env.send("PUT", f"{T}/packs", key="acme-operator", json={**tenant, "tenantId": "acme"})
    assert_error(status, body, 403)
    status, body = await web_env.send("PUT", f"{T}/packs", key="acme-admin", json={"colour": "red"})
    assert_error(status, body, 400)


async def test_a_dead_letter_is_replayed_once_unless_forced(web_env: Web) -> None:
    letter = await _dead_letter(web_env, "acme", 20)
    status, body = await web_env.send("POST", f"{T}/dlq/{letter}/replay")
    assert status == 202, body
    status, body = await web_env.send("POST", f"{T}/dlq/{letter}/replay")
    assert_error(status, body, 409)
    assert body["error"] == "already_replayed" and "force=true" in body["detail"]
    status, body = await web_env.send("POST", f"{T}/dlq/{letter}/replay?force=true")
    assert status == 202, body
    copies = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=3, timeout=5)
    assert len(copies) == 2


async def test_a_truncated_dead_letter_is_not_replayed(web_env: Web) -> None:
    letter = await _dead_letter(web_env, "acme", 21, extra={
        "sentinai.value.truncated": "true", "sentinai.value.size": "5000000", "sentinai.value.sha256": "ab" * 32})
    status, body = await web_env.send("POST", f"{T}/dlq/{letter}/replay?force=true")
    assert_error(status, body, 409)
    assert body["error"] == "truncated" and "5000000" in body["detail"]
    letter = await _dead_letter(web_env, "acme", 22, extra={"sentinai.key.truncated": "true",
                                                            "sentinai.key.size": "600000"})
    status, body = await web_env.send("POST", f"{T}/dlq/{letter}/replay?force=true")
    assert_error(status, body, 409)
    assert body["error"] == "truncated" and "key's 600000 bytes" in body["detail"]


@pytest.mark.parametrize("dl_id", ["²", "٣", "３", "1e3"])
async def test_dead_letter_ids_are_ascii_digits(web_env: Web, dl_id: str) -> None:
    await _dead_letter(web_env, "acme", 22)
    for method, path in (("GET", f"{T}/dlq/{dl_id}"), ("POST", f"{T}/dlq/{dl_id}/replay")):
        status, body = await web_env.send(method, path)
        assert_error(status, body, 400)
        assert body["error"] == "invalid_id"
