import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sentinai.core.packs import PackIssue, PackValidationError, build_pack_set, load_pack_dir

from ..conftest import PACKS_DIR, mini_docs


def _write(root: Path, domain: dict[str, Any], tenants: dict[str, Any]) -> None:
    (root / "domains").mkdir(parents=True)
    (root / "tenants").mkdir()
    (root / "domains" / "mini.yaml").write_text(yaml.safe_dump(domain))
    for name, doc in tenants.items():
        (root / "tenants" / name).write_text(json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc))


def _messages(error: pytest.ExceptionInfo[PackValidationError]) -> list[str]:
    return [str(issue) for issue in error.value.issues]


def test_sample_packs_load(sample_packs: Any) -> None:
    assert set(sample_packs.domains) == {"CapitalMarketsTrading", "HealthcareClaims", "Payments"}
    assert {"acme-capital", "globex-markets", "mercy-health", "paystream"} <= set(sample_packs.tenants)
    assert sample_packs.tenants["paystream"].llm.enabled
    assert sample_packs.for_tenant("acme-capital") is sample_packs.for_tenant("acme-capital")
    assert sample_packs.for_tenant("nobody") is None


def test_json_and_yml_files_are_read(tmp_path: Path) -> None:
    domain, tenant = mini_docs()
    _write(tmp_path, domain, {"mini.json": tenant, "other.yml": {**tenant, "tenantId": "other-co"}})
    assert set(load_pack_dir(tmp_path).tenants) == {"mini-co", "other-co"}


def test_snake_case_is_accepted() -> None:
    domain, _ = mini_docs()
    tenant = {"tenant_id": "snake-co", "domain_name": "Mini", "version": "1",
              "custom_severity_overrides": [{"exception_type": "ALPHA", "severity": "HIGH"}],
              "approval_timeout_minutes": 15}
    packs = build_pack_set([domain], [tenant]).tenants["snake-co"]
    assert packs.approval_timeout_minutes == 15
    assert packs.custom_severity_overrides[0].exception_type == "ALPHA"


def test_tenant_defaults() -> None:
    domain, tenant = mini_docs()
    pack = build_pack_set([domain], [tenant]).tenants["mini-co"]
    assert pack.approval_timeout_minutes == 60
    assert pack.llm.enabled is False
    assert pack.quotas.exceptions_per_second > 0
    assert pack.retention_policies.data_ttl > 0


def test_issue_text_names_file_path_and_value() -> None:
    domain, tenant = mini_docs(tenant={"customSeverityOverrides": [
        {"exceptionType": "ALPHA", "severity": "HIGH"},
        {"exceptionType": "BETA", "severity": "LOW"},
        {"exceptionType": "ALHPA", "severity": "LOW"},
    ]})
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [tenant], source="packs")
    assert _messages(caught) == [
        "packs/tenants/mini-co: customSeverityOverrides[2].exceptionType: "
        "'ALHPA' is not an exception type of domain Mini"
    ]
    issue = caught.value.issues[0]
    assert issue == PackIssue("packs/tenants/mini-co", "customSeverityOverrides[2].exceptionType",
                              "'ALHPA' is not an exception type of domain Mini")


def test_all_errors_of_a_file_are_reported_at_once(tmp_path: Path) -> None:
    domain, tenant = mini_docs(tenant={
        "approvedTools": ["lookup", "teleport"],
        "toolOverrides": {"warp": {"timeoutSeconds": 3}},
        "customSeverityOverrides": [{"exceptionType": "OMEGA", "severity": "LOW"}],
        "customGuardrails": {
            "allowLists": {"tools": ["lookup"]},
            "blockLists": {"tools": ["lookup"]},
            "requireHumanApprovalFor": ["DELTA"],
        },
        "customPlaybooks": [{
            "id": "t1", "name": "T1", "conditions": {"exceptionTypes": ["ZETA"]},
            "steps": [{"name": "s", "action": "call_tool", "params": {"tool": "nope"}}],
        }],
    })
    _write(tmp_path, domain, {"mini.yaml": tenant})
    with pytest.raises(PackValidationError) as caught:
        load_pack_dir(tmp_path)
    file = str(tmp_path / "tenants" / "mini.yaml")
    assert _messages(caught) == [
        f"{file}: approvedTools[1]: 'teleport' is not a tool of domain Mini",
        f"{file}: toolOverrides.warp: 'warp' is not a tool of domain Mini",
        f"{file}: customSeverityOverrides[0].exceptionType: 'OMEGA' is not an exception type of domain Mini",
        f"{file}: customPlaybooks[0].conditions.exceptionTypes[0]: 'ZETA' is not an exception type of domain Mini",
        f"{file}: customPlaybooks[0].steps[0].params.tool: 'nope' is not a tool of domain Mini",
        f"{file}: customGuardrails.allowLists.tools[0]: 'lookup' is in both an allow list and a block list",
        f"{file}: customGuardrails.requireHumanApprovalFor[0]: 'DELTA' is not an exception type of domain Mini",
    ]


