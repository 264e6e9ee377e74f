"""The Domain Pack: what an industry's exceptions are and how they are handled."""

from __future__ import annotations

from pydantic import Field

from sentinai.core.conditions import Condition
from sentinai.core.models import Severity
from sentinai.core.packs.base import ExceptionTypeName, Identifier, PackModel
from sentinai.core.packs.common import Guardrails, PackTestSuite, Playbook, Tool


class Entity(PackModel):
    """A business object of the domain (trade, claim, ...), for documentation and UIs."""

    description: str = ""
    identifiers: list[str] = Field(default_factory=list)
    attributes: list[str] = Field(default_factory=list)


class ExceptionType(PackModel):
    description: str = ""
    detection_rules: list[Condition] = Field(default_factory=list)
    default_severity: Severity | None = None
    tags: list[str] = Field(default_factory=list)
    sla_minutes: int | None = Field(default=None, gt=0, le=5_256_000, description="at most 10 years")


class SeverityRule(PackModel):
    """`severity` applies when `condition` holds; `name` labels the rule in evidence."""

    name: str | None = None
    condition: Condition
    severity: Severity


class DomainPack(PackModel):
    domain_name: Identifier
    version: str = Field(min_length=1)
    description: str = ""
    entities: dict[str, Entity] = Field(default_factory=dict)
    exception_types: dict[ExceptionTypeName, ExceptionType] = Field(min_length=1)
    severity_rules: list[SeverityRule] = Field(default_factory=list)
    tools: dict[Identifier, Tool] = Field(default_factory=dict)
    playbooks: list[Playbook] = Field(default_factory=list)
    guardrails: Guardrails = Field(default_factory=Guardrails)
    test_suites: list[PackTestSuite] = Field(default_factory=list)
