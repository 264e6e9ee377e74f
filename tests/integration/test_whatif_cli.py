"""`sentinai whatif` against a real PostgreSQL holding a stored history."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from sentinai.bench.history import store_history
from sentinai.bench.workload import pack_documents
from sentinai.cli import main
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import build_pack_set, load_pack_dir
from sentinai.migrate import import_packs
from sentinai.samples import sample_exception
from sentinai.sinks.pack_store import store_packs
from sentinai.sinks.pool import open_pool
from tests.support.pipeline import PACKS

TENANT = "acme-capital"


def _history(database_url: str, count: int) -> list[dict]:
    pack_set = load_pack_dir(PACKS)
    rng = random.Random(11)
    raws = []
    for index in range(count):
        raw = sample_exception(rng, pack_set, TENANT)
        assert isinstance(raw, dict)
        raws.append({**raw, "exception_id": f"CLI-{index}"})

    async def store() -> None:
        async with open_pool(database_url) as pool:
            await store_history(pool, pack_set, raws, now=datetime.now(UTC))

    import_packs(database_url, PACKS)
    asyncio.run(store())
    return raws


def test_whatif_prints_the_changes_a_candidate_file_would_make(
        database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    raws = _history(database_url, 120)
    tenant = yaml.safe_load((PACKS / "tenants" / f"{TENANT}.yaml").read_text())
    tenant["version"] = "2.0.0"
    tenant["customSeverityOverrides"].append({"exceptionType": "SETTLEMENT_FAIL", "severity": "CRITICAL"})
    candidate = tmp_path / "acme.yaml"
    candidate.write_text(yaml.safe_dump(tenant))
    pack_set = load_pack_dir(PACKS)
    active = pack_set.for_tenant(TENANT)
    proposed = build_pack_set(pack_documents(PACKS)[0], [tenant]).for_tenant(TENANT)
    assert active is not None and proposed is not None
    expected = 0
    for raw in raws:
        exception = normalize(raw, now=datetime.now(UTC))
        now = exception.occurred_at
        expected += decide(exception, active, now=now).severity != decide(exception, proposed, now=now).severity
    assert expected
    monkeypatch.setenv("SENTINAI_DATABASE_URL", database_url)

    assert main(["whatif", "--tenant", TENANT, "--candidate", str(candidate), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["compared"], report["changed_by_field"]["severity"]) == (len(raws), expected)
    assert report["approval"]["newly_required"] == expected  # the tenant approves every CRITICAL

    assert main(["whatif", "--tenant", TENANT, "--candidate", str(candidate)]) == 0
    text = capsys.readouterr().out
    assert "changed by field:" in text and f"severity{expected:>22}" in text

    tenant["customSeverityOverrides"] = [{"exceptionType": "NO_SUCH_TYPE", "severity": "LOW"}]
    candidate.write_text(yaml.safe_dump(tenant))
    assert main(["whatif", "--tenant", TENANT, "--candidate", str(candidate)]) == 1
    assert "customSeverityOverrides[0].exceptionType" in capsys.readouterr().err


def test_packs_rollback_activates_the_previous_version_or_proposes_it(
        database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import_packs(database_url, PACKS)
    tenant = yaml.safe_load((PACKS / "tenants" / f"{TENANT}.yaml").read_text())
    changed = {**tenant, "version": "2.0.0", "approvalTimeoutMinutes": 5}
    governed = {**tenant, "version": "3.0.0", "governance": {"requireSecondApprover": True}}

    async def store(doc: dict) -> None:
        async with open_pool(database_url) as pool:
            await store_packs(pool, [], [doc], created_by="api-key:test")

    async def state() -> tuple[str, list[tuple[str, str]], list[dict]]:
        async with open_pool(database_url) as pool:
            active = await pool.fetchval("SELECT version FROM pack_versions WHERE kind = 'tenant' "
                                         "AND name = $1 AND status = 'active'", TENANT)
            events = await pool.fetch("SELECT event_type, actor_id FROM pack_events WHERE tenant_id = $1 "
                                      "ORDER BY id", TENANT)
            proposals = await pool.fetch("SELECT kind, status, report_status, report FROM pack_proposals")
            return active, [(e[0], e[1]) for e in events], [dict(p) for p in proposals]

    asyncio.run(store(changed))
    monkeypatch.setenv("SENTINAI_DATABASE_URL", database_url)
    assert main(["packs", "rollback", "--tenant", TENANT]) == 0
    assert f"version {tenant['version']}" in capsys.readouterr().out
    active, events, _ = asyncio.run(state())
    assert active == tenant["version"]
    assert events[-1][0] == "PackVersionActivated" and events[-1][1].startswith("cli:")

    asyncio.run(store(governed))
    assert main(["packs", "rollback", "--tenant", TENANT]) == 0
    assert "requires a second approver: proposal" in capsys.readouterr().out
    active, events, proposals = asyncio.run(state())
    assert active == "3.0.0"
    assert events[-1][0] == "PackChangeProposed"
    [proposal] = proposals
    assert (proposal["kind"], proposal["status"], proposal["report_status"]) == ("rollback", "proposed", "done")
