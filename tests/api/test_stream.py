"""The SSE decision stream: fed from the decisions topic, per tenant, resumable by Last-Event-ID."""

from __future__ import annotations

import asyncio

from sentinai.api.state import FEED
from sentinai.sinks.api_keys import authenticate, revoke_api_key
from tests.api.conftest import Web, decision, produce_json
from tests.api.sse import read_events

STREAM = "/api/v1/tenants/acme/decisions/stream"


async def test_decision_on_topic_reaches_the_tenants_stream_only(web_env: Web) -> None:
    topic = web_env.settings.topic_decisions
    async with web_env.client.get(STREAM, headers=web_env.auth("acme-viewer")) as acme, \
            web_env.client.get("/api/v1/tenants/globex/decisions/stream", headers=web_env.auth("globex-viewer")) as globex:
        assert acme.status == 200 and acme.headers["Content-Type"].startswith("text/event-stream")
        hello = await read_events(acme, want=1, event="hello")
        assert hello and hello[0].json()["tenant_id"] == "acme"
        mine = decision("acme", "E-1")
        other = decision("globex", "G-1")
        await produce_json(web_env.bootstrap, topic, "globex", [other])
        await produce_json(web_env.bootstrap, topic, "acme", [mine])
        got = await read_events(acme, want=1)
        assert [e.id for e in got] == [mine["event_id"]]
        assert got[0].json()["exception_id"] == "E-1"
        got_globex = await read_events(globex, want=1)
        assert [e.id for e in got_globex] == [other["event_id"]]


async def test_resume_by_last_event_id(web_env: Web) -> None:
    topic = web_env.settings.topic_decisions
    records = [decision("acme", f"E-{i}") for i in range(5)]
    async with web_env.client.get(STREAM, headers=web_env.auth("acme-viewer")) as first:
        await produce_json(web_env.bootstrap, topic, "acme", records[:2])
        got = await read_events(first, want=2)
        assert [e.id for e in got] == [r["event_id"] for r in records[:2]]
    # while disconnected, three more decisions (and another tenant's) are published
    await produce_json(web_env.bootstrap, topic, "globex", [decision("globex", "G-9")])
    await produce_json(web_env.bootstrap, topic, "acme", records[2:])
    feed = web_env.app[FEED]
    for _ in range(100):
        if records[-1]["event_id"] in feed._index:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the feed did not receive the decisions published while disconnected within 10 s")
    headers = {**web_env.auth("acme-viewer"), "Last-Event-ID": got[-1].id or ""}
    async with web_env.client.get(STREAM, headers=headers) as second:
        resumed = await read_events(second, want=3)
    assert [e.id for e in resumed] == [r["event_id"] for r in records[2:]]


async def test_unknown_last_event_id_sends_reset(web_env: Web) -> None:
    headers = {**web_env.auth("acme-viewer"), "Last-Event-ID": "gone-long-ago"}
    async with web_env.client.get(STREAM, headers=headers) as resp:
        reset = await read_events(resp, want=1, event="reset")
    assert reset and reset[0].json()["last_event_id"] == "gone-long-ago"


async def test_root_admin_streams_every_tenant_and_query_token(web_env: Web) -> None:
    topic = web_env.settings.topic_decisions
    path = f"/api/v1/decisions/stream?access_token={web_env.keys['root']}"
    async with web_env.client.get(path) as resp:
        assert resp.status == 200
        await read_events(resp, want=1, event="hello")
        a, g = decision("acme", "E-1"), decision("globex", "G-1")
        await produce_json(web_env.bootstrap, topic, "acme", [a])
        await produce_json(web_env.bootstrap, topic, "globex", [g])
        got = await read_events(resp, want=2)
    assert {e.id for e in got} == {a["event_id"], g["event_id"]}


async def test_heartbeats_and_duplicates(web_env: Web) -> None:
    topic = web_env.settings.topic_decisions
    record = decision("acme", "E-dup")
    async with web_env.client.get(STREAM, headers=web_env.auth("acme-viewer")) as resp:
        await read_events(resp, want=1, event="hello")
        await produce_json(web_env.bootstrap, topic, "acme", [record, record])  # at-least-once duplicate
        got = await read_events(resp, want=2, timeout=4)
        assert [e.id for e in got] == [record["event_id"]]
        line = b""
        for _ in range(10):  # heartbeat_seconds=1 in these tests
            line = await asyncio.wait_for(resp.content.readline(), 5)
            if line.startswith(b": ping"):
                break
        assert line.startswith(b": ping")


