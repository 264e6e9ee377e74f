"""Every bad-input class is a 4xx with a JSON {error, detail, path} body — never a 500."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import Web
from tests.api.test_auth import assert_error
from tests.support.seed import NEEDS_APPROVAL, approved, decided, expired, store

EXC = "/api/v1/tenants/acme/exceptions"


async def test_bad_json(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, data=b'{"payload": {', headers={"Content-Type": "application/json"})
    assert_error(status, body, 400)
    assert body["error"] == "bad_json" and body["path"] == "body"


async def test_not_utf8_and_empty_body(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, data=b"\xff\xfe{}", headers={"Content-Type": "application/json"})
    assert_error(status, body, 400)
    status, body = await web_env.send("POST", EXC, data=b"", headers={"Content-Type": "application/json"})
    assert_error(status, body, 400)
    # UTF-16 and UTF-32, which json.loads guesses from the first bytes: refused, as the stream refuses them
    exception = json.dumps({"exception_id": "E-16", "payload": {"a": 1}})
    for encoding in ("utf-16", "utf-16-le", "utf-32"):
        status, body = await web_env.send("POST", EXC, data=exception.encode(encoding),
                                          headers={"Content-Type": "application/json"})
        assert_error(status, body, 400)
        assert body["error"] == "bad_json", (encoding, body)
    status, body = await web_env.send("POST", EXC, data=b"\xef\xbb\xbf" + exception.encode(),  # a UTF-8 BOM is fine
                                      headers={"Content-Type": "application/json"})
    assert status == 202, body


async def test_wrong_content_type(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, data=b"<x/>", headers={"Content-Type": "application/xml"})
    assert_error(status, body, 415)
    valid = b'{"tenant_id": "acme", "exception_id": "CT-1", "payload": {}}'
    status, body = await web_env.send("POST", EXC, data=valid, headers={"Content-Type": "text/plain"})
    assert_error(status, body, 415)  # JSON text, but not said to be JSON
    assert body["path"] == "header.Content-Type"


async def test_oversize_body(web_env: Web) -> None:
    big = {"payload": {"blob": "x" * 100_000}}  # max_body_bytes is 64 KiB in these tests
    status, body = await web_env.send("POST", EXC, json=big)
    assert_error(status, body, 413)
    # chunked (no Content-Length) is cut off too
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(10):
            yield b"x" * 10_000
    status, body = await web_env.send("POST", EXC, data=chunks(), headers={"Content-Type": "application/json"})
    assert_error(status, body, 413)


async def test_body_of_wrong_shape(web_env: Web) -> None:
    status, body = await web_env.send("POST", EXC, json="just a string")
    assert_error(status, body, 400)
    status, body = await web_env.send("POST", EXC, json=[])
    assert_error(status, body, 400)


@pytest.mark.parametrize("body,field", [
    ({"by": "ann", "comment": "ok", "extra": 1}, "body.extra"),   # unknown field
    ({"by": 5}, "body.by"),                                         # mistyped
    ({"by": True}, "body.by"),                                      # bool is not a string
    ({"comment": "who?"}, "body.by"),                               # missing
    ({"by": " \t\n"}, "body.by"),                                   # blank: names no one (was a 202)
])
async def test_unknown_and_mistyped_fields(web_env: Web, body: dict, field: str) -> None:
    pending = decided("acme", "E-1", NEEDS_APPROVAL, at=datetime.now(UTC))
    await store(web_env.settings.database_url, pending)
    status, got = await web_env.send("POST", f"/api/v1/tenants/acme/approvals/{pending.approval_id}/approve",
                                     json=body)
    assert status in (400, 422), got
    assert_error(status, got, status)
    assert got["path"] == field


async def test_unknown_and_bad_query_parameters(web_env: Web) -> None:
    for query, path in [("?colour=red", "query.colour"), ("?limit=abc", "query.limit"),
                        ("?limit=0", "query.limit"), ("?limit=100000", "query.limit"),
                        ("?since=yesterday", "query.since"), ("?since=2026-01-01T00:00:00", "query.since"),
                        ("?limit=1&limit=2", "query.limit")]:
        status, body = await web_env.get(EXC + query)
        assert_error(status, body, 400)
        assert body["path"] == path, (query, body)


@pytest.mark.parametrize("route,query,allowed", [
    (EXC, "status=BOGUS", "OPEN, TRIAGED, PENDING_APPROVAL, IN_PROGRESS, ESCALATED, REJECTED, RESOLVED, CLOSED"),
    (EXC, "status=RESOLVED,BOGUS", "OPEN, TRIAGED, PENDING_APPROVAL"),
    (EXC, "severity=SEVERE", "LOW, MEDIUM, HIGH, CRITICAL"),
    (EXC, "severity=", "LOW, MEDIUM"),
    ("/api/v1/tenants/acme/approvals", "status=BOGUS", "PENDING, GRANTED, REJECTED, EXPIRED"),
    ("/api/v1/tenants/acme/approvals", "status=", "PENDING, GRANTED"),
])
async def test_a_filter_on_a_value_that_does_not_exist_is_400(web_env: Web, route: str, query: str,
                                                              allowed: str) -> None:
    """Not an empty list, as if no row had it: the parameter and the values it takes are named."""
    status, body = await web_env.get(f"{route}?{query}")
    assert_error(status, body, 400)
    name = query.split("=")[0]
    assert body["error"] == "invalid_parameter" and body["path"] == f"query.{name}", body
    assert f"query parameter {name!r}" in body["detail"] and allowed in body["detail"], body


async def test_filter_values_are_read_in_any_case(web_env: Web) -> None:
    now = datetime.now(UTC)
    pending = decided("acme", "E-1", NEEDS_APPROVAL, at=now)
    await store(web_env.settings.database_url, pending)
    for query in ("status=pending_approval", "status=PENDING_APPROVAL,resolved", "severity=critical,Low"):
        status, body = await web_env.get(f"{EXC}?{query}")
        assert status == 200 and [i["exception_id"] for i in body["items"]] == ["E-1"], (query, body)
    for query in ("status=pending", "status=PENDING"):
        status, body = await web_env.get(f"/api/v1/tenants/acme/approvals?{query}")
        assert status == 200 and [a["approval_id"] for a in body["items"]] == [pending.approval_id], (query, body)


def _cursor(created_at: str, exception_id: str) -> str:
    raw = json.dumps([created_at, exception_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "garbage", "eyJ4IjoxfQ", "WyJub3QgYSBkYXRlIiwiYSJd", "%FF%FE", "W10",
    # well-formed, but with what PostgreSQL cannot take (they were 500s)
    _cursor("2026-12-07T17:46:36+00:00", "a\u0000b"), _cursor("2026-12-07T17:46:36+00:00", "\ud800"),
    _cursor("0001-01-01T00:00:00+05:00", "a"), _cursor("9999-12-31T23:59:59-05:00", "a"),
])
async def test_bad_cursor(web_env: Web, cursor: str) -> None:
    status, body = await web_env.get(f"{EXC}?cursor={cursor}")
    assert_error(status, body, 400)
    assert body["error"] == "invalid_cursor" and body["path"] == "query.cursor"


async def test_unknown_tenant_and_route_and_method(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/tenants/initech/exceptions", key="root")
    assert_error(status, body, 404)
    status, body = await web_env.get("/api/v1/nothing-here")
    assert_error(status, body, 404)
    status, body = await web_env.send("DELETE", EXC)
    assert_error(status, body, 405)


async def test_bad_path_values(web_env: Web) -> None:
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/dlq/abc/replay")
    assert_error(status, body, 400)
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/exceptions/E-1/playbook/steps/x/complete",
                                      json={"by": "ann"})
    assert_error(status, body, 400)
    status, body = await web_env.get("/static/../../etc/passwd")
    assert status == 404


async def test_missing_records_are_404(web_env: Web) -> None:
    status, body = await web_env.get(f"{EXC}/NOPE")
    assert_error(status, body, 404)
    status, body = await web_env.get(f"{EXC}/NOPE/playbook")
    assert_error(status, body, 404)
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/approvals/missing/reject", json={"by": "ann"})
    assert_error(status, body, 404)
    status, body = await web_env.send("POST", f"{EXC}/NOPE/playbook/steps/1/complete", json={"by": "ann"})
    assert_error(status, body, 404)


async def test_answering_a_decided_approval_is_409(web_env: Web) -> None:
    answered = decided("acme", "E-1", NEEDS_APPROVAL, at=datetime.now(UTC))
    approved(answered, by="bob", at=datetime.now(UTC))
    await store(web_env.settings.database_url, answered)
    status, body = await web_env.send("POST", f"/api/v1/tenants/acme/approvals/{answered.approval_id}/approve",
                                      json={"by": "ann"})
    assert_error(status, body, 409)


async def test_answering_an_expired_approval_is_409_with_the_reason(web_env: Web) -> None:
    """An operator answering an approval that expired is told why it did: no answer in time."""
    at = datetime.now(UTC)
    waiting = decided("acme", "E-2", NEEDS_APPROVAL, at=at)
    expired(waiting, at=at + timedelta(days=2))
    await store(web_env.settings.database_url, waiting)
    status, body = await web_env.send("POST", f"/api/v1/tenants/acme/approvals/{waiting.approval_id}/approve",
                                      json={"by": "ann"})
    assert_error(status, body, 409)
    assert "EXPIRED" in body["detail"] and "no approval answer within" in body["detail"], body


async def test_bad_last_event_id(web_env: Web) -> None:
    status, body = await web_env.get("/api/v1/tenants/acme/decisions/stream", headers={"Last-Event-ID": "x" * 300})
    assert_error(status, body, 400)


async def test_nul_characters_are_400(web_env: Web) -> None:
    # found by schemathesis: PostgreSQL text cannot hold NUL, which used to surface as a 500
    status, body = await web_env.get(f"{EXC}?severity=8%00")
    assert_error(status, body, 400)
    status, body = await web_env.get(f"{EXC}/E%001")
    assert_error(status, body, 400)
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/approvals/a%00b/approve", json={"by": "ann"})
    assert_error(status, body, 400)


@pytest.mark.parametrize("raw,path", [
    (b'{"payload": {"n": ' + b"1" * 4301 + b"}}", "body"),                 # past Python's 4,300-digit limit
    (b'{"payload": {"n": ' + b"1" * 41 + b"}}", "body"),                   # past the documented 40 digits
    (b'{"payload": {"x": NaN}}', "body"),
    (b'{"payload": {"x": 1e400}}', "body"),
    (b'{"exception_id": "\\ud800", "payload": {}}', "body.exception_id"),   # a lone surrogate
    (b'{"exception_id": "E\\u0000", "payload": {}}', "body.exception_id"),
    (b'{"payload": ' + b'{"a":' * 40 + b"1" + b"}" * 40 + b"}", "body.payload" + ".a" * 31),
])
async def test_values_the_pipeline_cannot_keep_are_422(web_env: Web, raw: bytes, path: str) -> None:
    status, body = await web_env.send("POST", EXC, data=raw, headers={"Content-Type": "application/json"})
    assert_error(status, body, 422)
    assert body["path"] == path, body


async def test_any_json_body_refuses_what_cannot_be_kept(web_env: Web) -> None:
    status, body = await web_env.send("PUT", "/api/v1/tenants/acme/packs", key="acme-admin",
                                      data=b'{"tenantId": "acme", "x": "\\u0000"}',
                                      headers={"Content-Type": "application/json"})
    assert_error(status, body, 422)
    assert body["error"] == "invalid_value" and body["path"] == "body.x"
    status, body = await web_env.send("POST", "/api/v1/tenants/acme/approvals/ap-1/approve",
                                      data=b'{"by": ' + b"7" * 5000 + b"}", headers={"Content-Type": "application/json"})
    assert_error(status, body, 422)


async def test_a_timestamp_outside_the_representable_range_is_400(web_env: Web) -> None:
    status, body = await web_env.get(EXC + "?since=0001-01-01T00:00:00%2B14:00")
    assert_error(status, body, 400)
    assert body["path"] == "query.since"


def test_the_access_log_escapes_the_request_path(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from aiohttp import web
    from aiohttp.test_utils import make_mocked_request

    from sentinai.api.app import PathOnlyAccessLogger

    logger = logging.getLogger("test.access")
    request = make_mocked_request("GET", "/api/v1/tenants/acme/exceptions/x%0a127.0.0.1%20%22GET%20/admin%22%20200")
    with caplog.at_level(logging.INFO, logger="test.access"):
        PathOnlyAccessLogger(logger, "").log(request, web.Response(status=404), 0.001)
    [line] = caplog.messages
    assert "\n" not in line and "x\\n127.0.0.1" in line
