"""Webhook notifications against a real local aiohttp server: posted through the governed tool
client, once per notice, with every outcome an event and a step's result sent back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sentinai.agents.notifications import Notifications, notification_policy
from sentinai.agents.outbox import Outbox
from sentinai.bench import workload
from sentinai.core.effects import Notify
from sentinai.core.ids import event_id_for
from sentinai.core.packs import PackSet, build_pack_set
from sentinai.sinks.backpressure import SinkGate
from sentinai.tools.invoker import ToolInvoker
from sentinai.tools.network import NetworkPolicy
from tests.support.pipeline import PACKS

TENANT = "hooks-co"
LOCAL_NETWORK = NetworkPolicy(allow_private=True, allow_http=True)
"""The deployment lets tenants reach the local plain-http webhook servers of these tests."""


@dataclass
class Recorded:
    """A topic that keeps what is sent to it."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes, partition: int) -> None:
        self.sent.append(json.loads(value))

    @property
    def events(self) -> list[dict[str, Any]]:
        """The events of the transitions sent (to the events topic)."""
        return [event for transition in self.sent for event in transition["events"]]


def notifications_for(packs: PackSet, invoker: ToolInvoker, events: Recorded, results: Recorded,
                      table: dict[str, Any]) -> Notifications:
    outbox = Outbox(events=events, decisions=Recorded(), gate=SinkGate(high_water=1000))  # type: ignore[arg-type]
    return Notifications(outbox=outbox, results=results, delivered_table=table, packs=packs,  # type: ignore[arg-type]
                         invoker=invoker)


SOURCE = ("tool-requests", 0, 0)


@dataclass
class Receiver:
    server: TestServer
    calls: list[dict[str, Any]]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.server.port}{path}"

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [c for c in self.calls if c["path"] == path]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    calls: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append({"path": request.path, "key": request.headers.get("Idempotency-Key"),
                      "body": await request.json()})
        return web.json_response({"ok": request.path != "/broken"}, status=500 if request.path == "/broken" else 200)

    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield Receiver(server, calls)
    await server.close()


def tenant_packs(tenant: dict[str, Any]) -> PackSet:
    domains, _ = workload.pack_documents(PACKS)
    return build_pack_set(domains, [{"tenantId": TENANT, "domainName": "CapitalMarketsTrading", "version": "1",
                                     **tenant}])


def local_tenant(receiver: Receiver, **extra: Any) -> dict[str, Any]:
    """Plain HTTP to loopback allowed; only the routes' hosts, which the pack names, on the allow list."""
    return {"toolPolicy": {"httpsOnly": False, "allowPrivate": True},
            "notificationPolicies": [{"channel": "webhook", "target": receiver.url("/hook"),
                                      "events": ["SLAExpired"]}], **extra}


@dataclass
class Harness:
    notifications: Notifications
    events: Recorded
    results: Recorded
    table: dict[str, Any]

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events.events if e["event_type"] == event_type]


@pytest.fixture
async def harness(receiver: Receiver) -> AsyncIterator[Harness]:
    async with ToolInvoker(backoff_seconds=0.01, network=LOCAL_NETWORK) as invoker:
        events, results, table = Recorded(), Recorded(), {}
        notifications = notifications_for(tenant_packs(local_tenant(receiver)), invoker, events, results, table)
        yield Harness(notifications, events, results, table)


OCCURRENCE = "t.exceptions:0:5"


def request(*notices: Notify, step: int | None = None, attempt: int = 1,
            occurrence: str | None = OCCURRENCE) -> dict[str, Any]:
    """A request as the act agent sends it (``occurrence`` None: as the release before occurrences did)."""
    sent = {"kind": "notify", "tenant_id": TENANT, "exception_id": "EX-1", "step": step, "attempt": attempt,
            "idempotency_key": "step-key" if step is not None else None, "notices": [asdict(n) for n in notices]}
    return sent if occurrence is None else {**sent, "occurrence": occurrence}


async def test_a_notice_is_posted_once_with_its_idempotency_key(receiver: Receiver, harness: Harness) -> None:
    notice = Notify("webhook", receiver.url("/hook"), "EX-1: SLA expired", "SLAExpired", "sla:expired:0")
    await harness.notifications.handle(request(notice), source=SOURCE)
    await harness.notifications.handle(request(notice), source=SOURCE)  # a replayed request
    [posted] = receiver.posted("/hook")
    assert posted["key"] == event_id_for(TENANT, "EX-1", "notification", "sla:expired:0", OCCURRENCE)
    assert posted["body"] == {"tenant_id": TENANT, "exception_id": "EX-1", "kind": "SLAExpired",
                              "message": "EX-1: SLA expired"}
    [sent] = harness.of_type("NotificationSent")
    assert sent["payload"]["notification"]["target"] == f"http://127.0.0.1:{receiver.server.port}"
    assert sent["payload"]["notification"]["status"] == "succeeded"
    assert harness.results.sent == [], "a lifecycle notice reports to nobody"



