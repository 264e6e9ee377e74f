"""The execution state of one exception's playbook (`PlaybookRun`) and its steps as prepared from
the pack (`RunStep`, `run_step`), with the playbooks that take over at an SLA phase (`SlaPlan`).

Plain slotted dataclasses with a hand-written JSON form (`to_dict`, `from_dict`, checked field by
field): the intake path starts a run for most exceptions and stores it in the exception-state table,
and pydantic's validation, copies and dumps of it cost more than the rest of the decision. The JSON
form is the one the pydantic models wrote (same keys, enum values, datetimes as pydantic writes
them), so a worker reads the table changelog of the earlier release, and that release reads ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal, get_args

from sentinai.core.ids import approval_id_for, event_id_for
from sentinai.core.models import Severity, Status
from sentinai.core.occurrence import NO_OCCURRENCE, Occurrence
from sentinai.core.packs import OnFailure, PlaybookStep, StepAction, TenantPacks
from sentinai.core.packs.tenant import NotificationRoute
from sentinai.core.templates import TemplateTooLarge, fill_templates

ApprovalState = Literal["PENDING", "GRANTED", "REJECTED", "EXPIRED"]
WaitingFor = Literal["approval", "person", "tool", "notification"]
StepState = Literal["pending", "waiting", "running", "done", "skipped", "failed"]
SlaPhase = Literal["imminent", "expired"]

_APPROVAL_STATES = frozenset(get_args(ApprovalState))
_WAITING_FOR = frozenset(get_args(WaitingFor))
_STEP_STATES = frozenset(get_args(StepState))
_SLA_PHASES = frozenset(get_args(SlaPhase))
# Enum members by value: a dict look-up is a fraction of an enum call (a KeyError for what is none).
_ACTIONS = {a.value: a for a in StepAction}
_ON_FAILURE = {f.value: f for f in OnFailure}
_STATUSES = {s.value: s for s in Status}
_SEVERITIES = {s.value: s for s in Severity}


@dataclass(frozen=True, slots=True)
class RunStep:
    """A pack step as this run executes it: templates filled, risk and blocking decided."""

    name: str
    action: StepAction
    params: dict[str, Any]
    risky: bool
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    blocked: bool = False
    error: str | None = None
    """Why the step cannot run (its templates fill in too much): it fails when it is reached."""

    def to_dict(self) -> dict[str, Any]:
        shown = {"name": self.name, "action": self.action.value, "params": self.params, "risky": self.risky,
                 "tool": self.tool, "arguments": self.arguments, "blocked": self.blocked}
        if self.error is not None:
            shown["error"] = self.error
        return shown

    @classmethod
    def from_dict(cls, raw: Any) -> RunStep:
        arguments = raw.get("arguments")
        return cls(_text(raw["name"], "name"), _ACTIONS[raw["action"]], _object(raw["params"], "params"),
                   _flag(raw["risky"], "risky"), _maybe_text(raw.get("tool"), "tool"),
                   None if arguments is None else _object(arguments, "arguments"),
                   _flag(raw.get("blocked", False), "blocked"), _maybe_text(raw.get("error"), "error"))


@dataclass(frozen=True, slots=True)
class SlaPlan:
    """The playbook that applies once the SLA reaches a phase, its steps prepared at the decision."""

    playbook_id: str
    on_failure: OnFailure
    approved: bool
    steps: tuple[RunStep, ...]
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"playbook_id": self.playbook_id, "on_failure": self.on_failure.value, "approved": self.approved,
                "steps": [s.to_dict() for s in self.steps], "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, raw: Any) -> SlaPlan:
        return cls(_text(raw["playbook_id"], "playbook_id"), _ON_FAILURE[raw["on_failure"]],
                   _flag(raw["approved"], "approved"), tuple(map(RunStep.from_dict, _list(raw["steps"], "steps"))),
                   tuple(_text(r, "reasons") for r in _list(raw["reasons"], "reasons")))


@dataclass(slots=True)
class PlaybookRun:
    """The execution state of one exception's playbook; JSON round-trips for a faust table.

    `next_step` is the 0-based index of the first step not done (`len(steps)` when all are).
    `auto` says whether low-risk steps may run by themselves; risky steps never do.
    `halted` is why the run stopped for good (rejected, expired, a step escalated).
    `version` is the exceptions-table version of the last event this run emitted.
    `sla_plans` are the playbooks that take over once the SLA is imminent or expired (see
    `sla_plans`); `sla_expired_escalates` is the tenant's `slaExpiredEscalates`.
    `occurrence` is the occurrence of the exception id the run belongs to: its ids derive from it.

    A value: nothing changes a run once it is handed out. `sentinai.core.execution` changes a
    `copy` of its own while it handles an input (a frozen model's copy per change cost more than
    the rest of the decision); every field holds an immutable value or one never changed in place.
    """

    tenant_id: str
    exception_id: str
    playbook_id: str
    on_failure: OnFailure
    steps: tuple[RunStep, ...]
    step_states: tuple[StepState, ...]
    attempts: tuple[int, ...]
    status: Status
    auto: bool
    exception_type: str
    severity: Severity
    next_step: int = 0
    approval: ApprovalState | None = None
    approval_requested_at: datetime | None = None
    approval_expires_at: datetime | None = None
    approval_by: str | None = None
    approval_comment: str | None = None
    waiting_for: WaitingFor | None = None
    halted: str | None = None
    owner: str | None = None
    comments: tuple[str, ...] = ()
    routes: tuple[NotificationRoute, ...] = ()
    source_system: str | None = None
    sla_deadline: datetime | None = None
    version: int = 0
    sla_plans: dict[SlaPhase, SlaPlan] = field(default_factory=dict)
    sla_expired_escalates: bool = True
    occurrence: Occurrence = NO_OCCURRENCE

    @property
    def completed(self) -> bool:
        return self.halted is None and self.next_step >= len(self.steps)

    def tool_key(self, step: int, attempt: int | None = None) -> str:
        """The Idempotency-Key of a step's tool request: stable per (exception, step, attempt)."""
        attempt = self.attempts[step] if attempt is None else attempt
        return event_id_for(self.tenant_id, self.exception_id, "tool",
                            f"{self.playbook_id}:{step}:{attempt}", self.occurrence.key)

    def notify_key(self, step: int) -> str:
        """The key of a notify step's delivery request: stable per (exception, step, attempt)."""
        return event_id_for(self.tenant_id, self.exception_id, "notify",
                            f"{self.playbook_id}:{step}:{self.attempts[step]}", self.occurrence.key)

    def approval_id(self) -> str:
        """The id of the run's approval (`sentinai.streams.records.outcome_events` gives it first)."""
        return approval_id_for(self.tenant_id, self.exception_id, self.occurrence.key)

    def copy(self) -> PlaybookRun:
        """A shallow copy, for `sentinai.core.execution` to change."""
        return PlaybookRun(*_FIELD_VALUES(self))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, keys in the order the pydantic model wrote them; the occurrence after them,
        left out for the key ``""`` (a run of the earlier release is written back as it was)."""
        shown = {
            "tenant_id": self.tenant_id, "exception_id": self.exception_id, "playbook_id": self.playbook_id,
            "on_failure": self.on_failure.value, "steps": [s.to_dict() for s in self.steps],
            "step_states": list(self.step_states), "attempts": list(self.attempts), "next_step": self.next_step,
            "status": self.status.value, "auto": self.auto, "approval": self.approval,
            "approval_requested_at": _iso(self.approval_requested_at),
            "approval_expires_at": _iso(self.approval_expires_at), "approval_by": self.approval_by,
            "approval_comment": self.approval_comment, "waiting_for": self.waiting_for, "halted": self.halted,
            "owner": self.owner, "comments": list(self.comments), "routes": [_route(r) for r in self.routes],
            "exception_type": self.exception_type, "severity": self.severity.value,
            "source_system": self.source_system, "sla_deadline": _iso(self.sla_deadline), "version": self.version,
            "sla_plans": {phase: plan.to_dict() for phase, plan in self.sla_plans.items()},
            "sla_expired_escalates": self.sla_expired_escalates,
        }
        if self.occurrence.key:
            shown["occurrence"], shown["first_seen"] = self.occurrence.key, self.occurrence.first_seen
        return shown

    @classmethod
    def from_dict(cls, raw: Any) -> PlaybookRun:
        """A run from its JSON form; `ValueError` (or `KeyError`, `TypeError`) when it is not one.

        Fields that came after the first release (the SLA plans, `slaExpiredEscalates`, the
        occurrence) may be missing.
        """
        steps = tuple(map(RunStep.from_dict, _list(raw["steps"], "steps")))
        step_states = tuple(_one_of(s, _STEP_STATES, "step_states") for s in _list(raw["step_states"], "step_states"))
        attempts = tuple(_count(a, "attempts") for a in _list(raw["attempts"], "attempts"))
        if not len(steps) == len(step_states) == len(attempts):
            raise ValueError("steps, step_states and attempts must have the same length")
        plans = _object(raw.get("sla_plans", {}), "sla_plans")
        return cls(
            tenant_id=_text(raw["tenant_id"], "tenant_id"), exception_id=_text(raw["exception_id"], "exception_id"),
            playbook_id=_text(raw["playbook_id"], "playbook_id"), on_failure=_ON_FAILURE[raw["on_failure"]],
            steps=steps, step_states=step_states, attempts=attempts,
            status=_STATUSES[raw["status"]], auto=_flag(raw["auto"], "auto"),
            exception_type=_text(raw["exception_type"], "exception_type"), severity=_SEVERITIES[raw["severity"]],
            next_step=_count(raw.get("next_step", 0), "next_step"),
            approval=_maybe_one_of(raw.get("approval"), _APPROVAL_STATES, "approval"),
            approval_requested_at=_when(raw.get("approval_requested_at"), "approval_requested_at"),
            approval_expires_at=_when(raw.get("approval_expires_at"), "approval_expires_at"),
            approval_by=_maybe_text(raw.get("approval_by"), "approval_by"),
            approval_comment=_maybe_text(raw.get("approval_comment"), "approval_comment"),
            waiting_for=_maybe_one_of(raw.get("waiting_for"), _WAITING_FOR, "waiting_for"),
            halted=_maybe_text(raw.get("halted"), "halted"), owner=_maybe_text(raw.get("owner"), "owner"),
            comments=tuple(_text(c, "comments") for c in _list(raw.get("comments", []), "comments")),
            routes=tuple(map(_route_from, _list(raw.get("routes", []), "routes"))),
            source_system=_maybe_text(raw.get("source_system"), "source_system"),
            sla_deadline=_when(raw.get("sla_deadline"), "sla_deadline"),
            version=_count(raw.get("version", 0), "version"),
            sla_plans={_one_of(phase, _SLA_PHASES, "sla_plans"): SlaPlan.from_dict(plan)
                       for phase, plan in plans.items()},
            sla_expired_escalates=_flag(raw.get("sla_expired_escalates", True), "sla_expired_escalates"),
            occurrence=Occurrence(_text(raw.get("occurrence", ""), "occurrence"),
                                  _seconds(raw.get("first_seen", 0.0), "first_seen")),
        )


_FIELD_VALUES = attrgetter(*PlaybookRun.__dataclass_fields__)


def run_step(step: PlaybookStep, packs: TenantPacks, blocked: frozenset[str],
              env: dict[str, Any]) -> RunStep:
    """Risky: marked so by the pack, an escalation, or a call of a tool marked risky (or unknown)."""
    error = None
    try:
        params = fill_templates(step.params, env)
    except TemplateTooLarge as too_large:  # the step keeps its params as written, and fails when reached
        params, error = dict(step.params), str(too_large)
    tool = str(step.params["tool"]) if step.action is StepAction.CALL_TOOL else None
    risky = step.risky or step.action is StepAction.ESCALATE
    arguments = None
    if tool is not None:
        definition = packs.tools.get(tool)
        risky = risky or definition is None or definition.risky
        args = params.get("args", {})
        arguments = args if isinstance(args, dict) else {}
    return RunStep(step.name, step.action, params, risky, tool, arguments, tool is not None and tool in blocked,
                   error)


# --- the JSON form's pieces ----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    """As pydantic writes a datetime: ISO 8601, UTC as `Z`."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _route(route: NotificationRoute) -> dict[str, Any]:
    return {"channel": route.channel, "target": route.target,
            "severities": [s.value for s in route.severities], "events": list(route.events)}