async def test_stream_needs_a_key(web_env: Web) -> None:
    status, body = await web_env.get(STREAM, key=None)
    assert status == 401 and body["error"] == "unauthorized"


async def test_head_does_not_open_a_stream(web_env: Web) -> None:
    async with web_env.client.head(STREAM, headers=web_env.auth("acme-viewer")) as resp:
        assert resp.status == 200 and resp.content_type == "text/event-stream"
    assert not web_env.app[FEED].subscribers


async def test_a_record_of_the_first_release_is_streamed_in_the_stages_shape(web_env: Web) -> None:
    """After an upgrade the decisions topic still holds records of the first release (one stage,
    its fields at the top); the stream shows every record in the one shape of its schema."""
    earlier = decision("acme", "E-OLD", decision="needs_review")
    earlier.update(earlier.pop("stages")[0])
    async with web_env.client.get(STREAM, headers=web_env.auth("acme-viewer")) as resp:
        await read_events(resp, want=1, event="hello")
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [earlier])
        got = (await read_events(resp, want=1))[0].json()
    assert got["stages"] == [{"stage": "triage", "decision": "needs_review", "confidence": 0.9,
                              "evidence": ["rule r1"], "next_step": "policy"}]
    assert "stage" not in got and "evidence" not in got and got["confidence"] == 0.9
    assert got["event_id"] == earlier["event_id"] and got["status"] == earlier["status"]


async def test_stream_cookie_opens_the_stream_with_no_key_in_the_url(web_env: Web) -> None:
    async with web_env.client.post("/api/v1/stream-session", headers=web_env.auth("acme-viewer")) as resp:
        assert resp.status == 204
        cookie = resp.cookies["sentinai_stream"]
    web_env.client.session.cookie_jar.clear()  # each request below sends the cookie it names, no other
    assert cookie.value == web_env.keys["acme-viewer"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/api/v1/"
    topic = web_env.settings.topic_decisions
    sent = {"Cookie": f"sentinai_stream={cookie.value}"}
    async with web_env.client.get(STREAM, headers=sent) as stream:
        assert stream.status == 200
        await read_events(stream, want=1, event="hello")
        record = decision("acme", "E-cookie")
        await produce_json(web_env.bootstrap, topic, "acme", [record])
        assert [e.id for e in await read_events(stream, want=1)] == [record["event_id"]]
    # the cookie is the key's: it reaches only what the key may see, and only the stream routes
    async with web_env.client.get("/api/v1/tenants/globex/decisions/stream", headers=sent) as other:
        assert other.status == 404
    async with web_env.client.get("/api/v1/whoami", headers=sent) as whoami:
        assert whoami.status == 401
    async with web_env.client.get(STREAM, headers={"Cookie": "sentinai_stream=not-a-key"}) as forged:
        assert forged.status == 401


async def test_stream_cookie_needs_a_valid_key_and_can_be_cleared(web_env: Web) -> None:
    async with web_env.client.post("/api/v1/stream-session") as anonymous:
        assert anonymous.status == 401 and "sentinai_stream" not in anonymous.cookies
    async with web_env.client.post("/api/v1/stream-session",
                                   headers={"Authorization": "Bearer not-a-key"}) as invalid:
        assert invalid.status == 401 and "sentinai_stream" not in invalid.cookies
    async with web_env.client.delete("/api/v1/stream-session") as cleared:
        assert cleared.status == 204
        gone = cleared.cookies["sentinai_stream"]
    assert gone.value == "" and gone["max-age"] == "0" and gone["path"] == "/api/v1/"


async def test_a_revoked_key_s_open_stream_ends(web_env: Web) -> None:
    """Revoking a key used to leave its open streams delivering the tenant's decisions."""
    token = web_env.keys["acme-viewer"]
    who = await authenticate(web_env.pool, token)
    assert who is not None
    async with web_env.client.get(STREAM, headers=web_env.auth("acme-viewer")) as stream:
        await read_events(stream, want=1, event="hello")
        assert await revoke_api_key(web_env.pool, who.key_id)
        revoked = await read_events(stream, want=1, event="revoked", timeout=10)
        assert revoked[0].json()["reason"] == "the API key was revoked"
        await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "acme", [decision("acme", "E-1")])
        assert await read_events(stream, want=1, timeout=3) == []  # closed: nothing after it
