"""The intake agent over one input at a time: what it publishes, stores and counts, for a new
exception, a replay of its input, a copy within the dedup window, and a copy after it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from sentinai.agents.act import Act, CommandRejected
from sentinai.agents.effects import Effects
from sentinai.agents.intake import Intake, IntakeTopics
from sentinai.agents.outbox import Outbox
from sentinai.agents.outcomes import Outcomes
from sentinai.agents.quota import IntakeQuota
from sentinai.agents.tools import Tools, ToolsTopics
from sentinai.core.packs import TenantPacks, load_pack_dir
from sentinai.core.packs.tenant import LlmSettings, Quotas
from sentinai.metrics import PROCESSED_SAMPLE
from sentinai.settings import Settings
from sentinai.sinks.backpressure import SinkGate
from sentinai.tables import tool_calls
from sentinai.tables.exception_state import decided_state
from tests.support.packs import PACKS

TOPIC = "t.exceptions"
TENANT = "acme-capital"


@dataclass
class Recorded:
    """A topic that keeps what is sent to it."""

    name: str = TOPIC
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes, partition: int, headers: Any = None) -> None:
        self.sent.append(json.loads(value))

    def get_topic_name(self) -> str:
        return self.name


@dataclass
class Worker:
    intake: Intake
    act: Act
    events: Recorded
    decisions: Recorded
    llm: Recorded
    deferred: Recorded
    tool_requests: Recorded
    states: dict[str, Any]


class Packs:
    """The sample packs, ``TENANT``'s tenant pack with ``changes`` (``model_copy`` updates)."""

    def __init__(self, **changes: Any) -> None:
        self.packs = load_pack_dir(PACKS)
        self.tenants = self.packs.tenants
        self.changes = changes

    def for_tenant(self, tenant: str) -> TenantPacks | None:
        packs = self.packs.for_tenant(tenant)
        if packs is None or tenant != TENANT:
            return packs
        return TenantPacks(packs.domain, packs.tenant.model_copy(update=self.changes))


def running(**changes: Any) -> Worker:
    settings = Settings(topic_partitions=1, dedup_window_seconds=60)
    events, decisions, states, tenants = Recorded(), Recorded(), {}, {}
    gate, tool_requests = SinkGate(high_water=1000), Recorded("t.tool-requests")
    outbox = Outbox(events=events, decisions=decisions, gate=gate)  # type: ignore[arg-type]
    outcomes = Outcomes(outbox=outbox, effects=Effects(tool_requests), exceptions_table=states,  # type: ignore[arg-type]
                        tenants_table=tenants, gate=gate)
    act = Act(outbox=outbox, effects=Effects(tool_requests), exceptions_table=states, tool_calls_table={},  # type: ignore[arg-type]
              dedup_window_seconds=settings.dedup_window_seconds)
    llm = Recorded()
    deferred = Recorded("t.deferred")
    topics = IntakeTopics(exceptions=Recorded(), dlq=Recorded(), deferred=deferred, llm=llm)  # type: ignore[arg-type]
    intake = Intake(settings=settings, topics=topics, packs=Packs(**changes), exceptions_table=states,  # type: ignore[arg-type]
                    quota=IntakeQuota(tenants), outcomes=outcomes, outbox=outbox)
    return Worker(intake, act, events, decisions, llm, deferred, tool_requests, states)


@pytest.fixture
def worker() -> Worker:
    return running()


def message(offset: int, body: dict[str, Any] | None = None, *, topic: str = TOPIC) -> Any:
    """The input at ``offset`` of the topic's only partition: by default, cash break CB-1."""
    value = json.dumps(body or {"tenant_id": TENANT, "exception_id": "CB-1", "exception_type": "CASH_BREAK",
                                "payload": {"account": "A-1"}}).encode()
    return SimpleNamespace(value=value, headers=[], key=TENANT.encode(),
                           message=SimpleNamespace(topic=topic, partition=0, offset=offset, key=TENANT.encode()))


def counted() -> dict[str, int]:
    return {outcome: int(REGISTRY.get_sample_value(PROCESSED_SAMPLE, {"outcome": outcome}) or 0)
            for outcome in ("decided", "replayed", "duplicate")}


