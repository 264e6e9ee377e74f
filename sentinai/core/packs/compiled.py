"""Packs prepared for evaluation: merged, indexed and compiled once per tenant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sentinai.core.conditions import Condition, Node
from sentinai.core.conditions.ast import BoolOp, Compare, Literal, Path, roots
from sentinai.core.models import Severity
from sentinai.core.packs.common import (
    GuardrailOverrides,
    Guardrails,
    Playbook,
    StepAction,
    Tool,
)
from sentinai.core.packs.domain import DomainPack, ExceptionType
from sentinai.core.packs.tenant import TenantPolicyPack


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule with the label that evidence uses to name it."""

    label: str
    condition: Condition


@dataclass(frozen=True, slots=True)
class CompiledPlaybook:
    playbook: Playbook
    origin: str
    exception_types: frozenset[str]
    severities: frozenset[Severity]
    condition: Condition | None
    tools: tuple[str, ...]
    blocked_tools: tuple[str, ...]
    risky: bool
    reads_sla: bool
    """Its condition names `sla`: the SLA timer may make it apply later (PlaybookRecalculated)."""


def _required_type(node: Node) -> str | None:
    """The exception type a condition is limited to, when it starts `exceptionType == 'X'`."""
    if isinstance(node, BoolOp) and node.op == "&&":
        node = node.operands[0]
    if (
        isinstance(node, Compare)
        and node.op == "=="
        and node.left == Path(("exceptionType",))
        and isinstance(node.right, Literal)
        and isinstance(node.right.value, str)
    ):
        return node.right.value
    return None


def _merge_guardrails(domain: Guardrails, tenant: GuardrailOverrides) -> Guardrails:
    """Tenant thresholds and allow lists replace the domain's; block and approval lists add up."""
    update: dict[str, Any] = {}
    if tenant.allow_lists is not None:
        update["allow_lists"] = tenant.allow_lists
    if tenant.block_lists is not None:
        tools = sorted(set(domain.block_lists.tools) | set(tenant.block_lists.tools))
        update["block_lists"] = domain.block_lists.model_copy(update={"tools": tools})
    if tenant.human_approval_threshold is not None:
        update["human_approval_threshold"] = tenant.human_approval_threshold
    if tenant.escalate_if_confidence_below is not None:
        update["escalate_if_confidence_below"] = tenant.escalate_if_confidence_below
    for name in ("no_auto_action_if_severity_in", "require_human_approval_for"):
        extra = getattr(tenant, name)
        if extra is not None:
            update[name] = list(dict.fromkeys([*getattr(domain, name), *extra]))
    return domain.model_copy(update=update)


def _effective_tools(domain: DomainPack, tenant: TenantPolicyPack) -> dict[str, Tool]:
    tools = dict(domain.tools)
    for name, override in tenant.tool_overrides.items():
        if name in tools:
            changes = {key: value for key, value in override if value is not None}
            tools[name] = tools[name].model_copy(update=changes)
    return tools


