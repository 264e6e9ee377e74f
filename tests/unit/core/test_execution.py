"""Table-driven tests of the playbook execution state machine, ending with the issue's story."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from sentinai.core.actor import Actor
from sentinai.core.effects import (
    Effect,
    EmitEvent,
    Notify,
    RejectCommand,
    RequestNotify,
    RequestTool,
)
from sentinai.core.engine import decide
from sentinai.core.execution import (
    STEP_RETRY_LIMIT,
    on_approval,
    on_approval_expired,
    on_notification_result,
    on_step_completed,
    on_tool_result,
    start,
)
from sentinai.core.models import DecisionOutcome, Status
from sentinai.core.normalize import normalize
from sentinai.core.occurrence import Occurrence
from sentinai.core.packs import PackSet, TenantPacks, build_pack_set
from sentinai.core.rows import exception_snapshot
from sentinai.core.run import PlaybookRun
from sentinai.core.templates import fill_templates

from .conftest import NOW, mini_docs

USER = Actor(type="user", id="olivia")
AGENT = Actor(type="agent", id="act")
LATER = NOW + timedelta(minutes=5)

ASSIGN = {"name": "assign", "action": "assign_owner", "params": {"team": "ops"}}
COMMENT = {"name": "note", "action": "add_comment", "params": {"text": "trade {payload.tradeId} checked"}}
IN_PROGRESS = {"name": "work", "action": "set_status", "params": {"status": "IN_PROGRESS"}}
NOTIFY = {"name": "tell-desk", "action": "notify", "params": {"channel": "desk-chat"}}
LOOKUP = {"name": "look", "action": "call_tool",
          "params": {"tool": "lookup", "args": {"tradeId": "{payload.tradeId}", "deep": True}}}
FIX = {"name": "fix", "action": "call_tool", "params": {"tool": "fixer", "args": {"tradeId": "{payload.tradeId}"}}}
ESCALATE = {"name": "raise", "action": "escalate", "params": {"reason": "desk must look"}}


def packs_for(steps: list[dict[str, Any]], *, on_failure: str = "escalate", approved: bool = True,
              domain: dict[str, Any] | None = None, tenant: dict[str, Any] | None = None) -> TenantPacks:
    playbook = {"id": "pb", "name": "PB", "conditions": {"exceptionTypes": ["ALPHA"]},
                "approved": approved, "onFailure": on_failure, "steps": steps}
    d, t = mini_docs({"playbooks": [playbook], **(domain or {})}, tenant)
    packs = build_pack_set([d], [t]).for_tenant("mini-co")
    assert packs is not None
    return packs


def decided(packs: TenantPacks, *, critical: bool = False, **payload: Any) -> DecisionOutcome:
    raw = {"tenant_id": "mini-co", "exception_id": "EX-1", "exception_type": "ALPHA",
           "payload": {"kind": "alpha", "tradeId": "T-1", "urgent": critical, **payload}}
    return decide(normalize(raw, now=NOW), packs, now=NOW)


def begin(steps: list[dict[str, Any]], *, critical: bool = False, **options: Any
          ) -> tuple[PlaybookRun, list[Effect]]:
    packs = packs_for(steps, **options)
    run, effects = start(decided(packs, critical=critical), packs, now=NOW)
    assert run is not None
    return run, effects


def kinds(effects: list[Effect]) -> list[str]:
    """Event types, and the other effects by class name, in order."""
    return [e.event_type if isinstance(e, EmitEvent) else type(e).__name__ for e in effects]


def requests(effects: list[Effect]) -> list[RequestTool]:
    return [e for e in effects if isinstance(e, RequestTool)]


def reply(run: PlaybookRun, effects: list[Effect], *, succeeded: bool = True,
          error: str = "HTTP 500") -> tuple[PlaybookRun, list[Effect]]:
    """Answer the last tool request in `effects`."""
    request = requests(effects)[-1]
    detail = ({"status": "succeeded", "response": {"ok": True, "token": "t"}, "attempts": 1}
              if succeeded else {"status": "failed", "error": error, "attempts": 3})
    return on_tool_result(run, step=request.step, succeeded=succeeded, detail=detail,
                          idempotency_key=request.idempotency_key, now=LATER)


# --- start ---------------------------------------------------------------------------------------


def test_low_risk_playbook_runs_to_resolved_by_itself() -> None:
    run, effects = begin([ASSIGN, COMMENT, IN_PROGRESS, NOTIFY])
    assert kinds(effects) == [
        "PlaybookStepStarted", "PlaybookStepCompleted",
        "PlaybookStepStarted", "CommentAdded", "PlaybookStepCompleted",
        "PlaybookStepStarted", "PlaybookStepCompleted",
        "PlaybookStepStarted", "Notify", "PlaybookStepCompleted",
        "PlaybookCompleted", "ExceptionStatusChanged", "ExceptionResolved",
    ]
    assert run.completed and run.status is Status.RESOLVED
    assert (run.owner, run.comments) == ("ops", ("trade T-1 checked",))
    assert run.step_states == ("done",) * 4
    resolved = [e for e in effects if isinstance(e, EmitEvent)][-2]
    assert resolved.payload["from"] == "IN_PROGRESS" and resolved.payload["to"] == "RESOLVED"


def test_no_playbook_means_no_run() -> None:
    packs = packs_for([ASSIGN], domain={"playbooks": []},
                      tenant={"notificationPolicies": [
                          {"channel": "email", "target": "a@x.com", "events": ["ExceptionEscalated"]}]})
    outcome = decided(packs)
    assert outcome.escalated and outcome.playbook_id is None
    run, effects = start(outcome, packs, now=NOW)
    assert run is None
    assert effects == [Notify("email", "a@x.com", "EX-1 escalated: no playbook applies to ALPHA",
                              "ExceptionEscalated", "decide:ExceptionEscalated:0")]


@pytest.mark.parametrize(("options", "reason"), [
    ({"critical": True}, "CRITICAL"),
    ({"approved": False}, "playbook not approved"),
    ({"tenant": {"humanApprovalRules": [{"severity": "LOW"}]}}, "tenant rule for LOW"),
])
def test_approval_required_waits_and_runs_nothing(options: dict[str, Any], reason: str) -> None:
    run, effects = begin([ASSIGN, COMMENT], **options)
    assert effects == [], reason
    assert (run.status, run.approval, run.waiting_for) == (
        Status.PENDING_APPROVAL, "PENDING", "approval")
    assert run.approval_expires_at == NOW + timedelta(minutes=60)
    assert run.step_states == ("pending", "pending") and not run.auto


def test_approval_timeout_and_notification_come_from_the_tenant() -> None:
    tenant = {"approvalTimeoutMinutes": 45, "notificationPolicies": [
        {"channel": "slack", "target": "#ops", "severities": ["CRITICAL"]},
        {"channel": "email", "target": "mo@x.com", "events": ["ApprovalRequested"]},
        {"channel": "email", "target": "low@x.com", "severities": ["LOW"],
         "events": ["ApprovalRequested"]},
    ]}
    run, effects = begin([ASSIGN], critical=True, tenant=tenant)
    assert run.approval_expires_at == NOW + timedelta(minutes=45)
    assert effects == [Notify("email", "mo@x.com", "EX-1 (CRITICAL) needs approval for playbook pb",
                              "ApprovalRequested", "pb:approval:ApprovalRequested:1")]


def test_escalated_decision_makes_every_step_wait_for_a_person() -> None:
    guardrails = {"humanApprovalThreshold": 0.0, "escalateIfConfidenceBelow": 1.0}
    packs = packs_for([ASSIGN, COMMENT], domain={"guardrails": guardrails})
    raw = {"tenant_id": "mini-co", "exception_id": "EX-1",  # detected, so confidence < 1
           "payload": {"kind": "alpha", "tradeId": "T-1"}}
    outcome = decide(normalize(raw, now=NOW), packs, now=NOW)
    assert outcome.escalated and outcome.status is Status.ESCALATED
    assert outcome.playbook_id == "pb" and not outcome.approval_required
    run, effects = start(outcome, packs, now=NOW)
    assert run is not None and kinds(effects) == ["PlaybookStepWaiting"]
    waiting = effects[0]
    assert isinstance(waiting, EmitEvent)
    assert waiting.payload["reason"] == "automatic execution is not allowed"
    run, effects = on_step_completed(run, step=0, by=AGENT, now=LATER)
    assert kinds(effects) == ["PlaybookStepStarted", "PlaybookStepCompleted", "PlaybookStepWaiting"]
    run, effects = on_step_completed(run, step=1, by=USER, now=LATER)
    assert run.status is Status.RESOLVED and "ExceptionResolved" in kinds(effects)


# --- step kinds --------------------------------------------------------------------------------


RISK = [
    # step, expected risky
    (LOOKUP, False),  # its tool is not marked risky
    (FIX, True),  # its tool is marked risky
    (ESCALATE, True),
    ({**ASSIGN, "risky": True}, True),
    (COMMENT, False),
]


@pytest.mark.parametrize(("step", "risky"), RISK)
def test_which_steps_are_risky(step: dict[str, Any], risky: bool) -> None:
    run, _ = begin([step], critical=True)
    assert run.steps[0].risky is risky


def test_safe_tool_step_requests_the_tool_with_filled_arguments() -> None:
    run, effects = begin([LOOKUP, ASSIGN])
    assert kinds(effects) == ["PlaybookStepStarted", "ToolExecutionRequested", "RequestTool"]
    [request] = requests(effects)
    assert (request.step, request.tool_name, request.arguments) == (
        0, "lookup", {"tradeId": "T-1", "deep": True})
    assert request.idempotency_key == run.tool_key(0, 1)
    assert (run.waiting_for, run.step_states) == ("tool", ("running", "pending"))
    run, effects = reply(run, effects)
    assert kinds(effects)[:2] == ["ToolExecutionSucceeded", "PlaybookStepCompleted"]
    succeeded = effects[0]
    assert isinstance(succeeded, EmitEvent)
    execution = succeeded.payload["tool_execution"]
    assert execution["response"] == {"ok": True, "token": "***"}
    assert (execution["status"], execution["version"]) == ("SUCCEEDED", 3)
    assert run.status is Status.RESOLVED


def test_missing_template_values_become_null() -> None:
    packs = packs_for([LOOKUP])
    raw = {"tenant_id": "mini-co", "exception_id": "EX-2", "exception_type": "ALPHA",
           "payload": {"kind": "alpha"}}
    run, effects = start(decide(normalize(raw, now=NOW), packs, now=NOW), packs, now=NOW)
    assert requests(effects)[0].arguments == {"tradeId": None, "deep": True}


TEMPLATES = [
    ("{payload.amount}", 12.5),
    ("{payload.missing}", None),
    ("{payload.items.1}", "b"),
    ("{context.desk}", "rates"),
    ("{severity}", "HIGH"),
    ("amount {payload.amount} on {payload.missing}", "amount 12.5 on null"),
    ("{unknown.root} and {}", "{unknown.root} and {}"),
    ({"a": ["{exceptionId}", 3]}, {"a": ["EX-9", 3]}),
    ("{payload.nested}", {"k": 1}),
    ("n={payload.nested}", 'n={"k": 1}'),
]


@pytest.mark.parametrize(("template", "expected"), TEMPLATES)
def test_fill_templates(template: Any, expected: Any) -> None:
    env = {"exceptionId": "EX-9", "severity": "HIGH", "context": {"desk": "rates"},
           "payload": {"amount": 12.5, "items": ["a", "b"], "nested": {"k": 1}}}
    assert fill_templates(template, env) == expected


def test_set_status_goes_through_the_state_machine() -> None:
    escalate_step = {"name": "to-escalated", "action": "set_status", "params": {"status": "ESCALATED"}}
    run, effects = begin([escalate_step, ASSIGN])
    changes = [e.payload for e in effects if isinstance(e, EmitEvent)
               and e.event_type == "ExceptionStatusChanged"]
    assert [(c["from"], c["to"]) for c in changes] == [
        ("IN_PROGRESS", "ESCALATED"), ("ESCALATED", "RESOLVED")]


def test_illegal_set_status_fails_the_step() -> None:
    back_to_open = {"name": "reopen", "action": "set_status", "params": {"status": "OPEN"}}
    run, effects = begin([back_to_open, ASSIGN], on_failure="skip")
    assert kinds(effects)[:2] == ["PlaybookStepStarted", "PlaybookStepSkipped"]
    skipped = effects[1]
    assert isinstance(skipped, EmitEvent)
    assert skipped.payload["reason"] == "cannot move from IN_PROGRESS to OPEN"
    assert run.step_states == ("skipped", "done") and run.status is Status.RESOLVED


def test_escalate_step_escalates_then_continues_when_completed_by_a_user() -> None:
    run, effects = begin([ESCALATE, ASSIGN])
    assert kinds(effects) == ["PlaybookStepWaiting"]
    run, effects = on_step_completed(run, step=0, by=USER, now=LATER)
    assert kinds(effects)[:4] == ["PlaybookStepStarted", "ExceptionStatusChanged",
                                  "ExceptionEscalated", "PlaybookStepCompleted"]
    escalated = effects[2]
    assert isinstance(escalated, EmitEvent) and escalated.payload["reason"] == "desk must look"
    assert escalated.actor == USER
    next_started = effects[4]
    assert isinstance(next_started, EmitEvent) and next_started.step == "pb:1"
    assert next_started.actor == AGENT, "the automatic step after a person's is the agent's"
    assert run.status is Status.RESOLVED


MESSAGE = "ALPHA EX-1 (LOW): tell-desk"
NOTIFY_CASES = [
    # step params, tenant routes, expected notifications (those a webhook delivers last)
    ({"channel": "desk-chat"}, [], [Notify("log", "desk-chat", MESSAGE, "notify", "pb:0:notify:log")]),
    ({"channel": "webhook", "target": "https://hooks.x.com/a", "message": "t {payload.tradeId}"}, [],
     [Notify("webhook", "https://hooks.x.com/a", "t T-1", "notify", "pb:0:notify:0")]),
    ({}, [{"channel": "slack", "target": "#ops"},
          {"channel": "slack", "target": "#crit", "severities": ["CRITICAL"]},
          {"channel": "email", "target": "x@y.com", "events": ["ExceptionEscalated"]},
          {"channel": "webhook", "target": "https://h.x.com/k", "events": ["notify", "SLAExpired"]}],
     [Notify("slack", "#ops", MESSAGE, "notify", "pb:0:notify:0"),
      Notify("webhook", "https://h.x.com/k", MESSAGE, "notify", "pb:0:notify:2")]),
]


@pytest.mark.parametrize(("params", "routes", "expected"), NOTIFY_CASES)
def test_notify_step(params: dict[str, Any], routes: list[dict[str, Any]],
                     expected: list[Notify]) -> None:
    step = {"name": "tell-desk", "action": "notify", "params": params}
    _, effects = begin([step], tenant={"notificationPolicies": routes})
    delivered = [e for e in effects if isinstance(e, Notify)]
    delivered += [n for e in effects if isinstance(e, RequestNotify) for n in e.notices]
    assert delivered == expected


WEBHOOK = {"name": "tell-hook", "action": "notify",
           "params": {"target": "https://hooks.x.com/T0/B1/s3cr3t?x=1", "message": "look"}}


def notified(run: PlaybookRun, effects: list[Effect], *, succeeded: bool,
             key: str | None = None) -> tuple[PlaybookRun, list[Effect]]:
    request = [e for e in effects if isinstance(e, RequestNotify)][-1]
    return on_notification_result(run, step=request.step, succeeded=succeeded,
                                  detail={} if succeeded else {"error": "HTTP 503"},
                                  idempotency_key=key or request.idempotency_key, now=LATER)


def test_a_webhook_step_waits_for_its_delivery() -> None:
    run, effects = begin([WEBHOOK, ASSIGN])
    assert kinds(effects) == ["PlaybookStepStarted", "RequestNotify"]
    assert (run.waiting_for, run.step_states, run.attempts) == ("notification", ("running", "pending"), (1, 0))
    [request] = [e for e in effects if isinstance(e, RequestNotify)]
    assert (request.step, request.attempt, request.idempotency_key) == (0, 1, run.notify_key(0))
    assert on_step_completed(run, step=0, by=USER, now=LATER) == (run, []), "in flight: a no-op"
    done, effects = notified(run, effects, succeeded=True)
    assert kinds(effects)[:3] == ["PlaybookStepCompleted", "PlaybookStepStarted", "PlaybookStepCompleted"]
    completed = effects[0]
    assert isinstance(completed, EmitEvent)
    assert completed.payload["detail"] == {"notified": [{"channel": "webhook", "target": "https://hooks.x.com"}]}
    assert completed.actor.id == "tools"
    assert done.status is Status.RESOLVED
    duplicate = on_notification_result(done, step=0, succeeded=True, detail={},
                                       idempotency_key=request.idempotency_key, now=LATER)
    assert duplicate == (done, [])


def test_log_notices_go_out_at_once_and_webhooks_are_awaited() -> None:
    routes = [{"channel": "slack", "target": "#ops"}, {"channel": "webhook", "target": "https://h.x.com/k"}]
    run, effects = begin([{"name": "tell", "action": "notify", "params": {}}], tenant={"notificationPolicies": routes})
    assert kinds(effects) == ["PlaybookStepStarted", "Notify", "RequestNotify"]
    assert run.waiting_for == "notification"
    done, effects = notified(run, effects, succeeded=True)
    completed = effects[0]
    assert isinstance(completed, EmitEvent) and completed.payload["detail"]["notified"] == [
        {"channel": "slack", "target": "#ops"}, {"channel": "webhook", "target": "https://h.x.com"}]
    assert "Notify" not in kinds(effects), "the log notice is not sent again"


NOTIFY_ON_FAILURE = [
    # onFailure, delivery results until the end, expected kinds after the last, status
    ("skip", [False], ["PlaybookStepSkipped", "PlaybookStepStarted"], Status.RESOLVED),
    ("escalate", [False], ["PlaybookStepFailed", "ExceptionStatusChanged", "ExceptionEscalated"],
     Status.ESCALATED),
    ("retry", [False, True], ["PlaybookStepCompleted"], Status.RESOLVED),
    ("retry", [False] * (STEP_RETRY_LIMIT + 1),
     ["PlaybookStepFailed", "ExceptionStatusChanged", "ExceptionEscalated"], Status.ESCALATED),
]


@pytest.mark.parametrize(("on_failure", "results", "tail", "status"), NOTIFY_ON_FAILURE)
def test_failed_notification_follows_on_failure(on_failure: str, results: list[bool], tail: list[str],
                                                status: Status) -> None:
    run, effects = begin([WEBHOOK, ASSIGN], on_failure=on_failure)
    keys = []
    for succeeded in results:
        keys.append([e for e in effects if isinstance(e, RequestNotify)][-1].idempotency_key)
        run, effects = notified(run, effects, succeeded=succeeded)
    assert kinds(effects)[:len(tail)] == tail
    assert run.status is status
    assert len(set(keys)) == len(keys), "each retry is a new request with its own key"
    assert run.attempts[0] == len(results)
    if "PlaybookStepFailed" in tail:
        failed = effects[0]
        assert isinstance(failed, EmitEvent) and failed.payload["reason"] == "HTTP 503"


def test_a_retry_delivers_the_same_notices_again() -> None:
    run, effects = begin([WEBHOOK], on_failure="retry")
    first = [e for e in effects if isinstance(e, RequestNotify)][0]
    run, effects = notified(run, effects, succeeded=False)
    assert kinds(effects) == ["RequestNotify"]
    second = effects[0]
    assert isinstance(second, RequestNotify)
    assert (second.attempt, second.notices) == (2, first.notices)  # the notices' keys are stable
    assert notified(run, effects, succeeded=True, key=first.idempotency_key) == (run, []), "a stale result"


def test_webhook_targets_are_shown_by_origin_only() -> None:
    def shown(target: str, channel: str = "webhook") -> str:
        return Notify(channel, target, "m", "notify", "k").shown_target
    assert shown("https://hooks.slack.com/services/T0/B1/XXXX?token=1") == "https://hooks.slack.com"
    assert shown("http://127.0.0.1:8123/hook") == "http://127.0.0.1:8123"
    assert shown("http://[::1") == "(not a URL)"
    assert shown("#ops", "slack") == "#ops"


# --- failures ----------------------------------------------------------------------------------


def test_blocked_tool_fails_and_escalates() -> None:
    run, effects = begin([LOOKUP, ASSIGN], tenant={"approvedTools": ["pinger"]})
    assert kinds(effects) == ["PlaybookStepStarted", "PlaybookStepFailed",
                              "ExceptionStatusChanged", "ExceptionEscalated"]
    assert requests(effects) == []
    assert run.status is Status.ESCALATED
    assert run.halted == ("step 0 (look) failed: tool lookup is blocked by guardrails "
                          "or not approved")


ON_FAILURE = [
    # onFailure, tool replies until the end, expected final kinds, status
    ("skip", [False], ["ToolExecutionFailed", "PlaybookStepSkipped", "PlaybookStepStarted"],
     Status.RESOLVED),
    ("escalate", [False], ["ToolExecutionFailed", "PlaybookStepFailed", "ExceptionStatusChanged",
                           "ExceptionEscalated"], Status.ESCALATED),
    ("retry", [False, True], ["ToolExecutionSucceeded", "PlaybookStepCompleted"], Status.RESOLVED),
    ("retry", [False] * (STEP_RETRY_LIMIT + 1),
     ["ToolExecutionFailed", "PlaybookStepFailed", "ExceptionStatusChanged", "ExceptionEscalated"],
     Status.ESCALATED),
]


@pytest.mark.parametrize(("on_failure", "replies", "tail", "status"), ON_FAILURE)
def test_failed_tool_follows_on_failure(on_failure: str, replies: list[bool], tail: list[str],
                                        status: Status) -> None:
    run, effects = begin([LOOKUP, ASSIGN], on_failure=on_failure)
    keys = []
    for succeeded in replies:
        keys.append(requests(effects)[-1].idempotency_key)
        run, effects = reply(run, effects, succeeded=succeeded)
    assert kinds(effects)[:len(tail)] == tail
    assert run.status is status
    assert len(set(keys)) == len(keys), "each retry is a new request with its own key"
    assert run.attempts[0] == len(replies)


def test_retry_requests_again_with_the_next_attempt_key() -> None:
    run, effects = begin([LOOKUP], on_failure="retry")
    first = requests(effects)[0]
    run, effects = reply(run, effects, succeeded=False)
    assert kinds(effects) == ["ToolExecutionFailed", "ToolExecutionRequested", "RequestTool"]
    second = requests(effects)[0]
    assert second.idempotency_key == run.tool_key(0, 2) != first.idempotency_key
    failed = effects[0]
    assert isinstance(failed, EmitEvent) and failed.step == "pb:0:1"
    assert effects[1].step == "pb:0:2"  # type: ignore[union-attr]


def test_stale_and_duplicate_tool_results_are_ignored() -> None:
    run, effects = begin([LOOKUP, ASSIGN], on_failure="retry")
    first = requests(effects)[0]
    after_failure, effects = reply(run, effects, succeeded=False)
    stale = on_tool_result(after_failure, step=0, succeeded=True, detail={},
                           idempotency_key=first.idempotency_key, now=LATER)
    assert stale == (after_failure, [])
    current = requests(effects)[0].idempotency_key
    wrong_step = on_tool_result(after_failure, step=1, succeeded=True, detail={},
                                idempotency_key=current, now=LATER)
    assert wrong_step == (after_failure, [])
    done, effects = on_tool_result(after_failure, step=0, succeeded=True, detail={},
                                   idempotency_key=current, now=LATER)
    assert done.status is Status.RESOLVED
    assert on_tool_result(done, step=0, succeeded=True, detail={}, idempotency_key=current,
                          now=LATER) == (done, [])


# --- approvals ---------------------------------------------------------------------------------


def pending() -> PlaybookRun:
    run, _ = begin([ASSIGN, FIX], critical=True)
    return run


def test_grant_continues_with_in_progress() -> None:
    run, effects = on_approval(pending(), granted=True, by="olivia", comment="ok", now=LATER)
    assert kinds(effects) == ["ApprovalGranted", "ExceptionStatusChanged", "PlaybookStepStarted",
                              "PlaybookStepCompleted", "PlaybookStepWaiting"]
    granted = effects[0]
    assert isinstance(granted, EmitEvent) and granted.actor == USER
    approval = granted.payload["approval"]
    assert (approval["status"], approval["decided_by"], approval["comment"]) == (
        "GRANTED", "olivia", "ok")
    assert approval["expires_at"] == (NOW + timedelta(minutes=60)).isoformat()
    assert (run.status, run.approval, run.auto) == (Status.IN_PROGRESS, "GRANTED", True)


def test_reject_escalates_with_the_reason_and_stops() -> None:
    run, effects = on_approval(pending(), granted=False, by="olivia", comment="wrong account",
                               now=LATER)
    assert kinds(effects) == ["ApprovalRejected", "ExceptionStatusChanged", "ExceptionEscalated"]
    escalated = effects[-1]
    assert isinstance(escalated, EmitEvent)
    assert escalated.payload["reason"] == "approval rejected by olivia: wrong account"
    assert run.status is Status.ESCALATED and run.halted is not None
    _, refused = on_step_completed(run, step=0, by=USER, now=LATER)
    assert refused == [RejectCommand("the playbook stopped: approval rejected by olivia: "
                                     "wrong account")]


APPROVAL_REPLAYS = [
    # first answer, second answer, second effects
    (True, True, []),
    (False, False, []),
    (True, False, [RejectCommand("the approval is already GRANTED")]),
    (False, True, [RejectCommand("the approval is already REJECTED")]),
]


@pytest.mark.parametrize(("first", "second", "expected"), APPROVAL_REPLAYS)
def test_answering_a_decided_approval(first: bool, second: bool, expected: list[Effect]) -> None:
    run, _ = on_approval(pending(), granted=first, by="a", comment=None, now=LATER)
    again, effects = on_approval(run, granted=second, by="b", comment=None, now=LATER)
    assert (again, effects) == (run, expected)


def test_approval_expires_exactly_once() -> None:
    run = pending()
    expires = run.approval_expires_at
    assert expires is not None
    assert on_approval_expired(run, now=expires - timedelta(seconds=1)) == (run, [])
    expired, effects = on_approval_expired(run, now=expires)
    assert kinds(effects) == ["ApprovalExpired", "ExceptionStatusChanged", "ExceptionEscalated"]
    assert all(e.actor.type == "system" for e in effects if isinstance(e, EmitEvent))
    assert (expired.approval, expired.status) == ("EXPIRED", Status.ESCALATED)
    row = next(e for e in effects if isinstance(e, EmitEvent)).payload["approval"]
    assert (row["status"], row["comment"]) == ("EXPIRED", "no approval answer within 60 minutes")
    assert on_approval_expired(expired, now=expires + timedelta(hours=1)) == (expired, [])
    assert on_approval(expired, granted=True, by="a", comment=None, now=expires)[1] == [
        RejectCommand("the approval is already EXPIRED")]


def test_late_answer_expires_the_approval_and_is_refused() -> None:
    run = pending()
    assert run.approval_expires_at is not None
    late, effects = on_approval(run, granted=True, by="a", comment=None,
                                now=run.approval_expires_at + timedelta(minutes=1))
    assert kinds(effects) == ["ApprovalExpired", "ExceptionStatusChanged", "ExceptionEscalated",
                              "RejectCommand"]
    assert late.approval == "EXPIRED"
    assert on_approval_expired(late, now=LATER + timedelta(days=1)) == (late, [])


def test_an_answer_to_another_approval_is_refused_and_changes_nothing() -> None:
    """The web names the approval it answers: one of an earlier occurrence of the exception id
    (replaced since) must not answer the new occurrence's."""
    run = pending()
    earlier = replace(run, occurrence=Occurrence.started_by(("sentinai.exceptions", 0, 1), first_seen=0.0))
    assert on_approval(run, granted=True, by="a", comment=None, now=LATER, approval_id=earlier.approval_id()) == (
        run, [RejectCommand(f"approval {earlier.approval_id()} is not the exception's current one: "
                            "a new occurrence of the exception id replaced it")])
    granted, _ = on_approval(run, granted=True, by="a", comment=None, now=LATER, approval_id=run.approval_id())
    assert granted.approval == "GRANTED"

