"""Cross-validation: the checks a single model cannot make on its own.

Each check returns issues; nothing stops at the first one, so an author sees every
problem of a file at once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from sentinai.core.conditions import Condition
from sentinai.core.models import UNCLASSIFIED
from sentinai.core.packs.common import (
    GuardrailLists,
    GuardrailOverrides,
    Guardrails,
    PackTestSuite,
    Playbook,
    StepAction,
)
from sentinai.core.packs.domain import DomainPack
from sentinai.core.packs.errors import PackIssue, show
from sentinai.core.packs.tenant import TenantPolicyPack


class _Checker:
    def __init__(self, file: str, domain: DomainPack) -> None:
        self.file = file
        self.domain = domain
        self.issues: list[PackIssue] = []

    def add(self, path: str, message: str) -> None:
        self.issues.append(PackIssue(self.file, path, message))

    def exception_type(self, path: str, name: str) -> None:
        if name not in self.domain.exception_types:
            self.add(
                path,
                f"{show(name)} is not an exception type of domain {self.domain.domain_name}",
            )

    def tool(self, path: str, name: str) -> None:
        if name not in self.domain.tools:
            self.add(path, f"{show(name)} is not a tool of domain {self.domain.domain_name}")

    def playbooks(self, base: str, playbooks: Iterable[Playbook]) -> None:
        seen: set[str] = set()
        for i, playbook in enumerate(playbooks):
            where = f"{base}[{i}]"
            if playbook.id in seen:
                self.add(f"{where}.id", f"{show(playbook.id)} is used by another playbook")
            seen.add(playbook.id)
            for j, name in enumerate(playbook.conditions.exception_types):
                self.exception_type(f"{where}.conditions.exceptionTypes[{j}]", name)
            for j, step in enumerate(playbook.steps):
                if step.action is StepAction.CALL_TOOL:
                    self.tool(f"{where}.steps[{j}].params.tool", str(step.params["tool"]))

    def lists(self, base: str, allow: GuardrailLists | None, block: GuardrailLists | None) -> None:
        for key, lists in (("allowLists", allow), ("blockLists", block)):
            for j, name in enumerate(lists.tools if lists else []):
                self.tool(f"{base}.{key}.tools[{j}]", name)
        if allow and block:
            blocked = set(block.tools)
            for j, name in enumerate(allow.tools):
                if name in blocked:
                    self.add(
                        f"{base}.allowLists.tools[{j}]",
                        f"{show(name)} is in both an allow list and a block list",
                    )

    def guardrails(self, base: str, guardrails: Guardrails | GuardrailOverrides) -> None:
        self.lists(base, guardrails.allow_lists, guardrails.block_lists)
        for j, name in enumerate(guardrails.require_human_approval_for or []):
            self.exception_type(f"{base}.requireHumanApprovalFor[{j}]", name)

    def suites(self, suites: Iterable[PackTestSuite], playbook_ids: set[str]) -> None:
        for i, suite in enumerate(suites):
            for j, case in enumerate(suite.cases):
                where = f"testSuites[{i}].cases[{j}].expected"
                expected = case.expected
                if expected.exception_type not in (None, UNCLASSIFIED):
                    self.exception_type(f"{where}.exceptionType", expected.exception_type)
                if expected.playbook_id is not None and expected.playbook_id not in playbook_ids:
                    self.add(f"{where}.playbookId", f"{show(expected.playbook_id)} is not a playbook")


MAX_PACK_PROGRAM_SIZE = 5_000
"""RE2 instructions of all of a pack's `matches` patterns: with each search's text bounded
(`conditions.regex.MAX_SUBJECT_CHARS`), this bounds what a pack's patterns cost one exception."""


MAX_PACK_COMPARISONS = 1_000
"""Comparison terms (`==`, `in`, `contains`, ...) in all of a pack's conditions. Each looks at no
more than `conditions.compiler.MAX_COMPARED_ELEMENTS` elements (at worst ~0.4 ms); without a
bound on their number, a 1 MiB pack of `payload.e in payload.l` terms would hold the shared
worker for tens of seconds per exception. Real packs have a few dozen."""


