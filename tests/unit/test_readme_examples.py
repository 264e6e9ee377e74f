"""The README's example exceptions run as the README says, on the sample packs.

Each JSON example of an exception is decided by the core and its playbook run to the end with
every tool answering: each tool call's arguments must fit the tool's input schema (the invoker
refuses them otherwise, the call fails and ``onFailure: escalate`` escalates the exception, which
the SETTLEMENT_FAIL example once did for want of ``counterparty`` and ``currency``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sentinai.core import execution
from sentinai.core.effects import RequestTool
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs.loader import load_pack_dir
from sentinai.tools.arguments import argument_error

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_PACKS = load_pack_dir(ROOT / "packs")
NOW = datetime(2026, 11, 24, 9, 31, tzinfo=UTC)


def _examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    examples = [json.loads(block) for block in blocks]
    return [e for e in examples if isinstance(e, dict) and "payload" in e and "exception_type" in e]


def test_the_readme_has_its_example() -> None:
    assert [e["exception_id"] for e in _examples()] == ["SF-2026-000123"]


@pytest.mark.parametrize("raw", _examples(), ids=lambda raw: raw["exception_id"])
def test_the_example_runs_its_playbook_to_the_end(raw: dict[str, Any]) -> None:
    exception = normalize(raw, now=NOW, known_tenants=set(SAMPLE_PACKS.tenants))
    packs = SAMPLE_PACKS.for_tenant(exception.tenant_id)
    assert packs is not None
    outcome = decide(exception, packs, now=NOW)
    assert (outcome.exception_type, outcome.severity, outcome.playbook_id, outcome.status) == \
        ("SETTLEMENT_FAIL", "HIGH", "trading-settlement-fail-ssi", "IN_PROGRESS")
    run, effects = execution.start(outcome, packs, now=NOW)
    assert run is not None
    called = []
    while requests := [e for e in effects if isinstance(e, RequestTool)]:
        request = requests[0]
        assert argument_error(packs.tools[request.tool_name].input_schema, request.arguments) is None, request
        called.append(request.tool_name)
        run, effects = execution.on_tool_result(run, step=request.step, succeeded=True,
                                                detail={"status": 200, "response": {"ok": True}},
                                                idempotency_key=request.idempotency_key, now=NOW)
    assert called == ["ssi_refresh", "settlement_instruction_resend"]
    assert run.status.value == "RESOLVED"