def test_no_approval_to_answer() -> None:
    run, _ = begin([ASSIGN, ESCALATE])
    assert run.approval is None
    assert on_approval(run, granted=True, by="a", comment=None, now=LATER)[1] == [
        RejectCommand("no approval was requested for this playbook")]


# --- step completion by people -----------------------------------------------------------------


def waiting_on_fix() -> PlaybookRun:
    run, _ = on_approval(pending(), granted=True, by="olivia", comment=None, now=LATER)
    assert (run.next_step, run.waiting_for) == (1, "person")
    return run


COMPLETIONS: list[tuple[str, Callable[[], PlaybookRun], int, Actor, list[Effect] | None]] = [
    # name, run, step, by, expected effects (None: the step runs)
    ("risky step by a user", waiting_on_fix, 1, USER, None),
    ("risky step by an agent", waiting_on_fix, 1, AGENT,
     [RejectCommand("step 1 (fix) is risky: only a user may complete it")]),
    ("a step already done", waiting_on_fix, 0, USER, []),
    ("no such step", waiting_on_fix, 7, USER, [RejectCommand("the playbook has no step 7")]),
    ("waiting for approval", pending, 0, USER, [RejectCommand("the playbook is waiting for approval")]),
]


@pytest.mark.parametrize(("name", "make", "step", "by", "expected"), COMPLETIONS,
                         ids=[c[0] for c in COMPLETIONS])
