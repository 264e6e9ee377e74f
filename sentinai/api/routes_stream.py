"""Server-Sent Events of decisions, fed by the shared :class:`DecisionFeed` (not by polling).

Each event: ``id:`` the record's event_id, ``event: decision``, ``data:`` the decision record.
A client resumes with ``Last-Event-ID`` (EventSource sends it on reconnect; ``?last_event_id=``
works too); when that id has left the ring buffer the stream starts with ``event: reset``.
A new client may ask for ``?history=N``: the latest N decisions of the ring first, then the live
stream, with no gap or repeat between them (the status page opens on what just happened).
EventSource cannot send headers, so these routes also take the key from the stream cookie
(``POST /api/v1/stream-session`` sets it; the console uses it) or as ``?access_token=``.
An open stream asks once a heartbeat whether its key is still live: a revoked key's stream ends
with ``event: revoked``.
"""

from __future__ import annotations

import json
import time

from aiohttp import web
from aiohttp_sse import EventSourceResponse

from sentinai.api.auth import STREAM_COOKIE, bearer_token, principal, tenant_access
from sentinai.api.errors import ApiError
from sentinai.api.responses import int_between, parse_query, short_text
from sentinai.api.state import FEED, POOL
from sentinai.sinks.api_keys import key_is_live

routes = web.RouteTableDef()
HEARTBEAT: web.AppKey[float] = web.AppKey("sse_heartbeat_seconds", float)
_QUERY = {"access_token": str, "last_event_id": short_text, "history": int_between(0, 1000)}


async def _stream(request: web.Request, tenant: str | None, key_id: str) -> web.StreamResponse:
    query = parse_query(request, _QUERY)
    feed = request.app[FEED]
    last_id = request.headers.get("Last-Event-ID") or query.get("last_event_id")
    if last_id is not None and len(last_id) > 200:
        raise ApiError(400, "invalid_last_event_id", "Last-Event-ID is longer than 200 characters", "header.Last-Event-ID")
    if request.method == "HEAD":  # aiohttp adds HEAD to every GET route; do not open a stream for it
        return web.Response(content_type="text/event-stream")
    heartbeat = request.app.get(HEARTBEAT, 15.0)
    resp = EventSourceResponse(ping_interval=heartbeat,
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    sub, backlog, found = feed.subscribe(tenant, last_id, history=query.get("history", 0))
    try:
        await resp.send(json.dumps({"tenant_id": tenant or "*", "resumed": bool(last_id) and found,
                                    "live": feed.ready.is_set()}), event="hello", retry=2000)
        if last_id and not found:
            await resp.send(json.dumps({"last_event_id": last_id, "reason": "not in the recent buffer"}),
                            event="reset")
        for item in backlog:
            await resp.send(item.data, id=item.event_id, event="decision")
        checked = time.monotonic()
        while resp.is_connected():
            batch = await sub.next_batch(timeout=heartbeat)
            if time.monotonic() - checked >= heartbeat:  # a key revoked meanwhile ends the stream
                if not await _still_live(request, key_id):
                    await resp.send(json.dumps({"reason": "the API key was revoked"}), event="revoked")
                    break
                checked = time.monotonic()
            for item in batch:
                await resp.send(item.data, id=item.event_id, event="decision")
            if sub.overflowed:
                await resp.send(json.dumps({"reason": "client too slow or server stopping; reconnect to resume"}),
                                event="overflow")
                break
    except (ConnectionResetError, TimeoutError):
        pass  # the client went away or stalled; aiohttp-sse aborted the transport
    finally:
        feed.unsubscribe(sub)
        resp.stop_streaming()
    return resp


async def _still_live(request: web.Request, key_id: str) -> bool:
    """The key is not revoked; a database that cannot be asked leaves the stream open."""
    try:
        return await key_is_live(request.app[POOL], key_id)
    except Exception:
        return True


@routes.get("/api/v1/tenants/{tenant}/decisions/stream")
async def tenant_stream(request: web.Request) -> web.StreamResponse:
    who, tenant = await tenant_access(request, allow_query=True)
    return await _stream(request, tenant, who.key_id)


@routes.get("/api/v1/decisions/stream")
async def all_stream(request: web.Request) -> web.StreamResponse:
    who = await principal(request, allow_query=True)
    if not who.all_tenants:
        raise ApiError(403, "forbidden", "streaming every tenant needs an admin key for tenant '*'")
    return await _stream(request, None, who.key_id)


@routes.post("/api/v1/stream-session")
async def open_stream_session(request: web.Request) -> web.Response:
    """Set the stream cookie to the request's key: HttpOnly (no script reads it), SameSite=Strict
    (no other site's page sends it), sent only under /api/v1/ and read only by the stream routes."""
    parse_query(request, {})
    await principal(request)
    resp = web.Response(status=204)
    resp.set_cookie(STREAM_COOKIE, bearer_token(request) or "", path="/api/v1/", httponly=True, samesite="Strict",
                    secure=request.secure)
    return resp


@routes.delete("/api/v1/stream-session")
async def close_stream_session(request: web.Request) -> web.Response:
    """Clear the stream cookie (the console's logout); needs no key, as it only forgets one."""
    parse_query(request, {})
    resp = web.Response(status=204)
    resp.del_cookie(STREAM_COOKIE, path="/api/v1/", httponly=True, samesite="Strict", secure=request.secure)
    return resp