def test_model_errors_name_path_and_bad_value() -> None:
    domain, _ = mini_docs(domain={
        "severityRules": [
            {"condition": "payload.amount >", "severity": "HIGH"},
            {"condition": "payload.x == 1", "severity": "SEVERE"},
        ],
        "guardrails": {"humanApprovalThreshold": 1.5, "escalateIfConfidenceBelow": -0.1},
        "colour": "blue",
    })
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [])
    assert _messages(caught) == [
        "<db>/domains/Mini: severityRules[0].condition: condition syntax error at column 17: "
        "expected a value, got 'end of condition' (got 'payload.amount >')",
        "<db>/domains/Mini: severityRules[1].severity: Input should be 'LOW', 'MEDIUM', 'HIGH' or "
        "'CRITICAL' (got 'SEVERE')",
        "<db>/domains/Mini: guardrails.humanApprovalThreshold: Input should be less than or equal "
        "to 1 (got 1.5)",
        "<db>/domains/Mini: guardrails.escalateIfConfidenceBelow: Input should be greater than or "
        "equal to 0 (got -0.1)",
        "<db>/domains/Mini: colour: unknown field (got 'blue')",
    ]


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"exceptionTypes": {"lower": {}}}, "exceptionTypes.lower.[key]", "should match pattern"),
        ({"tools": {"t": {"endpoint": "not a url"}}}, "tools.t.endpoint", "URL"),
        ({"tools": {"t": {"endpoint": "https://x.example.com", "inputSchema": {"type": "nonsense"}}}},
         "tools.t.inputSchema", "not a valid JSON Schema"),
        ({"tools": {"t": {"endpoint": "https://x.example.com", "auth": {"type": "bearer"}}}},
         "tools.t.auth", "needs a secretRef"),
        ({"playbooks": [{"id": "p", "name": "P", "steps": []}]}, "playbooks[0].steps", "at least 1"),
        ({"playbooks": [{"id": "p", "name": "P", "steps": [{"name": "s", "action": "dance"}]}]},
         "playbooks[0].steps[0].action", "'notify'"),
        ({"playbooks": [{"id": "p", "name": "P", "steps": [{"name": "s", "action": "call_tool"}]}]},
         "playbooks[0].steps[0]", "needs params.tool"),
        ({"playbooks": [{"id": "p", "name": "P", "steps": [
            {"name": "s", "action": "set_status", "params": {"status": "DONE"}}]}]},
         "playbooks[0].steps[0]", "needs params.status"),
        ({"playbooks": [{"id": "p", "name": "P", "onFailure": "panic",
                         "steps": [{"name": "s", "action": "notify"}]}]},
         "playbooks[0].onFailure", "'retry', 'skip' or 'escalate'"),
        ({"playbooks": [
            {"id": "p", "name": "P", "steps": [{"name": "s", "action": "notify"}]},
            {"id": "p", "name": "Q", "steps": [{"name": "s", "action": "notify"}]}]},
         "playbooks[1].id", "used by another playbook"),
        ({"playbooks": [{"id": "p", "name": "P", "conditions": "payload.a ==",
                         "steps": [{"name": "s", "action": "notify"}]}]},
         "playbooks[0].conditions.condition", "column 13"),
        ({"exceptionTypes": {"A": {"detectionRules": ["payload.a matches '(['"]}}},
         "exceptionTypes.A.detectionRules[0]", "invalid regular expression"),
        ({"guardrails": {"allowLists": {"tools": ["lookup"]}, "blockLists": {"tools": ["lookup"]}}},
         "guardrails.allowLists.tools[0]", "both an allow list and a block list"),
        ({"guardrails": {"blockLists": {"tools": ["ghost"]}}}, "guardrails.blockLists.tools[0]",
         "not a tool"),
        ({"testSuites": [{"name": "s", "cases": [{"input": {"payload": {}},
                                                   "expected": {"playbookId": "ghost"}}]}]},
         "testSuites[0].cases[0].expected.playbookId", "is not a playbook"),
    ],
)
def test_domain_errors(change: dict[str, Any], path: str, fragment: str) -> None:
    domain, _ = mini_docs(domain=change)
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [])
    matching = [i for i in caught.value.issues if i.path == path]
    assert matching, _messages(caught)
    assert fragment in matching[0].message


def test_tenant_of_unknown_domain() -> None:
    domain, tenant = mini_docs(tenant={"domainName": "Maxi"})
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [tenant])
    assert _messages(caught) == ["<db>/tenants/mini-co: domainName: 'Maxi' is not a known domain (known: Mini)"]


def test_duplicates_across_files() -> None:
    domain, tenant = mini_docs()
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain, domain], [tenant, tenant])
    assert _messages(caught) == [
        "<db>/domains/Mini: domainName: 'Mini' is already defined in <db>/domains/Mini",
        "<db>/tenants/mini-co: tenantId: 'mini-co' is already defined in <db>/tenants/mini-co",
    ]


def test_errors_of_every_file_are_collected(tmp_path: Path) -> None:
    domain, tenant = mini_docs()
    _write(tmp_path, domain, {"a.yaml": {**tenant, "tenantId": "Bad Id"}, "b.yaml": {**tenant, "tenantId": "b-co", "quotas": {"burst": 0}}})
    (tmp_path / "tenants" / "c.yaml").write_text("tenantId: [unclosed\n")
    (tmp_path / "tenants" / "d.json").write_text("{not json")
    (tmp_path / "tenants" / "e.yaml").write_text("- a list\n")
    with pytest.raises(PackValidationError) as caught:
        load_pack_dir(tmp_path)
    text = "\n".join(_messages(caught))
    assert "a.yaml: tenantId: String should match pattern" in text
    assert "b.yaml: quotas.burst: Input should be greater than 0 (got 0)" in text
    assert "c.yaml: invalid YAML at line" in text
    assert "d.json: invalid JSON at line 1" in text
    assert "e.yaml: a pack must be an object, got list" in text


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PackValidationError, match="not a directory"):
        load_pack_dir(tmp_path / "nope")
    with pytest.raises(PackValidationError, match="no domain packs found"):
        load_pack_dir(tmp_path)


def test_pack_dir_fixture_is_the_repository_packs() -> None:
    assert (PACKS_DIR / "domains").is_dir()
