"""Candidate packs are validated one at a time per tenant, whatever route sends them: a tenant's
second validation while one waits or runs is a 429 ``busy``, another tenant's is taken."""

from __future__ import annotations

import asyncio

import pytest

from sentinai.api.pack_validator import PACK_VALIDATOR
from sentinai.api.state import VALIDATING
from tests.api.conftest import Web
from tests.api.test_whatif_routes import T, critical_settlements, seed

ROUTES = {
    "put": ("PUT", f"{T}/packs"),
    "propose": ("POST", f"{T}/packs/proposals"),
    "whatif": ("POST", f"{T}/whatif"),
    "simulate": ("POST", f"{T}/exceptions/WI-0/simulate"),
}
NEXT = {"put": "simulate", "propose": "put", "whatif": "propose", "simulate": "whatif"}


async def until(condition, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + 30
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("first", list(ROUTES))
async def test_a_tenant_validates_one_candidate_at_a_time_and_does_not_queue_others_out(
        web_env: Web, database_url: str, first: str) -> None:
    tenant, _, _ = await seed(database_url, count=3)
    candidate = critical_settlements(tenant)
    turn = web_env.app[PACK_VALIDATOR]._turn
    await turn.acquire()  # the validator busy with some other validation
    held = True
    try:
        method, path = ROUTES[first]
        running = asyncio.create_task(web_env.send(method, path, key="acme-admin", json=candidate))
        await until(lambda: "acme" in web_env.app[VALIDATING], "the first validation did not start")

        method, path = ROUTES[NEXT[first]]
        status, body = await web_env.send(method, path, key="acme-admin", json=candidate)
        assert (status, body["error"]) == (429, "busy"), body
        assert "at a time per tenant" in body["detail"]  # a validation, or (simulate, what-if) a what-if

        other = asyncio.create_task(web_env.send("PUT", "/api/v1/tenants/globex/packs", key="globex-admin",
                                                 json={**candidate, "tenantId": "globex"}))
        await until(lambda: "globex" in web_env.app[VALIDATING], "another tenant's validation was not taken")
        turn.release()
        held = False
        status, body = await asyncio.wait_for(running, 120)
        assert status in (200, 202), body
        status, body = await asyncio.wait_for(other, 120)
        assert status == 200, body
    finally:
        if held:
            turn.release()
    assert not web_env.app[VALIDATING]
    status, body = await web_env.send("POST", f"{T}/exceptions/WI-0/simulate", key="acme-admin", json=candidate)
    assert status == 200, body
