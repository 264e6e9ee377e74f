"""POST exceptions: validated per item with the core's normalize; accepted ones are produced."""

from __future__ import annotations

import json

from tests.api.conftest import Web, consume_all
from tests.api.test_auth import assert_error

EXC = "/api/v1/tenants/acme/exceptions"
GOOD = {"exception_id": "SF-1", "source_system": "settlements", "exception_type": "SETTLEMENT_FAIL",
        "occurred_at": "2026-11-24T09:30:00Z", "payload": {"orderId": "ORD-9", "amount": 125000.0},
        "context": {"slaMinutesRemaining": 95}}


async def test_one_object_is_produced_keyed_by_tenant(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, json=GOOD)
    assert status == 202, body
    assert body["accepted"] == [{"index": 0, "exception_id": "SF-1"}] and body["errors"] == []
    [message] = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=1)
    assert message.key == b"acme"
    assert json.loads(message.value) == {"tenant_id": "acme", **GOOD}


async def test_a_list_with_per_item_errors(web_env: Web) -> None:
    items = [
        GOOD,
        {"tenantId": "acme", "exceptionId": "SF-2", "rawPayload": {"x": 1}},  # camelCase, tenant given
        {"payload": {"no": "id"}},                                              # id derived
        {"tenant_id": "globex", "payload": {"x": 1}},                           # another tenant
        {"exception_id": "SF-5", "payload": "not an object"},                   # bad payload
        {"exception_id": "SF-6", "payload": {}, "occurred_at": "last tuesday"},  # bad timestamp
        "not an object",
    ]
    status, body = await web_env.send("POST", EXC, json=items)
    assert status == 202, body
    accepted = body["accepted"]
    assert [a["index"] for a in accepted] == [0, 1, 2]
    assert accepted[0]["exception_id"] == "SF-1" and accepted[1]["exception_id"] == "SF-2"
    assert accepted[2]["exception_id"].startswith("auto-")
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == [3, 4, 5, 6]
    assert errors[3]["error"] == "tenant_mismatch" and errors[3]["path"] == "body[3].tenant_id"
    assert errors[4]["path"] == "body[4].payload"
    assert errors[5]["path"] == "body[5].occurred_at"
    assert errors[6]["path"] == "body[6]"
    assert all({"error", "detail", "path"} <= e.keys() for e in body["errors"])
    messages = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=3)
    assert len(messages) == 3 and {m.key for m in messages} == {b"acme"}
    ids = sorted(json.loads(m.value).get("exception_id") or json.loads(m.value).get("exceptionId") or "auto"
                 for m in messages)
    assert ids == ["SF-1", "SF-2", "auto"]


async def test_exceptions_without_ids_differ_by_type_and_time_and_a_resend_keeps_its_id(web_env: Web) -> None:
    """Two breaks of one account an hour apart are two exceptions; the same one sent twice is one."""
    first = {"source_system": "recon", "exception_type": "CASH_BREAK", "occurred_at": "2026-12-07T10:00:00Z",
             "payload": {"account": "ZZ-1"}}
    items = [first, {**first, "exception_type": "POSITION_BREAK"}, {**first, "occurred_at": "2026-12-07T11:00:00Z"},
             dict(first)]
    status, body = await web_env.send("POST", EXC, json=items)
    assert status == 202, body
    ids = [a["exception_id"] for a in body["accepted"]]
    assert len(set(ids[:3])) == 3 and ids[3] == ids[0], ids


async def test_the_paths_tenant_with_blanks_around_it_is_the_same_tenant(web_env: Web) -> None:
    # as the stream reads it: normalize strips the tenant id, and intake takes " acme " keyed "acme"
    status, body = await web_env.send("POST", EXC, json={**GOOD, "tenant_id": " acme "})
    assert status == 202, body
    [message] = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=1)
    assert message.key == b"acme"


async def test_nothing_accepted_is_422_and_nothing_produced(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, json=[{"tenant_id": "globex", "payload": {}}, {"payload": 3}])
    assert_error(status, body, 422)
    assert len(body["errors"]) == 2 and body["accepted"] == []
    assert await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=1, timeout=2) == []


async def test_root_admin_posts_for_a_tenant(web_env: Web) -> None:
    status, body = await web_env.send("POST", "/api/v1/tenants/globex/exceptions", key="root",
                                      json={"payload": {"k": "v"}})
    assert status == 202, body
    [message] = await consume_all(web_env.bootstrap, web_env.settings.topic_exceptions, expect=1)
    assert message.key == b"globex" and json.loads(message.value)["tenant_id"] == "globex"
