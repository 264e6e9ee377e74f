"""Playbook matching: the first playbook in precedence order whose every criterion holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sentinai.core.models import Severity
from sentinai.core.packs import CompiledPlaybook, TenantPacks


@dataclass(frozen=True, slots=True)
class PlaybookMatch:
    compiled: CompiledPlaybook
    reasons: list[str]

    @property
    def playbook_id(self) -> str:
        return self.compiled.playbook.id


def _reasons(candidate: CompiledPlaybook, exception_type: str, severity: Severity) -> list[str]:
    playbook = candidate.playbook
    reasons = [f"{candidate.origin} playbook {playbook.id} (priority {playbook.priority})"]
    if candidate.exception_types:
        reasons.append(f"exceptionType {exception_type} is one of its exceptionTypes")
    if candidate.severities:
        reasons.append(f"severity {severity} is one of its severities")
    if candidate.condition is not None:
        reasons.append(f"condition holds: {candidate.condition.source}")
    if len(reasons) == 1:
        reasons.append("it has no conditions, so it applies to every exception")
    return reasons


def match_playbook(
    packs: TenantPacks, exception_type: str, severity: Severity, env: dict[str, Any]
) -> PlaybookMatch | None:
    """Tenant playbooks before domain ones, then highest priority, then lowest id."""
    for candidate in packs.playbook_candidates(exception_type):
        if candidate.severities and severity not in candidate.severities:
            continue
        if candidate.condition is not None and not candidate.condition(env):
            continue
        return PlaybookMatch(candidate, _reasons(candidate, exception_type, severity))
    return None
