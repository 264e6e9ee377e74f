"""Triage: which exception type, how severe, and how sure we are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinai.core.models import UNCLASSIFIED, Severity
from sentinai.core.packs import TenantPacks

# Confidence of the classification, by how the type was found.
CONFIDENCE_GIVEN = 1.0
CONFIDENCE_DETECTED = 0.85
CONFIDENCE_DETECTED_AMBIGUOUS = 0.6
CONFIDENCE_GIVEN_UNKNOWN = 0.4
CONFIDENCE_UNCLASSIFIED = 0.2


@dataclass(frozen=True, slots=True)
class TriageResult:
    exception_type: str
    known_type: bool
    severity: Severity
    confidence: float
    evidence: list[str]


def _detect(packs: TenantPacks, env: dict[str, Any], evidence: list[str]) -> list[str]:
    found: list[str] = []
    for name, rule in packs.detection_rules:
        if name not in found and rule.condition(env):
            found.append(name)
            evidence.append(f"detection rule {rule.label} matched: {rule.condition.source}")
    return found


def _classify(
    given: str | None, packs: TenantPacks, env: dict[str, Any], evidence: list[str]
) -> tuple[str, bool, float]:
    if given is not None and given in packs.exception_types:
        evidence.append(f"exception type {given} given by the source")
        return given, True, CONFIDENCE_GIVEN
    if given is not None:
        evidence.append(f"given type {given} is not a type of domain {packs.domain.domain_name}")
    detected = _detect(packs, env, evidence)
    if len(detected) == 1:
        return detected[0], True, CONFIDENCE_DETECTED
    if detected:
        evidence.append(f"several types detected ({', '.join(detected)}); took the first")
        return detected[0], True, CONFIDENCE_DETECTED_AMBIGUOUS
    if given is not None:
        return given, False, CONFIDENCE_GIVEN_UNKNOWN
    evidence.append("no detection rule matched")
    return UNCLASSIFIED, False, CONFIDENCE_UNCLASSIFIED


def severity_for(
    exception_type: str, packs: TenantPacks, env: dict[str, Any], evidence: list[str]
) -> Severity:
    """Highest matching domain rule; a tenant override wins; else the type default; else MEDIUM."""
    best: Severity | None = None
    for rule, severity in packs.severity_rules_for(exception_type):
        if rule.condition(env):
            evidence.append(f"severity rule {rule.label} matched -> {severity}")
            if best is None or severity.rank > best.rank:
                best = severity
    override = packs.severity_overrides.get(exception_type)
    if override is not None:
        evidence.append(f"tenant override for {exception_type} -> {override}")
        return override
    if best is not None:
        return best
    definition = packs.exception_types.get(exception_type)
    if definition is not None and definition.default_severity is not None:
        evidence.append(f"default severity of {exception_type} -> {definition.default_severity}")
        return definition.default_severity
    evidence.append(f"no severity rule or default applies -> {Severity.MEDIUM}")
    return Severity.MEDIUM


def triage(packs: TenantPacks, given_type: str | None, env: dict[str, Any]) -> TriageResult:
    """Classify and grade one exception; sets `exceptionType` and `severity` in `env`."""
    evidence: list[str] = []
    exception_type, known, confidence = _classify(given_type, packs, env, evidence)
    env["exceptionType"] = exception_type
    severity = severity_for(exception_type, packs, env, evidence)
    env["severity"] = severity.value
    return TriageResult(exception_type, known, severity, confidence, evidence)
