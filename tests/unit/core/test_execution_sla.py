"""The SLA timer and the playbook run: a playbook for the SLA phase takes over, or an expired SLA
escalates (``sentinai.core.execution.on_sla``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sentinai.core.conditions import parse
from sentinai.core.conditions.ast import roots
from sentinai.core.effects import EmitEvent, RequestTool
from sentinai.core.execution import on_approval, on_sla, on_tool_result, start
from sentinai.core.models import Status
from sentinai.core.packs import TenantPacks
from sentinai.core.run import PlaybookRun

from .test_execution import ASSIGN, COMMENT, FIX, LATER, LOOKUP, NOW, decided, kinds, packs_for

BREACH = {"id": "sla-breach", "name": "Breach", "priority": 9, "approved": True,
          "conditions": {"exceptionTypes": ["ALPHA"], "condition": "sla.expired == true"},
          "steps": [{"name": "page", "action": "add_comment", "params": {"text": "{payload.tradeId} breached"}},
                    {"name": "own", "action": "assign_owner", "params": {"team": "sla-desk"}}]}
HURRY = {"id": "sla-hurry", "name": "Hurry", "priority": 8, "approved": True,
         "conditions": {"exceptionTypes": ["ALPHA"], "condition": "sla.imminent && !sla.expired"},
         "steps": [{"name": "hurry", "action": "add_comment", "params": {"text": "hurry"}}]}


def sla_packs(steps: list[dict[str, Any]], *extra: dict[str, Any], tenant: dict[str, Any] | None = None
              ) -> TenantPacks:
    """Playbook `pb` with `steps` for ALPHA (an SLA of 30 minutes), then the playbooks in `extra`."""
    pb = {"id": "pb", "name": "PB", "conditions": {"exceptionTypes": ["ALPHA"]}, "approved": True, "steps": steps}
    return packs_for(steps, domain={"playbooks": [pb, *extra]}, tenant=tenant)


def begin(packs: TenantPacks, *, critical: bool = False) -> PlaybookRun:
    run, _ = start(decided(packs, critical=critical), packs, now=NOW)
    assert run is not None
    return run


def events(effects: list[Any], event_type: str) -> list[EmitEvent]:
    return [e for e in effects if isinstance(e, EmitEvent) and e.event_type == event_type]


def test_conditions_may_read_the_sla_and_packs_know_which_playbooks_do() -> None:
    assert roots(parse("sla.expired == true && payload.amount > 5 || context.x")) == {"sla", "payload", "context"}
    packs = sla_packs([LOOKUP], BREACH)
    assert packs.sla_playbooks
    assert [(c.playbook.id, c.reads_sla) for c in packs.playbooks] == [("sla-breach", True), ("pb", False)]
    assert not packs_for([LOOKUP]).sla_playbooks


def test_at_the_decision_the_sla_is_neither_imminent_nor_expired_and_the_plans_are_ready() -> None:
    packs = sla_packs([FIX], BREACH, HURRY)
    outcome = decided(packs)
    assert outcome.playbook_id == "pb"
    run = begin(packs)
    assert {phase: plan.playbook_id for phase, plan in run.sla_plans.items()} == {
        "imminent": "sla-hurry", "expired": "sla-breach"}
    assert run.sla_plans["expired"].steps[0].params == {"text": "T-1 breached"}  # filled at the decision
    assert begin(sla_packs([FIX])).sla_plans == {}  # no playbook reads the SLA: nothing prepared


def test_the_phase_playbook_replaces_a_waiting_one_and_runs() -> None:
    packs = sla_packs([LOOKUP, COMMENT], BREACH)
    run, first = start(decided(packs), packs, now=NOW)
    assert run is not None and run.waiting_for == "tool"
    [request] = [e for e in first if isinstance(e, RequestTool)]
    new, effects = on_sla(run, "expired", now=LATER)
    assert kinds(effects) == [
        "PlaybookRecalculated",
        "PlaybookStepStarted", "CommentAdded", "PlaybookStepCompleted",
        "PlaybookStepStarted", "PlaybookStepCompleted",
        "PlaybookCompleted", "ExceptionStatusChanged", "ExceptionResolved"]
    [recalculated] = events(effects, "PlaybookRecalculated")
    assert recalculated.step == "pb:sla:expired"
    assert recalculated.payload["previous_playbook_id"] == "pb"
    assert recalculated.payload["playbook_id"] == "sla-breach"
    assert recalculated.payload["reason"].startswith("SLA expired: domain playbook sla-breach")
    assert [s["name"] for s in recalculated.payload["steps"]] == ["page", "own"]
    assert new.playbook_id == "sla-breach"
    assert (new.playbook_id, new.owner, new.status) == ("sla-breach", "sla-desk", Status.RESOLVED)
    assert on_sla(new, "expired", now=LATER) == (new, [])  # a replayed tick
    late = on_tool_result(new, step=0, succeeded=True, detail={}, idempotency_key=request.idempotency_key, now=LATER)
    assert late == (new, [])  # the replaced playbook's tool call no longer counts


def test_imminent_then_expired_each_apply_their_playbook() -> None:
    run = begin(sla_packs([LOOKUP], BREACH, HURRY))
    hurried, effects = on_sla(run, "imminent", now=LATER)
    assert events(effects, "PlaybookRecalculated")[0].payload["playbook_id"] == "sla-hurry"
    assert hurried.playbook_id == "sla-hurry" and hurried.status is Status.RESOLVED
    assert on_sla(hurried, "expired", now=LATER) == (hurried, [])  # resolved: the SLA no longer moves it


def test_an_open_approval_still_holds_the_new_playbook() -> None:
    run = begin(sla_packs([ASSIGN], BREACH), critical=True)
    assert run.waiting_for == "approval"
    new, effects = on_sla(run, "expired", now=LATER)
    assert kinds(effects) == ["PlaybookRecalculated"]
    assert (new.playbook_id, new.waiting_for, new.step_states) == ("sla-breach", "approval", ("pending", "pending"))
    granted, effects = on_approval(new, granted=True, by="olivia", comment=None, now=LATER)
    assert granted.status is Status.RESOLVED and granted.owner == "sla-desk"


def test_an_unapproved_phase_playbook_waits_for_a_person() -> None:
    unapproved = {**BREACH, "approved": False}
    new, effects = on_sla(begin(sla_packs([LOOKUP], unapproved)), "expired", now=LATER)
    assert kinds(effects) == ["PlaybookRecalculated", "PlaybookStepWaiting"]
    assert not new.auto and new.waiting_for == "person"


def test_an_expired_sla_escalates_a_running_playbook_once() -> None:
    run = begin(sla_packs([LOOKUP]))
    assert on_sla(run, "imminent", now=LATER) == (run, [])
    new, effects = on_sla(run, "expired", now=LATER)
    assert kinds(effects) == ["ExceptionStatusChanged", "ExceptionEscalated"]
    [escalated] = events(effects, "ExceptionEscalated")
    assert escalated.payload["reason"] == f"SLA expired at {run.sla_deadline.isoformat()}"
    assert new.status is Status.ESCALATED and not new.auto and new.version == run.version + 2
    assert on_sla(new, "expired", now=LATER) == (new, [])


@pytest.mark.parametrize(("name", "make"), [
    ("tenant opted out", lambda: begin(sla_packs([LOOKUP], tenant={"slaExpiredEscalates": False}))),
    ("completed", lambda: begin(sla_packs([COMMENT]))),
    ("rejected", lambda: on_approval(begin(sla_packs([ASSIGN]), critical=True), granted=False, by="olivia",
                                     comment=None, now=NOW)[0]),
])
def test_an_expired_sla_leaves_alone(name: str, make: Any) -> None:
    run = make()
    assert on_sla(run, "expired", now=LATER) == (run, []), name


def test_runs_stored_before_sla_plans_existed_still_load() -> None:
    run = begin(sla_packs([FIX], BREACH))
    stored = run.to_dict()
    del stored["sla_plans"], stored["sla_expired_escalates"]
    old = PlaybookRun.from_dict(stored)
    assert old.sla_plans == {} and old.sla_expired_escalates
    assert PlaybookRun.from_dict(json.loads(json.dumps(run.to_dict()))) == run