def test_completing_steps(name: str, make: Callable[[], PlaybookRun], step: int, by: Actor,
                          expected: list[Effect] | None) -> None:
    run = make()
    after, effects = on_step_completed(run, step=step, by=by, now=LATER)
    if expected is None:
        assert kinds(effects) == ["PlaybookStepStarted", "ToolExecutionRequested", "RequestTool"]
        assert after.waiting_for == "tool"
    else:
        assert (after, effects) == (run, expected)


def test_steps_complete_in_order_only() -> None:
    run, _ = begin([ESCALATE, ASSIGN, COMMENT])
    _, effects = on_step_completed(run, step=2, by=USER, now=LATER)
    assert effects == [RejectCommand("steps complete in order: step 0 (raise) comes first")]
    run, _ = on_step_completed(run, step=0, by=USER, now=LATER)
    assert run.owner == "ops" and run.status is Status.RESOLVED


# --- versions, keys, storage -------------------------------------------------------------------


def test_events_carry_increasing_versions_and_the_run_its_snapshot() -> None:
    packs = packs_for([ASSIGN, COMMENT])
    run, effects = start(decided(packs), packs, now=NOW, base_version=7)
    assert run is not None
    events = [e for e in effects if isinstance(e, EmitEvent)]
    assert [e.version for e in events] == list(range(8, 8 + len(events)))
    assert all("exception" not in e.payload for e in events)
    assert run.version == 7 + len(events)
    assert exception_snapshot(run) == {
        "source_system": None, "exception_type": "ALPHA", "severity": "LOW", "status": "RESOLVED",
        "owner": "ops", "playbook_id": "pb", "current_step": None,
        "sla_deadline": (NOW + timedelta(minutes=30)).isoformat(), "first_seen_at": None, "version": 7 + len(events)}