class TenantPacks:
    """The compiled, ready-to-evaluate pair of packs for one tenant."""

    def __init__(self, domain: DomainPack, tenant: TenantPolicyPack) -> None:
        self.domain = domain
        self.tenant = tenant
        self.exception_types: Mapping[str, ExceptionType] = domain.exception_types
        self.guardrails = _merge_guardrails(domain.guardrails, tenant.custom_guardrails)
        self.tools = _effective_tools(domain, tenant)
        self.approved_tools = frozenset(
            self.tools if tenant.approved_tools is None else tenant.approved_tools
        )
        self.detection_rules: tuple[tuple[str, RuleRef], ...] = tuple(
            (name, RuleRef(f"exceptionTypes.{name}.detectionRules[{i}]", rule))
            for name, definition in domain.exception_types.items()
            for i, rule in enumerate(definition.detection_rules)
        )
        self.severity_rules: tuple[tuple[RuleRef, Severity], ...] = tuple(
            (RuleRef(rule.name or f"severityRules[{i}]", rule.condition), rule.severity)
            for i, rule in enumerate(domain.severity_rules)
        )
        self.severity_overrides: dict[str, Severity] = {
            o.exception_type: o.severity for o in tenant.custom_severity_overrides
        }
        self.approval_by_severity: dict[Severity, bool] = {
            r.severity: r.require_approval for r in tenant.human_approval_rules
        }
        self.approval_types = frozenset(self.guardrails.require_human_approval_for)
        self.no_auto_action = frozenset(self.guardrails.no_auto_action_if_severity_in)
        self.playbooks = self._compile_playbooks()
        self.sla_playbooks = any(c.reads_sla for c in self.playbooks)
        self._candidates: dict[str, tuple[CompiledPlaybook, ...]] = {}
        self._severity_rules_by_type: dict[str, tuple[tuple[RuleRef, Severity], ...]] = {}

    def _blocked(self, tool: str) -> bool:
        guardrails = self.guardrails
        allow = guardrails.allow_lists.tools
        return (
            tool in guardrails.block_lists.tools
            or (bool(allow) and tool not in allow)
            or tool not in self.approved_tools
        )

    def _compile(self, playbook: Playbook, origin: str) -> CompiledPlaybook:
        tools = tuple(
            dict.fromkeys(
                str(step.params["tool"])
                for step in playbook.steps
                if step.action is StepAction.CALL_TOOL
            )
        )
        risky = any(step.risky for step in playbook.steps) or any(
            self.tools[t].risky for t in tools if t in self.tools
        )
        return CompiledPlaybook(
            playbook=playbook,
            origin=origin,
            exception_types=frozenset(playbook.conditions.exception_types),
            severities=frozenset(playbook.conditions.severities),
            condition=playbook.conditions.condition,
            tools=tools,
            blocked_tools=tuple(sorted(t for t in tools if self._blocked(t))),
            risky=risky,
            reads_sla=playbook.conditions.condition is not None
            and "sla" in roots(playbook.conditions.condition.node),
        )

    def _compile_playbooks(self) -> tuple[CompiledPlaybook, ...]:
        """Precedence order: tenant playbooks first, then higher priority, then id.

        A tenant playbook with a domain playbook's id replaces it.
        """
        custom = {p.id for p in self.tenant.custom_playbooks}
        tenant = [self._compile(p, "tenant") for p in self.tenant.custom_playbooks]
        domain = [
            self._compile(p, "domain") for p in self.domain.playbooks if p.id not in custom
        ]
        rank = {"tenant": 0, "domain": 1}
        return tuple(
            sorted(
                tenant + domain,
                key=lambda c: (rank[c.origin], -c.playbook.priority, c.playbook.id),
            )
        )

    def severity_rules_for(self, exception_type: str) -> tuple[tuple[RuleRef, Severity], ...]:
        """Severity rules that can match a type, in pack order (memoized per known type).

        Rules written `exceptionType == 'X' && ...` are skipped up front for other types.
        """
        cached = self._severity_rules_by_type.get(exception_type)
        if cached is None:
            cached = tuple(
                (rule, severity)
                for rule, severity in self.severity_rules
                if _required_type(rule.condition.node) in (None, exception_type)
            )
            if exception_type in self.exception_types:
                self._severity_rules_by_type[exception_type] = cached
        return cached

    def playbook(self, playbook_id: str | None) -> CompiledPlaybook | None:
        """The tenant's playbook of this id (the first, as precedence orders them), or None."""
        return next((c for c in self.playbooks if c.playbook.id == playbook_id), None)

    def playbook_candidates(self, exception_type: str) -> tuple[CompiledPlaybook, ...]:
        """Playbooks that can apply to a type, in precedence order (memoized per type)."""
        cached = self._candidates.get(exception_type)
        if cached is None:
            cached = tuple(
                c
                for c in self.playbooks
                if not c.exception_types or exception_type in c.exception_types
            )
            if exception_type in self.exception_types:
                self._candidates[exception_type] = cached
        return cached


class PackSet:
    """Every valid domain and tenant pack, with a per-tenant cache of compiled pairs."""

    def __init__(self, domains: dict[str, DomainPack], tenants: dict[str, TenantPolicyPack]) -> None:
        self.domains = domains
        self.tenants = tenants
        self._compiled: dict[str, TenantPacks] = {}

    def keep_compiled(self, previous: PackSet) -> None:
        """Take over ``previous``'s compiled pairs whose domain and tenant packs are the same objects
        here (a reload that reused them: `loader.ModelMemo`)."""
        for tenant_id, compiled in previous._compiled.items():
            tenant = self.tenants.get(tenant_id)
            if tenant is compiled.tenant and self.domains.get(tenant.domain_name) is compiled.domain:
                self._compiled[tenant_id] = compiled

    def for_tenant(self, tenant_id: str) -> TenantPacks | None:
        compiled = self._compiled.get(tenant_id)
        if compiled is None:
            tenant = self.tenants.get(tenant_id)
            if tenant is None:
                return None
            compiled = TenantPacks(self.domains[tenant.domain_name], tenant)
            self._compiled[tenant_id] = compiled
        return compiled
