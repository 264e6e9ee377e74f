"""The Tenant Policy Pack: one tenant's choices on top of its domain."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sentinai.core.models import Severity
from sentinai.core.packs.base import ExceptionTypeName, Identifier, PackModel
from sentinai.core.packs.common import (
    GuardrailOverrides,
    PackTestSuite,
    Playbook,
    ToolOverride,
)

MAX_NOTIFICATION_ROUTES = 20
"""Routes a tenant pack may hold: every matching route is one webhook post (with its timeout and
retry) in the tenant's lane of the tools agent for each event it matches."""


class SeverityOverride(PackModel):
    exception_type: ExceptionTypeName
    severity: Severity


class HumanApprovalRule(PackModel):
    severity: Severity
    require_approval: bool = True


class RetentionPolicies(PackModel):
    data_ttl: int = Field(default=365, gt=0, le=36_500, alias="dataTTL", description="days (at most 100 years)")


class Quotas(PackModel):
    """Platform bounds: a rate so low that a tenant's backlog waits for days, or numbers beyond
    what the platform's clocks and counters hold, are refused at upload."""

    exceptions_per_second: float = Field(default=100.0, ge=0.01, le=1_000_000)
    burst: int = Field(default=200, gt=0, le=1_000_000)
    llm_tokens_per_minute: int = Field(default=20_000, ge=0, le=100_000_000)
    tool_calls_per_minute: int = Field(default=60, ge=0, le=1_000_000)


class NotificationRoute(PackModel):
    """Where notifications go; empty `severities` means every severity."""

    channel: Literal["email", "slack", "teams", "pagerduty", "webhook"]
    target: str = Field(min_length=1)
    severities: list[Severity] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)


class LlmSettings(PackModel):
    enabled: bool = False
    model: str | None = None
    redact_fields: list[str] = Field(
        default_factory=list, description="Payload or context field names never sent to the model."
    )


class ToolPolicySettings(PackModel):
    """Where the tenant's tool calls may go, on top of its tools' own endpoint hosts."""

    allowed_hosts: list[str] = Field(default_factory=list, description="Exact hosts or *.suffix")
    https_only: bool = True
    allow_private: bool = Field(
        default=False, description="Private and loopback addresses, for hosts listed exactly only."
    )
    max_response_bytes: int = Field(default=1_048_576, gt=0, le=67_108_864)


class Governance(PackModel):
    """How changes to the tenant's packs are made."""

    require_second_approver: bool = Field(
        default=False,
        description="A change through the API is a proposal that another admin must approve.",
    )


class TenantPolicyPack(PackModel):
    tenant_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    domain_name: Identifier
    version: str = Field(min_length=1)
    display_name: str = ""
    custom_severity_overrides: list[SeverityOverride] = Field(default_factory=list)
    custom_guardrails: GuardrailOverrides = Field(default_factory=GuardrailOverrides)
    approved_tools: list[str] | None = Field(
        default=None, description="Tools the tenant allows; absent means every domain tool."
    )
    tool_overrides: dict[str, ToolOverride] = Field(default_factory=dict)
    human_approval_rules: list[HumanApprovalRule] = Field(default_factory=list)
    retention_policies: RetentionPolicies = Field(default_factory=RetentionPolicies)
    custom_playbooks: list[Playbook] = Field(default_factory=list)
    quotas: Quotas = Field(default_factory=Quotas)
    notification_policies: list[NotificationRoute] = Field(
        default_factory=list, max_length=MAX_NOTIFICATION_ROUTES,
        description=f"At most {MAX_NOTIFICATION_ROUTES} routes.")
    approval_timeout_minutes: int = Field(default=60, gt=0, le=525_600, description="at most a year")
    llm: LlmSettings = Field(default_factory=LlmSettings)
    tool_policy: ToolPolicySettings = Field(default_factory=ToolPolicySettings)
    sla_imminent_share: float = Field(default=0.8, gt=0, lt=1)
    sla_expired_escalates: bool = Field(
        default=True,
        description="An expired SLA escalates an exception whose playbook is still running, unless "
        "a playbook whose condition names `sla` takes over.",
    )
    governance: Governance = Field(default_factory=Governance)
    test_suites: list[PackTestSuite] = Field(default_factory=list)
