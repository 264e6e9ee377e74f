from sentinai.core.models import Severity
from sentinai.core.packs import build_pack_set

from ..conftest import mini_docs


def _packs(domain=None, tenant=None):  # type: ignore[no-untyped-def]
    d, t = mini_docs(domain, tenant)
    packs = build_pack_set([d], [t]).for_tenant("mini-co")
    assert packs is not None
    return packs


def test_guardrail_merge_adds_blocks_and_replaces_thresholds() -> None:
    packs = _packs(
        domain={"guardrails": {"blockLists": {"tools": ["pinger"]}, "requireHumanApprovalFor": ["ALPHA"],
                               "humanApprovalThreshold": 0.7}},
        tenant={"customGuardrails": {"blockLists": {"tools": ["fixer"]}, "requireHumanApprovalFor": ["BETA"],
                                     "humanApprovalThreshold": 0.9, "noAutoActionIfSeverityIn": ["HIGH"]}},
    )
    assert packs.guardrails.block_lists.tools == ["fixer", "pinger"]
    assert packs.guardrails.require_human_approval_for == ["ALPHA", "BETA"]
    assert packs.guardrails.human_approval_threshold == 0.9
    assert packs.guardrails.escalate_if_confidence_below == 0.5
    assert packs.no_auto_action == {Severity.HIGH}


def test_tool_overrides_change_only_given_fields() -> None:
    packs = _packs(tenant={"toolOverrides": {"lookup": {"timeoutSeconds": 2.5}}})
    assert packs.tools["lookup"].timeout_seconds == 2.5
    assert str(packs.tools["lookup"].endpoint) == "https://api.example.com/lookup"
    assert packs.domain.tools["lookup"].timeout_seconds == 10


def test_playbook_precedence_and_replacement() -> None:
    packs = _packs(tenant={"customPlaybooks": [
        {"id": "alpha-basic", "name": "Tenant alpha", "conditions": {"exceptionTypes": ["ALPHA"]},
         "steps": [{"name": "n", "action": "notify"}]},
        {"id": "zz-tenant", "name": "Tenant other", "priority": -5, "steps": [{"name": "n", "action": "notify"}]},
    ]})
    order = [(c.origin, c.playbook.id) for c in packs.playbooks]
    assert order == [
        ("tenant", "alpha-basic"), ("tenant", "zz-tenant"),
        ("domain", "alpha-big"), ("domain", "beta-a"), ("domain", "beta-b"), ("domain", "gamma-risky"),
    ]
    assert [c.playbook.id for c in packs.playbook_candidates("ALPHA")] == ["alpha-basic", "zz-tenant", "alpha-big", "gamma-risky"]
    assert packs.playbook_candidates("ALPHA") is packs.playbook_candidates("ALPHA")


def test_blocked_tools_per_playbook() -> None:
    packs = _packs(
        domain={"guardrails": {"allowLists": {"tools": ["lookup", "fixer"]}}},
        tenant={"approvedTools": ["lookup", "pinger"]},
    )
    blocked = {c.playbook.id: c.blocked_tools for c in packs.playbooks}
    assert blocked["alpha-basic"] == ()
    assert blocked["alpha-big"] == ("pinger",)  # not in the allow list
    assert blocked["gamma-risky"] == ("fixer",)  # not approved by the tenant
    assert {c.playbook.id for c in packs.playbooks if c.risky} == {"gamma-risky"}


def test_severity_rules_are_prefiltered_by_type() -> None:
    packs = _packs()
    labels = {t: [rule.label for rule, _ in packs.severity_rules_for(t)] for t in ("ALPHA", "BETA", "OTHER")}
    assert labels == {
        "ALPHA": ["big", "severityRules[1]", "alpha-urgent"],
        "BETA": ["big", "severityRules[1]"],
        "OTHER": ["big", "severityRules[1]"],
    }
