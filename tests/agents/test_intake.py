"""The intake agent over one input at a time: what it publishes, stores and counts, for a new
exception, a replay of its input, a copy within the dedup window, and a copy after it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import REGISTRY

from sentinai.agents.effects import Effects
from sentinai.agents.intake import Intake, IntakeTopics
from sentinai.agents.outbox import Outbox
from sentinai.agents.outcomes import Outcomes
from sentinai.agents.quota import IntakeQuota
from sentinai.core.packs import TenantPacks, load_pack_dir
from sentinai.core.packs.tenant import LlmSettings
from sentinai.metrics import PROCESSED_SAMPLE
from sentinai.settings import Settings
from sentinai.sinks.backpressure import SinkGate
from sentinai.tables.exception_state import decided_state
from tests.support.packs import PACKS

TOPIC = "t.exceptions"
TENANT = "acme-capital"


@dataclass
class Recorded:
    """A topic that keeps what is sent to it."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, *, key: bytes, value: bytes, partition: int, headers: Any = None) -> None:
        self.sent.append(json.loads(value))

    def get_topic_name(self) -> str:
        return TOPIC


@dataclass
class Worker:
    intake: Intake
    events: Recorded
    decisions: Recorded
    llm: Recorded
    states: dict[str, Any]


class LlmTenants:
    """The sample packs, with LLM assistance for the tenants named."""

    def __init__(self, *tenants: str) -> None:
        self.packs = load_pack_dir(PACKS)
        self.tenants = self.packs.tenants
        self.assisted = tenants

    def for_tenant(self, tenant: str) -> TenantPacks | None:
        packs = self.packs.for_tenant(tenant)
        if packs is None or tenant not in self.assisted:
            return packs
        return TenantPacks(packs.domain, packs.tenant.model_copy(update={"llm": LlmSettings(enabled=True, model="m")}))


def running(*assisted: str) -> Worker:
    settings = Settings(topic_partitions=1, dedup_window_seconds=60)
    events, decisions, states, tenants = Recorded(), Recorded(), {}, {}
    gate = SinkGate(high_water=1000)
    outbox = Outbox(events=events, decisions=decisions, gate=gate)  # type: ignore[arg-type]
    outcomes = Outcomes(outbox=outbox, effects=Effects(Recorded()), exceptions_table=states,  # type: ignore[arg-type]
                        tenants_table=tenants, gate=gate)
    llm = Recorded()
    topics = IntakeTopics(exceptions=Recorded(), dlq=Recorded(), deferred=Recorded(), llm=llm)  # type: ignore[arg-type]
    intake = Intake(settings=settings, topics=topics, packs=LlmTenants(*assisted), exceptions_table=states,  # type: ignore[arg-type]
                    quota=IntakeQuota(tenants), outcomes=outcomes, outbox=outbox)
    return Worker(intake, events, decisions, llm, states)


@pytest.fixture
def worker() -> Worker:
    return running()


def message(offset: int) -> Any:
    """The input at ``offset`` of the input topic's only partition: one cash break."""
    value = json.dumps({"tenant_id": TENANT, "exception_id": "CB-1", "exception_type": "CASH_BREAK",
                        "payload": {"account": "A-1"}}).encode()
    return SimpleNamespace(value=value, headers=[], key=TENANT.encode(),
                           message=SimpleNamespace(topic=TOPIC, partition=0, offset=offset, key=TENANT.encode()))


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
    worker.states[f"{TENANT}/CB-1"] = {**state, "first_seen": state["first_seen"] - 61}  # the window has passed
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
    worker = running(TENANT)
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