def test_run_round_trips_through_json() -> None:
    run, _ = begin([ASSIGN, FIX], critical=True, tenant={"notificationPolicies": [
        {"channel": "slack", "target": "#ops"}]})
    assert PlaybookRun.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    assert PlaybookRun.from_dict(run.to_dict()) == run


def test_a_run_of_another_occurrence_has_ids_of_its_own_and_keeps_them_through_json() -> None:
    """The same exception id decided again after its dedup window: its approval, tool and notice
    keys differ from the first occurrence's, and its row snapshot says when it was first seen."""
    packs = packs_for([ASSIGN, FIX, NOTIFY])
    first, again = (start(decided(packs, critical=True), packs, now=NOW,
                          occurrence=Occurrence.started_by(("sentinai.exceptions", 2, offset),
                                                           first_seen=NOW.timestamp() + offset))[0]
                    for offset in (10, 90_000))
    assert first is not None and again is not None
    assert first.approval_id() != again.approval_id()
    assert first.tool_key(1) != again.tool_key(1) and first.notify_key(2) != again.notify_key(2)
    assert PlaybookRun.from_dict(json.loads(json.dumps(again.to_dict()))) == again
    assert exception_snapshot(again)["first_seen_at"] == (NOW + timedelta(seconds=90_000)).isoformat()