MAX_PACK_DEEP_COMPARISONS = 50
"""Of those, comparisons between two values of the exception or list literals (`payload.a ==
payload.b`, `payload.id in payload.ids`): each may compare lists element by element in Python,
~0.6 ms at worst, where the others are a C-level search or a constant-time test."""


def _condition_budgets(file: str, conditions: list[Condition | None]) -> list[PackIssue]:
    """What all of a pack's conditions cost one exception, against each bound."""
    present = [c for c in conditions if c is not None]
    budgets = (
        (sum(c.program_size for c in present), MAX_PACK_PROGRAM_SIZE,
         "the pack's patterns compile to {total} RE2 instructions in all; the limit is {limit}"),
        (sum(c.comparisons for c in present), MAX_PACK_COMPARISONS,
         "the pack's conditions hold {total} comparisons in all; the limit is {limit}"),
        (sum(c.deep_comparisons for c in present), MAX_PACK_DEEP_COMPARISONS,
         "the pack's conditions hold {total} comparisons between two paths or with a list literal in "
         "all; the limit is {limit}"),
    )
    return [PackIssue(file, "", text.format(total=total, limit=limit))
            for total, limit, text in budgets if total > limit]


def check_domain(file: str, domain: DomainPack) -> list[PackIssue]:
    checker = _Checker(file, domain)
    for name, tool in domain.tools.items():
        try:
            Draft202012Validator.check_schema(tool.input_schema)
        except SchemaError as error:
            checker.add(f"tools.{name}.inputSchema", f"not a valid JSON Schema: {error.message}")
    checker.playbooks("playbooks", domain.playbooks)
    checker.guardrails("guardrails", domain.guardrails)
    checker.suites(domain.test_suites, {p.id for p in domain.playbooks})
    conditions = [rule for definition in domain.exception_types.values() for rule in definition.detection_rules]
    conditions += [rule.condition for rule in domain.severity_rules]
    conditions += [playbook.conditions.condition for playbook in domain.playbooks]
    return checker.issues + _condition_budgets(file, conditions)


def check_secrets(file: str, tenant: TenantPolicyPack, granted: Collection[str]) -> list[PackIssue]:
    """A tenant pack may name only the secrets the deployment grants its tenant."""
    issues = []
    for name, override in tenant.tool_overrides.items():
        ref = override.auth.secret_ref if override.auth is not None else None
        if ref is not None and ref not in granted:
            issues.append(PackIssue(
                file, f"toolOverrides.{name}.auth.secretRef",
                f"{show(ref)} is not a secret granted to tenant {tenant.tenant_id} "
                f"(granted: {', '.join(sorted(granted)) or 'none'})"))
    return issues


def check_tenant(
    file: str, tenant: TenantPolicyPack, domains: dict[str, DomainPack]
) -> list[PackIssue]:
    domain = domains.get(tenant.domain_name)
    if domain is None:
        known = ", ".join(sorted(domains)) or "none"
        return [
            PackIssue(
                file,
                "domainName",
                f"{show(tenant.domain_name)} is not a known domain (known: {known})",
            )
        ]
    checker = _Checker(file, domain)
    for i, name in enumerate(tenant.approved_tools or []):
        checker.tool(f"approvedTools[{i}]", name)
    for name in tenant.tool_overrides:
        checker.tool(f"toolOverrides.{name}", name)
    for i, override in enumerate(tenant.custom_severity_overrides):
        checker.exception_type(f"customSeverityOverrides[{i}].exceptionType", override.exception_type)
    checker.playbooks("customPlaybooks", tenant.custom_playbooks)
    guardrails = tenant.custom_guardrails
    checker.guardrails("customGuardrails", guardrails)
    if guardrails.allow_lists:
        domain_blocked = set(domain.guardrails.block_lists.tools)
        for j, name in enumerate(guardrails.allow_lists.tools):
            if name in domain_blocked:
                checker.add(
                    f"customGuardrails.allowLists.tools[{j}]",
                    f"{show(name)} is in the domain's block list",
                )
    playbook_ids = {p.id for p in domain.playbooks} | {p.id for p in tenant.custom_playbooks}
    checker.suites(tenant.test_suites, playbook_ids)
    return checker.issues + _condition_budgets(
        file, [playbook.conditions.condition for playbook in tenant.custom_playbooks])
