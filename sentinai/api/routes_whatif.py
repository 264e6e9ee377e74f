"""What-if: the tenant's stored exceptions re-decided with candidate packs, and one exception
simulated with candidate packs or the active ones. Both only read: nothing is published or stored."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from aiohttp import web

from sentinai.api.auth import tenant_access
from sentinai.api.errors import ApiError, read_json
from sentinai.api.pack_documents import candidate_documents, invalid_packs
from sentinai.api.responses import int_between, ok, parse_query, timestamp
from sentinai.api.state import POOL, SETTINGS, WHATIFS
from sentinai.core.packs import PackValidationError
from sentinai.sinks.api_keys import Principal

routes = web.RouteTableDef()

MAX_WHATIFS = 2
"""What-if replays running at once in a web view (one per tenant): each decides a window of stored
exceptions twice, and must not crowd out the uploads and reads every tenant shares."""


@routes.post("/api/v1/tenants/{tenant}/whatif")
async def whatif(request: web.Request) -> web.Response:
    """Body: candidate documents as for PUT packs. Query: ``since`` / ``until`` (ISO 8601; by default
    the ``SENTINAI_WHATIF_WINDOW_DAYS`` before now), ``max_changed`` (changed exceptions listed).
    One at a time per tenant, ``MAX_WHATIFS`` in all: a 429 ``busy`` beyond."""
    who, tenant = await tenant_access(request, "operator")
    q = parse_query(request, {"since": timestamp, "until": timestamp,
                              "max_changed": int_between(0, 10_000)})
    with _one_at_a_time(request, tenant):
        return await _whatif(request, who, tenant, q)


@contextlib.contextmanager
def _one_at_a_time(request: web.Request, tenant: str) -> Iterator[None]:
    """A what-if or a simulation of ``tenant`` runs now: one per tenant, ``MAX_WHATIFS`` in all
    (429 ``busy`` beyond), so that no tenant's candidate packs crowd out the others'."""
    running = request.app[WHATIFS]
    if tenant in running:
        raise ApiError(429, "busy", f"a what-if or simulation of tenant {tenant!r} is running; one runs at a time "
                                    "per tenant")
    if len(running) >= MAX_WHATIFS:
        raise ApiError(429, "busy", f"the web view runs {MAX_WHATIFS} what-ifs and simulations at a time; try again "
                                    "when one is done")
    running.add(tenant)
    try:
        yield
    finally:
        running.discard(tenant)


async def _whatif(request: web.Request, who: Principal, tenant: str, q: dict) -> web.Response:
    from sentinai.whatif import active_and_candidate, run_whatif

    settings = request.app[SETTINGS]
    until = q.get("until") or datetime.now(UTC)
    since = q.get("since") or until - timedelta(days=settings.whatif_window_days)
    if since >= until:
        raise ApiError(400, "invalid_parameter", "since must be before until", "query.since")
    pool = request.app[POOL]
    domains, tenants = await candidate_documents(request, who, tenant,
                                                 await read_json(request, settings.max_body_bytes), change=False)
    try:
        active, candidate = await active_and_candidate(pool, tenant, domains, tenants)
    except PackValidationError as err:
        raise invalid_packs(err) from None
    transport = request.transport
    report = await run_whatif(pool, tenant, active, candidate, since, until, max_changed=q.get("max_changed", 100),
                              abandoned=lambda: transport is None or transport.is_closing())
    return ok({"tenant_id": tenant, "since": since, "until": until, **report.as_json()})


@routes.post("/api/v1/tenants/{tenant}/exceptions/{exception_id}/simulate")
async def simulate(request: web.Request) -> web.Response:
    """The decision the stored exception would get now, with the evidence of every stage. Body:
    candidate documents as for PUT packs (the answer then also has the active packs' decision and
    the fields that differ), or none for the active packs. Counted with the what-ifs: one at a
    time per tenant (429 ``busy``)."""
    who, tenant = await tenant_access(request, "operator")
    parse_query(request, {})
    with _one_at_a_time(request, tenant):
        return await _simulate(request, who, tenant)


async def _simulate(request: web.Request, who: Principal, tenant: str) -> web.Response:
    from sentinai.core.engine import decide
    from sentinai.core.normalize import RejectedInput
    from sentinai.core.whatif import DecisionView, changed_fields
    from sentinai.sinks.stored_exceptions import stored_exception
    from sentinai.whatif import active_and_candidate, restored

    pool = request.app[POOL]
    exception_id = request.match_info["exception_id"]
    row = await stored_exception(pool, tenant, exception_id)
    if row is None:
        raise ApiError(404, "not_found", f"no exception {exception_id[:200]!r} for tenant {tenant!r}")
    domains: list = []
    tenants: list = []
    has_candidate = request.body_exists
    if has_candidate:
        body = await read_json(request, request.app[SETTINGS].max_body_bytes)
        domains, tenants = await candidate_documents(request, who, tenant, body, change=False)
    try:
        active, candidate = await active_and_candidate(pool, tenant, domains, tenants)
        exception = restored(tenant, row)
    except PackValidationError as err:
        raise invalid_packs(err) from None
    except RejectedInput as err:
        raise ApiError(409, "not_replayable", f"the stored exception cannot be decided again: {err}") from None
    now = datetime.now(UTC)

    def decide_both() -> tuple[DecisionView, DecisionView | None]:
        # a tenant's packs decide in a thread, as a what-if does: never on the loop every tenant shares
        chosen = DecisionView.of(decide(exception, candidate, now=now))
        return chosen, DecisionView.of(decide(exception, active, now=now)) if has_candidate else None

    chosen, current = await asyncio.to_thread(decide_both)
    answer: dict = {"tenant_id": tenant, "exception_id": exception_id, "now": now,
                    "packs": "candidate" if has_candidate else "active", "decision": chosen.as_json()}
    if current is not None:
        answer["active_decision"] = current.as_json()
        answer["changed"] = list(changed_fields(current, chosen))
    return ok(answer)
