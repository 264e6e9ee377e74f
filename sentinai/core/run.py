"""The execution state of one exception's playbook (`PlaybookRun`) and its steps as prepared from
the pack (`RunStep`, `run_step`), with the playbooks that take over at an SLA phase (`SlaPlan`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sentinai.core.ids import event_id_for
from sentinai.core.models import Severity, Status
from sentinai.core.packs import OnFailure, PlaybookStep, StepAction, TenantPacks
from sentinai.core.packs.tenant import NotificationRoute
from sentinai.core.templates import fill_templates

ApprovalState = Literal["PENDING", "GRANTED", "REJECTED", "EXPIRED"]
WaitingFor = Literal["approval", "person", "tool", "notification"]
StepState = Literal["pending", "waiting", "running", "done", "skipped", "failed"]
SlaPhase = Literal["imminent", "expired"]


class RunStep(BaseModel):
    """A pack step as this run executes it: templates filled, risk and blocking decided."""

    model_config = ConfigDict(frozen=True)

    name: str
    action: StepAction
    params: dict[str, Any]
    risky: bool
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    blocked: bool = False


class SlaPlan(BaseModel):
    """The playbook that applies once the SLA reaches a phase, its steps prepared at the decision."""

    model_config = ConfigDict(frozen=True)

    playbook_id: str
    on_failure: OnFailure
    approved: bool
    steps: tuple[RunStep, ...]
    reasons: tuple[str, ...]


class PlaybookRun(BaseModel):
    """The execution state of one exception's playbook; JSON round-trips for a faust table.

    `next_step` is the 0-based index of the first step not done (`len(steps)` when all are).
    `auto` says whether low-risk steps may run by themselves; risky steps never do.
    `halted` is why the run stopped for good (rejected, expired, a step escalated).
    `version` is the exceptions-table version of the last event this run emitted.
    `sla_plans` are the playbooks that take over once the SLA is imminent or expired (see
    `sla_plans`); `sla_expired_escalates` is the tenant's `slaExpiredEscalates`.
    """

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    exception_id: str
    playbook_id: str
    on_failure: OnFailure
    steps: tuple[RunStep, ...]
    step_states: tuple[StepState, ...]
    attempts: tuple[int, ...]
    next_step: int = 0
    status: Status
    auto: bool
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
    exception_type: str
    severity: Severity
    source_system: str | None = None
    sla_deadline: datetime | None = None
    version: int = 0
    sla_plans: dict[SlaPhase, SlaPlan] = Field(default_factory=dict)
    sla_expired_escalates: bool = True

    @property
    def completed(self) -> bool:
        return self.halted is None and self.next_step >= len(self.steps)

    def tool_key(self, step: int, attempt: int | None = None) -> str:
        """The Idempotency-Key of a step's tool request: stable per (exception, step, attempt)."""
        attempt = self.attempts[step] if attempt is None else attempt
        return event_id_for(self.tenant_id, self.exception_id, "tool",
                            f"{self.playbook_id}:{step}:{attempt}")

    def notify_key(self, step: int) -> str:
        """The key of a notify step's delivery request: stable per (exception, step, attempt)."""
        return event_id_for(self.tenant_id, self.exception_id, "notify",
                            f"{self.playbook_id}:{step}:{self.attempts[step]}")


def run_step(step: PlaybookStep, packs: TenantPacks, blocked: frozenset[str],
              env: dict[str, Any]) -> RunStep:
    """Risky: marked so by the pack, an escalation, or a call of a tool marked risky (or unknown)."""
    params = fill_templates(step.params, env)
    tool = str(step.params["tool"]) if step.action is StepAction.CALL_TOOL else None
    risky = step.risky or step.action is StepAction.ESCALATE
    arguments = None
    if tool is not None:
        definition = packs.tools.get(tool)
        risky = risky or definition is None or definition.risky
        args = params.get("args", {})
        arguments = args if isinstance(args, dict) else {}
    return RunStep(name=step.name, action=step.action, params=params, risky=risky, tool=tool,
                   arguments=arguments, blocked=tool is not None and tool in blocked)