async def test_a_new_occurrence_of_the_exception_id_posts_its_notice_again_under_its_own_key(
        receiver: Receiver, harness: Harness) -> None:
    notice = Notify("webhook", receiver.url("/hook"), "EX-1: SLA expired", "SLAExpired", "sla:expired:0")
    await harness.notifications.handle(request(notice, occurrence=None), source=SOURCE)  # the earlier release's
    await harness.notifications.handle(request(notice), source=SOURCE)
    await harness.notifications.handle(request(notice, occurrence="t.exceptions:0:90"), source=SOURCE)
    assert [p["key"] for p in receiver.posted("/hook")] == [
        event_id_for(TENANT, "EX-1", "notification", "sla:expired:0", occurrence)
        for occurrence in ("", OCCURRENCE, "t.exceptions:0:90")]
    assert len({e["event_id"] for e in harness.of_type("NotificationSent")}) == 3

async def test_a_step_gets_one_result_and_a_retry_posts_only_what_failed(
        receiver: Receiver, harness: Harness) -> None:
    good = Notify("webhook", receiver.url("/hook"), "m", "notify", "pb:0:notify:0")
    bad = Notify("webhook", receiver.url("/broken"), "m", "notify", "pb:0:notify:1")
    await harness.notifications.handle(request(good, bad, step=0), source=("tool-requests", 2, 0))
    [result] = harness.results.sent
    assert (result["command"], result["step"], result["idempotency_key"], result["succeeded"]) == (
        "notification_result", 0, "step-key", False)
    assert "HTTP 500" in result["detail"]["error"]
    assert len(receiver.posted("/broken")) == 2, "the webhook's own retry"
    assert len(harness.events.sent) == 1, "one request, one transition"
    [failed] = harness.of_type("NotificationFailed")
    assert failed["payload"]["notification"]["error"] == "HTTP 500"

    await harness.notifications.handle(request(good, bad, step=0, attempt=2), source=("tool-requests", 2, 0))
    assert len(receiver.posted("/hook")) == 1, "delivered before: not posted again"
    assert len(receiver.posted("/broken")) == 4
    assert len({e["event_id"] for e in harness.of_type("NotificationFailed")}) == 2, "one per attempt"
    assert len(harness.of_type("NotificationSent")) == 1


@pytest.mark.parametrize(("target", "tenant", "error"), [
    ("http://localhost:{port}/hook", {}, "refused: host localhost is not on the tenant's allow list"),
    ("http://127.0.0.1:{port}/hook", {"toolPolicy": {"allowPrivate": True}},
     "refused: scheme http is not allowed (allowed: https)"),
    ("http://127.0.0.1:{port}/hook", {"toolPolicy": {"httpsOnly": False}},
     "refused: host 127.0.0.1 resolves to a forbidden address: 127.0.0.1 is a loopback address"),
    ("hooks.example.com/x", {}, "the webhook target is not an http(s) URL"),
])
async def test_the_tool_guards_apply(receiver: Receiver, target: str, tenant: dict[str, Any], error: str) -> None:
    events, results = Recorded(), Recorded()
    packs = tenant_packs({**local_tenant(receiver), **tenant})
    async with ToolInvoker(network=LOCAL_NETWORK) as invoker:
        notifications = notifications_for(packs, invoker, events, results, {})
        notice = Notify("webhook", target.format(port=receiver.server.port), "m", "notify", "pb:0:notify:0")
        await notifications.handle(request(notice, step=0), source=SOURCE)
    assert receiver.calls == []
    [transition] = events.sent
    [failed] = transition["events"]
    assert (failed["event_type"], failed["payload"]["notification"]["error"]) == ("NotificationFailed", error)
    assert results.sent[0]["succeeded"] is False


def test_the_policy_allows_the_hosts_the_packs_name() -> None:
    steps = [{"name": "fixed", "action": "notify", "params": {"target": "https://fixed.example.org/h"}},
             {"name": "filled", "action": "notify", "params": {"target": "https://{payload.host}/h"}},
             {"name": "chat", "action": "notify", "params": {"channel": "teams", "target": "https://teams.example.org"}}]
    packs = tenant_packs({
        "toolPolicy": {"allowedHosts": ["*.partner.example.net"]},
        "notificationPolicies": [{"channel": "webhook", "target": "https://hooks.example.com/a?token=1"},
                                 {"channel": "email", "target": "ops@example.com"}],
        "customPlaybooks": [{"id": "p", "name": "P", "steps": steps}]}).for_tenant(TENANT)
    assert packs is not None
    policy = notification_policy(packs)
    assert policy.allowed_hosts == ("hooks.example.com", "fixed.example.org", "*.partner.example.net")
    assert policy.https_only and not policy.allow_private
