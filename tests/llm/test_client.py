"""LLMClient against the local server: what it sends, and one typed error per failure."""

from __future__ import annotations

import time

import pytest

from sentinai.llm.client import LLMClient, LLMReply
from sentinai.llm.errors import (
    LLMInvalidJSON,
    LLMModelRefused,
    LLMProviderError,
    LLMSchemaViolation,
    LLMTimeout,
)
from sentinai.llm.schemas import EXPLANATION, load_schema
from tests.support.openai_server import OpenAIServer, Reply

from .conftest import TIMEOUT

SCHEMA = load_schema(EXPLANATION)


async def ask(client: LLMClient, model: str | None = None) -> LLMReply:
    return await client.complete_json(model=model, system="sys", user="usr", schema=SCHEMA,
                                      schema_name=EXPLANATION)


async def test_valid_answer_and_the_request_sent(server: OpenAIServer, client: LLMClient) -> None:
    server.script("default", Reply.json({"explanation": "It broke."}))
    reply = await ask(client)
    assert reply.data == {"explanation": "It broke."}
    assert reply.model == "default"
    assert not reply.tokens_estimated
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer test-key"
    assert request.body["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "explanation", "schema": SCHEMA, "strict": True}}
    assert request.body["max_tokens"] == client.max_output_tokens
    assert request.message("system") == "sys" and request.message("user") == "usr"


async def test_the_model_argument_overrides_the_default(server: OpenAIServer, client: LLMClient) -> None:
    server.script("tenant-model", Reply.json({"explanation": "ok"}))
    assert (await ask(client, "tenant-model")).model == "tenant-model"
    assert server.requests[0].model == "tenant-model"


async def test_tokens_are_estimated_when_usage_is_absent(server: OpenAIServer, client: LLMClient) -> None:
    server.script("default", Reply.json({"explanation": "x" * 400}, usage=False))
    reply = await ask(client)
    assert reply.tokens_estimated
    assert reply.tokens >= 100


@pytest.mark.parametrize(("reply", "error", "message"), [
    (Reply(content="Sure! The exception looks bad."), LLMInvalidJSON, "not JSON"),
    (Reply.json({"explanation": 42}), LLMSchemaViolation, "at explanation"),
    (Reply.json({"explanation": "ok", "approve": True}), LLMSchemaViolation, "(root)"),
    (Reply(status=500), LLMProviderError, "HTTP 500"),
    (Reply(status=429), LLMProviderError, "HTTP 429"),
    (Reply(content=None, refusal="I cannot help with that"), LLMProviderError, "refused"),
    (Reply(content=""), LLMProviderError, "no content"),
])
async def test_each_failure_has_its_error(server: OpenAIServer, client: LLMClient, reply: Reply,
                                          error: type[Exception], message: str) -> None:
    server.script("default", reply)
    with pytest.raises(error, match=message):
        await ask(client)


async def test_bad_answers_are_charged_their_tokens(server: OpenAIServer, client: LLMClient) -> None:
    server.script("default", Reply(content="prose " * 50))
    with pytest.raises(LLMInvalidJSON) as caught:
        await ask(client)
    assert caught.value.tokens > 0


async def test_a_model_the_deployment_does_not_offer_is_not_asked(server: OpenAIServer, client: LLMClient) -> None:
    """A tenant's pack names a dearer model than the deployment pays for: no call is made."""
    with pytest.raises(LLMModelRefused, match="not offered by this deployment"):
        await ask(client, "gpt-9-ultra")
    assert server.requests == []


async def test_unknown_model_is_a_provider_error(server: OpenAIServer, client: LLMClient) -> None:
    with pytest.raises(LLMProviderError, match="HTTP 404"):
        await ask(client, "no-such-model")


async def test_a_slow_answer_times_out_on_time(server: OpenAIServer, client: LLMClient) -> None:
    server.script("default", Reply(content='{"explanation": "late"}', delay=30))
    started = time.monotonic()
    with pytest.raises(LLMTimeout) as caught:
        await ask(client)
    assert time.monotonic() - started < TIMEOUT + 0.5
    assert caught.value.tokens > 0


async def test_an_unreachable_server_is_a_provider_error(server: OpenAIServer, client: LLMClient) -> None:
    await server.stop()
    with pytest.raises(LLMProviderError, match="could not be reached"):
        await ask(client)


async def test_without_a_key_a_placeholder_is_sent(server: OpenAIServer) -> None:
    server.script("m", Reply.json({"explanation": "ok"}))
    async with LLMClient(base_url=server.base_url, api_key=None, default_model="m", timeout=1) as llm:
        await ask(llm)
    assert server.requests[0].headers["Authorization"] == "Bearer not-set"
