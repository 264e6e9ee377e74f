"""Fixtures of the LLM tests: a real local OpenAI-compatible server and a real client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sentinai.core.engine import decide
from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, TenantPacks, load_pack_dir
from sentinai.core.packs.tenant import LlmSettings
from sentinai.llm.breaker import CircuitBreaker
from sentinai.llm.client import LLMClient
from tests.support.openai_server import OpenAIServer

PACKS_DIR = Path(__file__).resolve().parents[2] / "packs"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TIMEOUT = 0.5
PLENTY = 1_000_000.0


class Clock:
    """A hand-moved monotonic clock for the circuit breaker."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def sample_packs() -> PackSet:
    return load_pack_dir(PACKS_DIR)


def packs_for(sample_packs: PackSet, tenant: str, *, model: str | None,
              enabled: bool = True) -> TenantPacks:
    """The tenant's packs with LLM assistance set to `model` (the server's scenario name)."""
    base = sample_packs.for_tenant(tenant)
    assert base is not None
    pack = base.tenant.model_copy(update={"llm": LlmSettings(enabled=enabled, model=model)})
    return TenantPacks(base.domain, pack)


def case(packs: TenantPacks, raw: dict[str, Any]) -> tuple[NormalizedException, DecisionOutcome]:
    """A normalized exception for the packs' tenant and the rules' outcome for it."""
    exception = normalize({"tenant_id": packs.tenant.tenant_id, **raw}, now=NOW)
    return exception, decide(exception, packs, now=NOW)


@pytest.fixture
async def server() -> AsyncIterator[OpenAIServer]:
    server = OpenAIServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


OFFERED_MODELS = ("tenant-model", "no-such-model", "scenario", "explainer", "injected", "m")
"""The models the tests' deployment offers besides its default (the tenants' packs name them)."""


@pytest.fixture
async def client(server: OpenAIServer, clock: Clock) -> AsyncIterator[LLMClient]:
    llm = LLMClient(base_url=server.base_url, api_key="test-key", default_model="default",
                    timeout=TIMEOUT, breaker=CircuitBreaker(failure_threshold=3, cool_down=30.0,
                                                            clock=clock),
                    models=OFFERED_MODELS)
    try:
        yield llm
    finally:
        await llm.close()