async def test_a_replayed_input_is_published_again_under_the_same_ids_and_counted_as_replayed(worker: Worker) -> None:
    before = counted()
    await worker.intake.handle(message(5))
    await worker.intake.handle(message(5))  # the same input again: a crash or a rebalance before its commit
    await worker.intake.handle(message(9))  # a copy within the dedup window
    after = counted()
    assert {k: after[k] - before[k] for k in after} == {"decided": 1, "replayed": 1, "duplicate": 1}
    first, again = worker.events.sent
    assert first["transition_id"] == again["transition_id"]
    assert [e["event_id"] for e in first["events"]] == [e["event_id"] for e in again["events"]]
    assert [r["event_id"] for r in worker.decisions.sent][:1] * 2 == [r["event_id"] for r in worker.decisions.sent]


async def test_a_copy_after_the_window_is_decided_as_a_new_occurrence(worker: Worker) -> None:
    await worker.intake.handle(message(5))
    state = worker.states[f"{TENANT}/CB-1"]
    assert state["occurrence"] == f"{TOPIC}:0:5"
    aged(worker, 61)  # the window has passed
    before = counted()
    await worker.intake.handle(message(9))
    after = counted()
    assert {k: after[k] - before[k] for k in after} == {"decided": 1, "replayed": 0, "duplicate": 0}
    first, again = worker.events.sent
    assert not {e["event_id"] for e in first["events"]} & {e["event_id"] for e in again["events"]}
    assert worker.states[f"{TENANT}/CB-1"]["occurrence"] == f"{TOPIC}:0:9"
    assert first["exception"]["first_seen_at"] < again["exception"]["first_seen_at"]


async def test_a_replayed_input_the_llm_stage_decided_leaves_the_state_as_the_run_left_it() -> None:
    """A tenant with LLM assistance: its input, decided by the LLM stage and moved on by the act
    agent since, arrives again (a crash before intake's commit). It is not sent to the model again,
    and the state is not put back to waiting for it."""
    worker = running(llm=LlmSettings(enabled=True, model="m"))
    await worker.intake.handle(message(5))
    assert len(worker.llm.sent) == 1 and worker.states[f"{TENANT}/CB-1"]["status"] == "OPEN"
    moved_on = decided_state(source=(TOPIC, 0, 5), now_epoch=worker.states[f"{TENANT}/CB-1"]["first_seen"],
                             status="RESOLVED", severity="HIGH", exception_type="CASH_BREAK", playbook_id=None,
                             version=9, occurrence=f"{TOPIC}:0:5")
    worker.states[f"{TENANT}/CB-1"] = moved_on
    before = counted()
    await worker.intake.handle(message(5))
    after = counted()
    assert {k: after[k] - before[k] for k in after} == {"decided": 0, "replayed": 1, "duplicate": 0}
    assert len(worker.llm.sent) == 1 and worker.states[f"{TENANT}/CB-1"] == moved_on


def aged(worker: Worker, seconds: float) -> None:
    """CB-1's state as if it had been first seen ``seconds`` earlier."""
    state = worker.states[f"{TENANT}/CB-1"]
    worker.states[f"{TENANT}/CB-1"] = {**state, "first_seen": state["first_seen"] - seconds}


async def test_a_new_occurrence_is_charged_to_the_tenants_quota_and_a_replay_is_not() -> None:
    worker = running(quotas=Quotas(exceptions_per_second=0.01, burst=1))
    await worker.intake.handle(message(5))  # the burst's one token
    await worker.intake.handle(message(5))  # its replay: not charged, decided again
    assert (len(worker.events.sent), len(worker.deferred.sent)) == (2, 0)
    aged(worker, 61)
    await worker.intake.handle(message(9))  # sent again after the window: a new occurrence, over the quota
    assert (len(worker.events.sent), len(worker.deferred.sent)) == (3, 1)
    assert worker.events.sent[-1]["events"][0]["event_type"] == "QuotaDeferred"


