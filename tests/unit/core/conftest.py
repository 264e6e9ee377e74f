"""Fixtures shared by the core tests: the sample packs and small packs built in code."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sentinai.core.packs import PackSet, load_pack_dir

PACKS_DIR = Path(__file__).resolve().parents[3] / "packs"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)

MINI_DOMAIN: dict[str, Any] = {
    "domainName": "Mini",
    "version": "1",
    "exceptionTypes": {
        "ALPHA": {"detectionRules": ["payload.kind == 'alpha'"], "defaultSeverity": "LOW", "slaMinutes": 30},
        "BETA": {"detectionRules": ["payload.kind == 'beta'", "payload.beta == true"]},
        "GAMMA": {"detectionRules": ["payload.kind == 'beta'"]},
    },
    "severityRules": [
        {"name": "big", "condition": "payload.amount > 1000", "severity": "HIGH"},
        {"condition": "payload.amount > 100", "severity": "MEDIUM"},
        {"name": "alpha-urgent", "condition": "exceptionType == 'ALPHA' && payload.urgent == true", "severity": "CRITICAL"},
    ],
    "tools": {
        "lookup": {"endpoint": "https://api.example.com/lookup", "inputSchema": {"type": "object"}},
        "fixer": {"endpoint": "https://api.example.com/fix", "risky": True},
        "pinger": {"endpoint": "https://api.example.com/ping"},
    },
    "playbooks": [
        {
            "id": "alpha-basic",
            "name": "Alpha",
            "conditions": {"exceptionTypes": ["ALPHA"]},
            "priority": 1,
            "approved": True,
            "steps": [{"name": "look", "action": "call_tool", "params": {"tool": "lookup"}}],
        },
        {
            "id": "alpha-big",
            "name": "Alpha big",
            "conditions": {"exceptionTypes": ["ALPHA"], "condition": "payload.amount > 1000"},
            "priority": 5,
            "approved": True,
            "steps": [{"name": "ping", "action": "call_tool", "params": {"tool": "pinger"}}],
        },
        {
            "id": "beta-b",
            "name": "Beta B",
            "conditions": {"exceptionTypes": ["BETA"]},
            "priority": 3,
            "approved": False,
            "steps": [{"name": "note", "action": "add_comment", "params": {"text": "b"}}],
        },
        {
            "id": "beta-a",
            "name": "Beta A",
            "conditions": {"exceptionTypes": ["BETA"], "severities": ["LOW", "MEDIUM"]},
            "priority": 3,
            "approved": True,
            "steps": [{"name": "note", "action": "add_comment", "params": {"text": "a"}}],
        },
        {
            "id": "gamma-risky",
            "name": "Gamma",
            "conditions": "exceptionType == 'GAMMA'",
            "approved": True,
            "steps": [{"name": "fix", "action": "call_tool", "params": {"tool": "fixer"}}],
        },
    ],
    "guardrails": {"humanApprovalThreshold": 0.7, "escalateIfConfidenceBelow": 0.5},
}

MINI_TENANT: dict[str, Any] = {"tenantId": "mini-co", "domainName": "Mini", "version": "1"}


def mini_docs(
    domain: dict[str, Any] | None = None, tenant: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Deep copies of the mini packs with top-level keys replaced."""
    return (
        {**copy.deepcopy(MINI_DOMAIN), **(domain or {})},
        {**copy.deepcopy(MINI_TENANT), **(tenant or {})},
    )


@pytest.fixture(scope="session")
def sample_packs() -> PackSet:
    return load_pack_dir(PACKS_DIR)
