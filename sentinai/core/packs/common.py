"""Pack parts used by both Domain Packs and Tenant Policy Packs."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, HttpUrl, field_validator, model_validator
from pydantic_core import PydanticCustomError

from sentinai.core.conditions import Condition
from sentinai.core.models import Actionability, Severity, Status
from sentinai.core.packs.base import ExceptionTypeName, Identifier, PackModel
from sentinai.core.packs.headers import credential_header_problem

SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,127}")
"""What a `secretRef` may be: also a safe file name under the deployment's secrets folder."""
MAX_PLAYBOOK_STEPS = 100
"""A playbook's steps that run in one pass fold into one transition, which must fit one message."""


class StepAction(StrEnum):
    NOTIFY = "notify"
    ASSIGN_OWNER = "assign_owner"
    SET_STATUS = "set_status"
    ADD_COMMENT = "add_comment"
    CALL_TOOL = "call_tool"
    ESCALATE = "escalate"


class OnFailure(StrEnum):
    """What the playbook runner does when a step fails (after the tool's own retries)."""

    RETRY = "retry"
    SKIP = "skip"
    ESCALATE = "escalate"


class ToolAuth(PackModel):
    """How to authenticate to a tool. Secrets are never inline: `secretRef` names one."""

    type: Literal["none", "bearer", "api_key", "basic", "oauth2"] = "none"
    secret_ref: str | None = None
    header: str | None = None

    @field_validator("secret_ref")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        if value is not None and not SECRET_NAME.fullmatch(value):
            raise PydanticCustomError(
                "secret_name", "a secretRef is a name of letters, digits, '_', '.' or '-'"
            )
        return value

    @field_validator("header")
    @classmethod
    def _credential_header(cls, value: str | None) -> str | None:
        problem = None if value is None else credential_header_problem(value)
        if problem is not None:
            raise PydanticCustomError("auth_header", problem)
        return value

    @model_validator(mode="after")
    def _secret_needed(self) -> ToolAuth:
        if self.type != "none" and not self.secret_ref:
            raise PydanticCustomError(
                "auth_secret", "auth type {kind!r} needs a secretRef", {"kind": self.type}
            )
        return self


class Tool(PackModel):
    description: str = ""
    input_schema: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})
    endpoint: HttpUrl
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    max_retries: int = Field(default=2, ge=0, le=10)
    auth: ToolAuth = Field(default_factory=ToolAuth)
    risky: bool = False


class ToolOverride(PackModel):
    """Tenant-specific settings of a domain tool; unset fields keep the domain's value."""

    endpoint: HttpUrl | None = None
    timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    max_retries: int | None = Field(default=None, ge=0, le=10)
    auth: ToolAuth | None = None
    risky: bool | None = None


class PlaybookStep(PackModel):
    name: str = Field(min_length=1, max_length=200)
    action: StepAction
    params: dict[str, Any] = Field(default_factory=dict)
    risky: bool = False

    @model_validator(mode="after")
    def _params_for_action(self) -> PlaybookStep:
        if self.action is StepAction.CALL_TOOL and not isinstance(self.params.get("tool"), str):
            raise PydanticCustomError("step_tool", "a call_tool step needs params.tool (a tool name)")
        if self.action is StepAction.SET_STATUS:
            status = self.params.get("status")
            if status not in set(Status):
                raise PydanticCustomError(
                    "step_status",
                    "a set_status step needs params.status, one of {allowed} (got {value!r})",
                    {"allowed": ", ".join(Status), "value": status},
                )
        return self


class PlaybookConditions(PackModel):
    """When a playbook applies: every given criterion must hold."""

    exception_types: list[ExceptionTypeName] = Field(default_factory=list)
    severities: list[Severity] = Field(default_factory=list)
    condition: Condition | None = None


class Playbook(PackModel):
    id: Identifier
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    conditions: PlaybookConditions = Field(default_factory=PlaybookConditions)
    priority: int = Field(default=0, ge=-1_000_000, le=1_000_000)
    approved: bool = False
    steps: list[PlaybookStep] = Field(min_length=1, max_length=MAX_PLAYBOOK_STEPS)
    on_failure: OnFailure = OnFailure.ESCALATE

    @field_validator("conditions", mode="before")
    @classmethod
    def _condition_shorthand(cls, value: Any) -> Any:
        """`conditions: "<condition>"` is short for `conditions: {condition: ...}`."""
        return {"condition": value} if isinstance(value, str) else value


class GuardrailLists(PackModel):
    tools: list[str] = Field(default_factory=list)



class Guardrails(PackModel):
    """Domain guardrails. Thresholds are confidences in [0, 1]."""

    allow_lists: GuardrailLists = Field(default_factory=GuardrailLists)
    block_lists: GuardrailLists = Field(default_factory=GuardrailLists)
    human_approval_threshold: float = Field(default=0.7, ge=0, le=1)
    no_auto_action_if_severity_in: list[Severity] = Field(default_factory=list)
    require_human_approval_for: list[ExceptionTypeName] = Field(default_factory=list)
    escalate_if_confidence_below: float = Field(default=0.5, ge=0, le=1)


class GuardrailOverrides(PackModel):
    """Tenant guardrails: block and approval lists add to the domain's; the rest replaces."""

    allow_lists: GuardrailLists | None = None
    block_lists: GuardrailLists | None = None
    human_approval_threshold: float | None = Field(default=None, ge=0, le=1)
    no_auto_action_if_severity_in: list[Severity] | None = None
    require_human_approval_for: list[ExceptionTypeName] | None = None
    escalate_if_confidence_below: float | None = Field(default=None, ge=0, le=1)


class Expected(PackModel):
    """The parts of a decision a test case checks; only the fields given are compared."""

    exception_type: str | None = None
    severity: Severity | None = None
    status: Status | None = None
    approval_required: bool | None = None
    escalated: bool | None = None
    playbook_id: str | None = None
    actionability: Actionability | None = None
    blocked_tools: list[str] | None = None


class PackTestCase(PackModel):
    name: str = ""
    input: dict[str, Any]
    expected: Expected


class PackTestSuite(PackModel):
    name: str = Field(min_length=1)
    cases: list[PackTestCase] = Field(min_length=1)
