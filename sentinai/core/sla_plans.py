"""SLA re-planning: the playbooks that would apply once an exception's SLA is imminent or expired."""

from __future__ import annotations

from sentinai.core.matching import match_playbook
from sentinai.core.models import DecisionOutcome
from sentinai.core.packs import TenantPacks
from sentinai.core.run import SlaPhase, SlaPlan, run_step
from sentinai.core.templates import template_env


def sla_plans(outcome: DecisionOutcome, packs: TenantPacks) -> dict[SlaPhase, SlaPlan]:
    """The playbooks that would apply once the SLA is imminent, or expired, where they differ.

    Playbook conditions may name `sla.imminent` and `sla.expired` (false when the exception is
    decided). Matching again with them set, here where the exception is at hand, means the SLA
    timer needs nothing but the run to switch playbooks. Only tenants with such a condition pay.
    """
    if not packs.sla_playbooks or outcome.sla_deadline is None or outcome.playbook_id is None:
        return {}
    env = template_env(outcome)
    plans: dict[SlaPhase, SlaPlan] = {}
    phases: tuple[SlaPhase, ...] = ("imminent", "expired")
    for phase in phases:
        sla = {"imminent": True, "expired": phase == "expired"}
        match = match_playbook(packs, outcome.exception_type, outcome.severity, {**env, "sla": sla})
        if match is None or match.playbook_id == outcome.playbook_id:
            continue
        playbook = match.compiled.playbook
        blocked = frozenset(match.compiled.blocked_tools)
        plans[phase] = SlaPlan(playbook_id=playbook.id, on_failure=playbook.on_failure, approved=playbook.approved,
                               steps=tuple(run_step(s, packs, blocked, env) for s in playbook.steps),
                               reasons=tuple(match.reasons))
    return plans
