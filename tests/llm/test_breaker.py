"""The circuit breaker, alone and in the client: opens, fails fast, probes, recovers."""

from __future__ import annotations

import pytest

from sentinai.llm.breaker import CircuitBreaker
from sentinai.llm.client import LLMClient, LLMReply
from sentinai.llm.errors import LLMCircuitOpen, LLMError, LLMInvalidJSON, LLMProviderError
from sentinai.llm.schemas import EXPLANATION, load_schema
from tests.support.openai_server import OpenAIServer, Reply

from .conftest import Clock


async def ask(client: LLMClient) -> LLMReply:
    return await client.complete_json(model=None, system="s", user="u",
                                      schema=load_schema(EXPLANATION), schema_name=EXPLANATION)


def test_opens_after_consecutive_failures_only(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, cool_down=10, clock=clock)
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_after() == 10


def test_half_open_lets_one_probe_through(clock: Clock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down=10, clock=clock)
    breaker.record_failure()
    clock.now += 10
    assert breaker.state == "half_open"
    assert breaker.allow()
    assert not breaker.allow(), "a second call while the probe is in flight"
    breaker.release()
    assert breaker.allow(), "an abandoned probe frees the slot"
    breaker.record_failure()
    assert breaker.state == "open", "a failed probe re-opens for a new cool-down"
    clock.now += 10
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(failure_threshold=0)


async def test_client_fails_fast_when_open_and_recovers(server: OpenAIServer, client: LLMClient,
                                                        clock: Clock) -> None:
    server.script("default", Reply(status=500))
    for _ in range(3):
        with pytest.raises(LLMProviderError):
            await ask(client)
    assert client.breaker.state == "open"
    with pytest.raises(LLMCircuitOpen, match="next probe in 30s"):
        await ask(client)
    assert len(server.requests) == 3, "an open circuit sends nothing"

    clock.now += 30
    server.script("default", Reply.json({"explanation": "back"}))
    assert (await ask(client)).data == {"explanation": "back"}
    assert client.breaker.state == "closed"
    assert len(server.requests) == 4


async def test_a_failed_probe_reopens(server: OpenAIServer, client: LLMClient, clock: Clock) -> None:
    server.script("default", Reply(status=503))
    for _ in range(3):
        with pytest.raises(LLMProviderError):
            await ask(client)
    clock.now += 30
    with pytest.raises(LLMProviderError):
        await ask(client)
    with pytest.raises(LLMCircuitOpen):
        await ask(client)


async def test_bad_answers_do_not_trip_the_breaker(server: OpenAIServer, client: LLMClient) -> None:
    server.script("default", Reply(content="not json"))
    for _ in range(5):
        with pytest.raises(LLMError) as caught:
            await ask(client)
        assert isinstance(caught.value, LLMInvalidJSON)
    assert client.breaker.state == "closed"
