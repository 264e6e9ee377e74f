"""sentinai.cli_packs: exit codes and output of `packs validate`, `packs test` and `decide`."""

import io
import json
from pathlib import Path

import pytest
import yaml

from sentinai import cli_packs

from .conftest import PACKS_DIR, mini_docs


@pytest.fixture
def mini_dir(tmp_path: Path) -> Path:
    domain, tenant = mini_docs(domain={"testSuites": [{"name": "mini", "cases": [
        {"name": "alpha default", "input": {"exception_type": "ALPHA", "payload": {}},
         "expected": {"severity": "LOW", "playbookId": "alpha-basic"}},
        {"name": "wrong on purpose", "input": {"exception_type": "ALPHA", "payload": {}},
         "expected": {"severity": "HIGH", "escalated": True}},
    ]}]})
    (tmp_path / "domains").mkdir()
    (tmp_path / "tenants").mkdir()
    (tmp_path / "domains" / "mini.yaml").write_text(yaml.safe_dump(domain))
    (tmp_path / "tenants" / "mini.yaml").write_text(yaml.safe_dump(tenant))
    return tmp_path


def test_validate_sample_packs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_packs.validate(str(PACKS_DIR)) == 0
    assert capsys.readouterr().out.startswith("OK: 3 domain packs (19 exception types), 4 tenant packs")


def test_validate_prints_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    domain, tenant = mini_docs(tenant={"approvedTools": ["x", "y"]})
    (tmp_path / "domains").mkdir()
    (tmp_path / "tenants").mkdir()
    (tmp_path / "domains" / "d.yaml").write_text(yaml.safe_dump(domain))
    (tmp_path / "tenants" / "t.yaml").write_text(yaml.safe_dump(tenant))
    assert cli_packs.validate(str(tmp_path)) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{tmp_path}/tenants/t.yaml: approvedTools[0]: 'x' is not a tool of domain Mini",
        f"{tmp_path}/tenants/t.yaml: approvedTools[1]: 'y' is not a tool of domain Mini",
        f"2 errors in {tmp_path}",
    ]


def test_run_tests_on_sample_packs(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_packs.run_tests(str(PACKS_DIR)) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "PASS  tenant acme-capital › acme overrides › regulatory rejection raised to HIGH" in out
    assert out.rstrip().endswith("0 failed")


def test_run_tests_reports_failures(mini_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_packs.run_tests(str(mini_dir)) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "PASS  domain Mini › mini › alpha default",
        "FAIL  domain Mini › mini › wrong on purpose",
        "      severity: expected 'HIGH', got 'LOW'",
        "      escalated: expected True, got False",
        "1 passed, 1 failed",
    ]


def test_run_tests_with_invalid_packs(tmp_path: Path) -> None:
    assert cli_packs.run_tests(str(tmp_path / "missing")) == 1


def _decide(monkeypatch: pytest.MonkeyPatch, data: bytes, tenant: str = "acme-capital",
            packs: Path = PACKS_DIR) -> int:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))
    return cli_packs.decide(tenant, "-", str(packs))


def test_decide_prints_one_json_document(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    raw = {"exception_type": "POSITION_BREAK", "payload": {"account": "A-1"}}
    assert _decide(monkeypatch, json.dumps(raw).encode()) == 0
    document = json.loads(capsys.readouterr().out)
    assert [d["stage"] for d in document["stages"]] == ["triage", "policy", "playbook"]
    assert document["severity"] == "CRITICAL"
    assert document["approval_required"] is True and document["status"] == "PENDING_APPROVAL"
    assert document["tenant_id"] == "acme-capital" and document["event_id"]


def test_decide_from_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "in.json"
    source.write_text(json.dumps({"tenantId": "paystream", "exceptionType": "SANCTIONS_HIT",
                                  "rawPayload": {"screening": {"list": "OFAC_SDN"}}}))
    assert cli_packs.decide("paystream", str(source), str(PACKS_DIR)) == 0
    assert json.loads(capsys.readouterr().out)["playbook_id"] == "payments-sanctions-hold"


@pytest.mark.parametrize(
    ("data", "tenant", "message"),
    [
        (b"{not json", "acme-capital", "error: input is not valid JSON"),
        (b"[1, 2]", "acme-capital", "error: input must be a JSON object, got list"),
        (b'{"payload": "x"}', "acme-capital", "error: input rejected: payload: payload must be a JSON object"),
        (b'{"tenant_id": "paystream", "payload": {}}', "acme-capital", "error: input is for tenant 'paystream'"),
        (b'{"payload": {}}', "nobody", "error: unknown tenant 'nobody'"),
        (b'{"payload": {}, "occurred_at": "soon"}', "acme-capital", "error: input rejected: occurred_at"),
    ],
)
def test_decide_bad_input_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                  data: bytes, tenant: str, message: str) -> None:
    assert _decide(monkeypatch, data, tenant) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(message)


def test_decide_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_packs.decide("acme-capital", str(tmp_path / "nope.json"), str(PACKS_DIR)) == 2
    assert "error: cannot read" in capsys.readouterr().err


def test_decide_with_broken_packs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert _decide(monkeypatch, b'{"payload": {}}', packs=tmp_path) == 1