async def two_occurrences_calling_a_tool(worker: Worker, *, status: str = "succeeded") -> tuple[Any, Any]:
    """SF-1, whose playbook calls a tool at once, sent again after its window while that call is out:
    the tool results of both occurrences' calls, as the tools agent sends them (from stored outcomes)."""
    body = {"tenant_id": TENANT, "exception_id": "SF-1", "exception_type": "SETTLEMENT_FAIL",
            "source_system": "settlements", "payload": {"orderId": "O-1", "failReason": "SSI_MISMATCH"}}
    await worker.intake.handle(message(5, body))
    state = worker.states[f"{TENANT}/SF-1"]
    worker.states[f"{TENANT}/SF-1"] = {**state, "first_seen": state["first_seen"] - 61}
    await worker.intake.handle(message(9, body))
    first, again = worker.tool_requests.sent
    assert (first["occurrence"], again["occurrence"]) == (f"{TOPIC}:0:5", f"{TOPIC}:0:9")
    outcome = {"status": status, "http_status": 200 if status == "succeeded" else 502,
               "response": {"ok": True} if status == "succeeded" else None,
               "error": None if status == "succeeded" else "bad gateway", "attempts": 2, "duration_ms": 3.0}
    results = Recorded("t.tool-results")
    tools = Tools(topics=ToolsTopics(outbox=None, results=results),  # type: ignore[arg-type]
                  calls_table={r["idempotency_key"]: tool_calls.record(outcome, tenant_id=TENANT, partition=0,
                                                                       now_epoch=0.0) for r in (first, again)},
                  tenants_table={}, packs=None, invoker=None, notifications=None)  # type: ignore[arg-type]
    for offset, request in enumerate((first, again), start=1):
        await tools.handle(message(offset, request, topic="t.tool-requests"))
    stale, current = results.sent
    return (message(1, stale, topic="t.tool-results"), message(2, current, topic="t.tool-results"))


@pytest.mark.parametrize("status", ["succeeded", "failed"])
async def test_a_tool_result_of_the_replaced_occurrence_finishes_its_row_and_the_new_ones_is_applied(
        status: str) -> None:
    """The first occurrence's call was made and answered: its result must not move the new
    occurrence's run, nor be dead-lettered, but finish that call's tool execution row (an event
    without an exception snapshot, marked as not applied); the new call's result is applied."""
    worker = running()
    stale, current = await two_occurrences_calling_a_tool(worker, status=status)
    request = worker.tool_requests.sent[0]
    before, published, recorded = dict(worker.states[f"{TENANT}/SF-1"]), len(worker.events.sent), len(
        worker.decisions.sent)
    await worker.act.handle(stale)  # not refused
    assert worker.states[f"{TENANT}/SF-1"] == before
    assert worker.states[f"{TENANT}/SF-1"]["run"]["step_states"][0] == "running"
    transition = worker.events.sent[-1]
    assert (len(worker.events.sent), len(worker.decisions.sent)) == (published + 1, recorded)
    assert transition["exception"] is None  # the exceptions row stays as it is
    (event,) = transition["events"]
    assert event["event_type"] == f"ToolExecution{status.title()}" and event["version"] is None
    assert (event["payload"]["applied"], event["payload"]["step"]) == (False, request["step"])
    assert "replaced" in event["payload"]["reason"]
    row = event["payload"]["tool_execution"]
    assert {k: row[k] for k in ("execution_id", "tool_name", "status", "attempts", "version")} == {
        "execution_id": request["idempotency_key"], "tool_name": request["tool_name"], "status": status.upper(),
        "attempts": 2, "version": 3}
    assert (row["response"], row["error"]) == (({"ok": True}, None) if status == "succeeded" else (None, "bad gateway"))
    assert row["request"] == request["arguments"] and row["finished_at"] is not None

    await worker.act.handle(stale)  # replayed (a crash before its commit): the same event, which the sink drops
    assert worker.events.sent[-1]["events"][0]["event_id"] == event["event_id"]
    assert worker.states[f"{TENANT}/SF-1"] == before

    await worker.act.handle(current)
    assert worker.states[f"{TENANT}/SF-1"]["run"]["step_states"][0] == ("done" if status == "succeeded" else "failed")


async def test_other_commands_of_the_replaced_occurrence_are_still_refused() -> None:
    worker = running()
    stale, _ = await two_occurrences_calling_a_tool(worker)
    command = json.loads(stale.value)
    before, published = dict(worker.states[f"{TENANT}/SF-1"]), len(worker.events.sent)
    earlier_release = {k: v for k, v in command.items() if k not in ("tool_name", "request")}
    notification = {**earlier_release, "command": "notification_result"}
    for body in (earlier_release, notification):  # a tool result without its tool's name cannot finish the row
        with pytest.raises(CommandRejected, match="earlier occurrence"):
            await worker.act.handle(message(3, body, topic="t.tool-results"))
    assert (worker.states[f"{TENANT}/SF-1"], len(worker.events.sent)) == (before, published)