def _route_from(raw: Any) -> NotificationRoute:
    """Runs of a tenant share its few routes: each is validated once."""
    return _validated_route(raw["channel"], raw["target"], tuple(raw.get("severities", ())),
                            tuple(raw.get("events", ())))


@lru_cache(maxsize=1024)
def _validated_route(channel: Any, target: Any, severities: tuple[Any, ...], events: tuple[Any, ...]
                     ) -> NotificationRoute:
    return NotificationRoute.model_validate({"channel": channel, "target": target, "severities": list(severities),
                                             "events": list(events)})


def _text(value: Any, name: str) -> str:
    if type(value) is not str:
        raise TypeError(f"{name}: expected a string, got {value!r:.80}")
    return value


def _maybe_text(value: Any, name: str) -> str | None:
    return None if value is None else _text(value, name)


def _flag(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"{name}: expected true or false, got {value!r:.80}")
    return value


def _count(value: Any, name: str) -> int:
    if type(value) is not int:
        raise TypeError(f"{name}: expected an integer, got {value!r:.80}")
    return value


def _seconds(value: Any, name: str) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"{name}: expected a number, got {value!r:.80}")
    return float(value)


def _object(value: Any, name: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise TypeError(f"{name}: expected an object, got {value!r:.80}")
    return value


def _list(value: Any, name: str) -> list[Any] | tuple[Any, ...]:
    if type(value) is not list and type(value) is not tuple:
        raise TypeError(f"{name}: expected a list, got {value!r:.80}")
    return value  # type: ignore[no-any-return]


def _one_of(value: Any, allowed: frozenset[str], name: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {sorted(allowed)}, got {value!r:.80}")
    return value


def _maybe_one_of(value: Any, allowed: frozenset[str], name: str) -> Any:
    return None if value is None else _one_of(value, allowed, name)


def _when(value: Any, name: str) -> datetime | None:
    return None if value is None else datetime.fromisoformat(_text(value, name))