# --- the story -------------------------------------------------------------------------


def test_critical_exception_story_with_replays() -> None:
    """CRITICAL waits for approval → approved → safe steps run → risky tool step waits for a
    person → completed by a user → tool requested once → tool succeeded → RESOLVED. Every input
    is delivered twice; the second delivery never has effects."""
    packs = packs_for([ASSIGN, LOOKUP, COMMENT, FIX, NOTIFY])
    outcome = decided(packs, critical=True)
    assert outcome.status is Status.PENDING_APPROVAL
    run, effects = start(outcome, packs, now=NOW)
    assert run is not None and effects == []
    log: list[Effect] = []

    def apply(step: Callable[[PlaybookRun], tuple[PlaybookRun, list[Effect]]]) -> list[Effect]:
        nonlocal run
        assert run is not None
        run, new = step(run)
        replayed, again = step(run)
        assert again == [] and replayed == run, "a replayed input has no effects"
        log.extend(new)
        return new

    granted = apply(lambda r: on_approval(r, granted=True, by="olivia", comment=None, now=LATER))
    assert kinds(granted) == ["ApprovalGranted", "ExceptionStatusChanged",
                              "PlaybookStepStarted", "PlaybookStepCompleted",
                              "PlaybookStepStarted", "ToolExecutionRequested", "RequestTool"]
    lookup = requests(granted)[0]
    looked = apply(lambda r: on_tool_result(r, step=1, succeeded=True, detail={"response": {}},
                                            idempotency_key=lookup.idempotency_key, now=LATER))
    assert kinds(looked) == ["ToolExecutionSucceeded", "PlaybookStepCompleted",
                             "PlaybookStepStarted", "CommentAdded", "PlaybookStepCompleted",
                             "PlaybookStepWaiting"]
    assert (run.next_step, run.waiting_for) == (3, "person")
    refused = on_step_completed(run, step=3, by=AGENT, now=LATER)
    assert refused[1] == [RejectCommand("step 3 (fix) is risky: only a user may complete it")]
    completed = apply(lambda r: on_step_completed(r, step=3, by=USER, now=LATER))
    [fix] = requests(completed)
    assert (fix.tool_name, fix.arguments) == ("fixer", {"tradeId": "T-1"})
    fixed = apply(lambda r: on_tool_result(r, step=3, succeeded=True, detail={"response": {}},
                                           idempotency_key=fix.idempotency_key, now=LATER))
    assert kinds(fixed)[-4:] == ["PlaybookStepCompleted", "PlaybookCompleted",
                                 "ExceptionStatusChanged", "ExceptionResolved"]
    assert run.status is Status.RESOLVED and run.completed
    assert [r.tool_name for r in requests(log)] == ["lookup", "fixer"]
    events = [(e.event_type, e.step) for e in log if isinstance(e, EmitEvent)]
    assert len(events) == len(set(events)), "every event has its own deterministic key"
    statuses = [(e.payload["from"], e.payload["to"]) for e in log
                if isinstance(e, EmitEvent) and e.event_type == "ExceptionStatusChanged"]
    assert statuses == [("PENDING_APPROVAL", "IN_PROGRESS"), ("IN_PROGRESS", "RESOLVED")]
    for later in (lambda r: on_approval_expired(r, now=LATER + timedelta(days=1)),
                  lambda r: on_step_completed(r, step=4, by=USER, now=LATER),
                  lambda r: on_tool_result(r, step=3, succeeded=True, detail={},
                                           idempotency_key=fix.idempotency_key, now=LATER)):
        assert later(run) == (run, [])


