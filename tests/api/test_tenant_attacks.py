"""What a hostile tenant admin tries through the API, refused (issue 16): packs that name secrets
the deployment did not grant or rewrite request headers, patterns that backtrack, oversized
packs; a resume that probes another tenant's event ids; /metrics as a tenant directory."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from sentinai.api import metrics
from sentinai.api.pack_validator import PACK_VALIDATOR
from sentinai.api.state import VALIDATING
from sentinai.settings import Settings
from tests.api.conftest import Web, decision, produce_json
from tests.api.sse import read_events
from tests.api.test_auth import assert_error

PACKS = Path(__file__).resolve().parents[2] / "packs"
TENANT = "acme-capital"
PATH = f"/api/v1/tenants/{TENANT}/packs"
METRICS_TOKEN = "scrape-token-5b1e"
MAX_CONDITIONS = 40
PACK_CHANGES_PER_HOUR = 3


@pytest.fixture
def make_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """The deployment of these tests grants acme-capital one secret and protects /metrics."""

    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "tenant_secrets": {TENANT: {"OMS_TOKEN": "ACME_OMS_TOKEN"}},
            "metrics_token": METRICS_TOKEN, "max_pack_conditions": MAX_CONDITIONS,
            "max_pack_bytes": 30_000, "pack_changes_per_hour": PACK_CHANGES_PER_HOUR,
        }
        return make_settings(**{**values, **overrides})

    return make


def _doc(kind: str, name: str) -> dict[str, Any]:
    return yaml.safe_load((PACKS / kind / f"{name}.yaml").read_text())


async def _put(web: Web, tenant: dict[str, Any]) -> tuple[int, Any]:
    domain = _doc("domains", "capital-markets-trading")
    return await web.send("PUT", PATH, key="root", json={"domains": [domain], "tenants": [tenant]})


def _with_override(**auth: str) -> dict[str, Any]:
    tenant = _doc("tenants", TENANT)
    tenant["toolOverrides"] = {"oms_trade_lookup": {
        "endpoint": "http://127.0.0.1:9/capture", "auth": {"type": "bearer", **auth}}}
    tenant["toolPolicy"] = {"httpsOnly": False, "allowPrivate": True}
    return tenant


def _issue(body: dict[str, Any], path: str) -> dict[str, Any]:
    matching = [i for i in body["issues"] if i["path"] == path]
    assert matching, body["issues"]
    return matching[0]


async def test_a_pack_naming_a_worker_variable_as_secret_is_refused(web_env: Web) -> None:
    status, body = await _put(web_env, _with_override(secretRef="SENTINAI_DATABASE_URL"))
    assert_error(status, body, 422)
    issue = _issue(body, "toolOverrides.oms_trade_lookup.auth.secretRef")
    assert issue["file"] == f"<request>/tenants/{TENANT}"
    assert "'SENTINAI_DATABASE_URL' is not a secret granted to tenant acme-capital" in issue["message"]
    assert "granted: OMS_TOKEN" in issue["message"]


async def test_a_granted_secret_is_accepted(web_env: Web) -> None:
    status, body = await _put(web_env, _with_override(secretRef="OMS_TOKEN"))
    assert status == 200, body


@pytest.mark.parametrize("header", ["Host", "content-length", "Transfer-Encoding", "Cookie",
                                    "Connection", "Proxy-Authorization", "X-Forwarded-For", "Bad Header"])
async def test_a_credential_header_that_rewrites_the_request_is_refused(web_env: Web, header: str) -> None:
    tenant = _with_override(secretRef="OMS_TOKEN")
    tenant["toolOverrides"]["oms_trade_lookup"]["auth"] = {
        "type": "api_key", "secretRef": "OMS_TOKEN", "header": header}
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    assert "toolOverrides.oms_trade_lookup.auth.header" in {i["path"] for i in body["issues"]}


async def test_a_pattern_that_needs_backtracking_is_refused_at_upload(web_env: Web) -> None:
    tenant = _doc("tenants", TENANT)
    tenant["customPlaybooks"] = [{
        "id": "echo", "name": "echo", "conditions": "payload.account matches '^(a+)\\\\1$'",
        "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]}]
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    issue = _issue(body, "customPlaybooks[0].conditions.condition")
    assert "RE2" in issue["message"] and "column" in issue["message"]


async def test_patterns_beyond_the_packs_budget_are_refused_at_upload(web_env: Web) -> None:
    """Each pattern under the per-pattern bound, eight of them over the pack's total."""
    tenant = _doc("tenants", TENANT)
    own = tenant["customPlaybooks"]
    heavy = [{"id": f"heavy-{i}", "name": "heavy", "conditions": f"payload.a matches '(?:[-a1xZ9]{{1,10}}){{1,10}}!{i}'",
              "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]} for i in range(8)]
    tenant["customPlaybooks"] = own + heavy
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    assert any("RE2 instructions in all; the limit is 5000" in i["message"] for i in body["issues"]), body["issues"]
    tenant["customPlaybooks"] = own + heavy[:6]
    status, body = await _put(web_env, tenant)
    assert status == 200, body


def _playbooks(count: int, padding: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"pb-{i}", "name": f"playbook {i} " + "x" * padding,
             "conditions": f"payload.account == 'A-{i}'",
             "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]}
            for i in range(count)]


async def test_a_pack_with_too_many_conditions_is_refused_before_compiling(web_env: Web) -> None:
    tenant = _doc("tenants", TENANT)
    tenant["customPlaybooks"] = _playbooks(MAX_CONDITIONS + 1)
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    assert any(f"{MAX_CONDITIONS + 1} conditions; the limit is {MAX_CONDITIONS}" in i["message"]
               for i in body["issues"]), body["issues"]


async def test_a_pack_over_the_size_limit_is_refused(web_env: Web) -> None:
    tenant = _doc("tenants", TENANT)
    tenant["customPlaybooks"] = _playbooks(10, padding=3_000)
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    assert any("bytes as JSON; the limit is 30000" in i["message"] for i in body["issues"])


@pytest.mark.parametrize(("edit", "path"), [
    ({"retentionPolicies": {"dataTTL": 10**9}}, "retentionPolicies.dataTTL"),
    ({"approvalTimeoutMinutes": 10**15}, "approvalTimeoutMinutes"),
    ({"quotas": {"exceptionsPerSecond": 1e-6, "burst": 1}}, "quotas.exceptionsPerSecond"),
    ({"quotas": {"exceptionsPerSecond": 1.0, "burst": 10**12}}, "quotas.burst"),
    ({"customPlaybooks": [{"id": "long", "name": "long", "priority": 10**30,
                           "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]}]},
     "customPlaybooks[0].priority"),
    ({"customPlaybooks": [{"id": "long", "name": "long",
                           "steps": [{"name": f"s{i}", "action": "add_comment", "params": {}} for i in range(101)]}]},
     "customPlaybooks[0].steps"),
])
async def test_numbers_beyond_the_platforms_bounds_are_refused(web_env: Web, edit: dict[str, Any], path: str) -> None:
    """A TTL the retention job cannot subtract, an approval deadline past the calendar, a rate that
    parks a backlog for days, more steps than one transition holds: refused at upload, with the
    path, not found later by the worker."""
    tenant = {**_doc("tenants", TENANT), **edit}
    status, body = await _put(web_env, tenant)
    assert_error(status, body, 422)
    assert _issue(body, path)["file"] == f"<request>/tenants/{TENANT}"


async def _resume(web: Web, last_event_id: str) -> list[Any]:
    headers = {**web.auth("acme-viewer"), "Last-Event-ID": last_event_id}
    async with web.client.get("/api/v1/tenants/acme/decisions/stream", headers=headers) as resp:
        hello = await read_events(resp, want=1, event="hello")
        reset = await read_events(resp, want=1, event="reset")
    return [hello[0].json(), reset[0].json() if reset else None]


async def test_resuming_with_another_tenants_event_id_answers_like_an_unknown_id(web_env: Web) -> None:
    theirs = decision("globex", "G-SECRET")
    await produce_json(web_env.bootstrap, web_env.settings.topic_decisions, "globex", [theirs])
    async with web_env.client.get("/api/v1/tenants/globex/decisions/stream",
                                  headers=web_env.auth("globex-viewer")) as globex:
        assert await read_events(globex, want=1)  # the feed holds globex's record
    probe = await _resume(web_env, theirs["event_id"])
    unknown = await _resume(web_env, "00000000-0000-5000-8000-000000000000")
    assert probe[0] == unknown[0] == {"tenant_id": "acme", "resumed": False, "live": True}
    assert probe[1] == {"last_event_id": theirs["event_id"], "reason": "not in the recent buffer"}
    assert unknown[1] == {**probe[1], "last_event_id": "00000000-0000-5000-8000-000000000000"}


async def test_metrics_need_the_token_and_list_known_tenants_only(web_env: Web) -> None:
    for offset, tenant in enumerate(("acme", "probe-from-kafka-key")):
        await web_env.pool.execute(
            "INSERT INTO dead_letters (tenant_id, source_topic, source_partition, source_offset, stage, "
            "error_class, error_message, headers, key, value) VALUES ($1, 't', 0, $2, 'intake', 'E', 'm', "
            "'{}'::jsonb, $3, $4)", tenant, offset, tenant.encode(), b"{}")
    metrics.INGESTED.labels(tenant="grown-label-1", outcome="rejected").inc()
    async with web_env.client.get("/metrics") as resp:
        assert resp.status == 401
    async with web_env.client.get("/metrics", headers={"Authorization": "Bearer wrong"}) as resp:
        assert resp.status == 401
    async with web_env.client.get(
            "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as resp:
        assert resp.status == 200
        text = await resp.text()
    assert [line for line in text.splitlines()
            if line.startswith("sentinai_dlq_entries{") and 'tenant="acme"' in line], text
    assert "probe-from-kafka-key" not in text and "grown-label-1" not in text
    # the unknown tenants' series are gone from the process, not only hidden
    assert all("grown-label-1" not in values for values in copy.copy(metrics.INGESTED._metrics))
    assert json.dumps(sorted(v[0] for v in metrics.DLQ_ENTRIES._metrics)).count("probe") == 0


async def test_pack_changes_beyond_the_hourly_rate_are_refused_with_retry_after(web_env: Web) -> None:
    """A tenant admin in a loop of uploads: each a stored version and a reload everywhere."""
    tenant = {**_doc("tenants", TENANT), "tenantId": "acme"}
    tenant.pop("toolOverrides", None)
    status, body = await _put_as(web_env, "root", tenant)  # the deployment's own key is not counted
    assert status == 200, body
    for _ in range(PACK_CHANGES_PER_HOUR + 1):  # refusals that store nothing cost no change
        status, body = await _put_as(web_env, "acme-admin", {**tenant, "tenantId": "globex"})
        assert (status, body["error"]) == (422, "tenant_mismatch"), body
    turn = web_env.app[PACK_VALIDATOR]._turn
    async with turn:  # the validator busy elsewhere: acme's first change waits for it
        first = asyncio.create_task(_put_as(web_env, "acme-admin", {**tenant, "version": "r0"}))
        await _until(lambda: "acme" in web_env.app[VALIDATING], "acme's first change did not start validating")
        for _ in range(PACK_CHANGES_PER_HOUR + 1):
            status, body = await _put_as(web_env, "acme-admin", {**tenant, "version": "while busy"})
            assert (status, body["error"]) == (429, "busy"), body
    status, body = await asyncio.wait_for(first, 120)
    assert status == 200, body
    for i in range(1, PACK_CHANGES_PER_HOUR):
        status, body = await _put_as(web_env, "acme-admin", {**tenant, "version": f"r{i}"})
        assert status == 200, body
    status, body = await _put_as(web_env, "acme-admin", {**tenant, "version": "one more"})
    assert_error(status, body, 429)
    assert body["error"] == "too_many_changes", body
    assert 0 < body["retry_after_seconds"] <= 3600 // PACK_CHANGES_PER_HOUR, body


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 30
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.02)


async def _put_as(web: Web, key: str, tenant: dict[str, Any]) -> tuple[int, Any]:
    domain = _doc("domains", "capital-markets-trading")
    body = {"domains": [domain], "tenants": [tenant]} if key == "root" else tenant
    return await web.send("PUT", "/api/v1/tenants/acme/packs", key=key, json=body)
