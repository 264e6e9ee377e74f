import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from sentinai.core import schema_export
from sentinai.core.packs.tenant import MAX_NOTIFICATION_ROUTES, TenantPolicyPack

from ..conftest import PACKS_DIR

SCHEMA_DIR = PACKS_DIR / "schema"


def test_committed_schemas_match_the_models() -> None:
    assert schema_export.stale_files(SCHEMA_DIR) == [], (
        "packs/schema is stale: run python -m sentinai.core.schema_export"
    )


@pytest.mark.parametrize(
    ("schema", "folder"),
    [("domain-pack.schema.json", "domains"), ("tenant-policy-pack.schema.json", "tenants")],
)
def test_sample_packs_follow_the_schema(schema: str, folder: str) -> None:
    validator = jsonschema.Draft202012Validator(json.loads((SCHEMA_DIR / schema).read_text()))
    files = sorted((PACKS_DIR / folder).glob("*.yaml"))
    assert files
    for path in files:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path


def test_export_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_export.main(["--check", str(tmp_path)]) == 1
    assert "out of date" in capsys.readouterr().out
    assert schema_export.main([str(tmp_path)]) == 0
    assert schema_export.main(["--check", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(schema_export.SCHEMAS)


def test_a_tenant_pack_holds_a_bounded_number_of_notification_routes() -> None:
    validator = jsonschema.Draft202012Validator(
        json.loads((SCHEMA_DIR / "tenant-policy-pack.schema.json").read_text()))
    pack = yaml.safe_load((PACKS_DIR / "tenants" / "acme-capital.yaml").read_text())
    route = {"channel": "webhook", "target": "https://hooks.example.com/x"}
    pack["notificationPolicies"] = [route] * MAX_NOTIFICATION_ROUTES
    assert list(validator.iter_errors(pack)) == []
    TenantPolicyPack.model_validate(pack)
    pack["notificationPolicies"] = [route] * (MAX_NOTIFICATION_ROUTES + 1)
    assert [e.message for e in validator.iter_errors(pack)] != []
    with pytest.raises(ValidationError, match="at most 20 items"):
        TenantPolicyPack.model_validate(pack)