def test_sample_pack_arguments_are_filled_then_judged_by_the_tool_schema(
        sample_packs: PackSet) -> None:
    """acme-capital's SSI playbook: `{payload.counterparty}` is missing → null → schema error."""
    from sentinai.tools.arguments import argument_error

    packs = sample_packs.for_tenant("acme-capital")
    assert packs is not None
    raw = {"tenant_id": "acme-capital", "exception_id": "SF-1", "exception_type": "SETTLEMENT_FAIL",
           "payload": {"tradeId": "T-7", "failReason": "SSI_MISMATCH", "currency": "EUR"}}
    run, effects = start(decide(normalize(raw, now=NOW), packs, now=NOW), packs, now=NOW)
    assert run is not None and run.playbook_id == "trading-settlement-fail-ssi"
    [request] = requests(effects)
    assert (request.tool_name, request.arguments) == (
        "ssi_refresh", {"counterparty": None, "currency": "EUR"})
    error = argument_error(packs.tools["ssi_refresh"].input_schema, request.arguments)
    assert error == "$.counterparty: None is not of type 'string'"
    run, effects = on_tool_result(run, step=0, succeeded=False,
                                  detail={"error": f"invalid arguments: {error}"},
                                  idempotency_key=request.idempotency_key, now=LATER)
    assert run.status is Status.ESCALATED  # the playbook's onFailure: escalate
    assert "invalid arguments" in (run.halted or "")
