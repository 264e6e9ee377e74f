"""ToolInvoker: the one place where a tool call leaves the process.

Every call is checked before it goes out (arguments against the input schema, scheme, host
allow-list, every resolved address) and bounded while it runs (timeout per attempt, retries with
backoff on timeouts, 5xx and connection errors only, all attempts within ``MAX_CALL_SECONDS``,
redirects followed by hand and re-checked, response size cap, circuit breaker per tenant and
tool). The result is a `ToolResult` whose response is redacted; secrets go out in headers only
and appear nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from sentinai.core.packs import Tool
from sentinai.core.redaction import redact_secrets
from sentinai.tools.arguments import argument_error
from sentinai.tools.auth import ForbiddenHeader, auth_headers
from sentinai.tools.breaker import CircuitBreaker
from sentinai.tools.guard import Refused, Unresolvable, vet_url
from sentinai.tools.network import NetworkPolicy
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.resolver import HostResolver, PinnedResolver, system_resolve
from sentinai.tools.result import ToolResult
from sentinai.tools.secrets import SecretStore, SecretUnavailable

log = logging.getLogger(__name__)

MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
MAX_CALL_SECONDS = 300.0
"""A call's attempts, backoff included, end within this time: a pack's `timeoutSeconds` (up to
300) × (`maxRetries` + 1, up to 11) would otherwise hold its tenant's lane for 55 minutes."""


class _TooLarge(Exception):
    """The response passed the policy's size cap; reading stopped there."""


class _Retryable(Exception):
    """A failure worth another attempt: timeout, 5xx or connection error."""

    def __init__(self, reason: str, http_status: int | None = None, body: Any = None) -> None:
        super().__init__(reason)
        self.http_status = http_status
        self.body = body


@dataclass(frozen=True, slots=True)
class _Reply:
    http_status: int
    body: Any


def _request_body(method: str, arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """Arguments as a JSON body, or as query parameters for GET and DELETE."""
    if arguments is None:
        return {}
    if method in ("GET", "DELETE"):
        return {"params": {
            key: value if isinstance(value, str) else json.dumps(value)
            for key, value in arguments.items()
        }}
    return {"json": arguments}


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return (url.scheme, url.raw_host, url.port)


def _decode(data: bytes, content_type: str) -> Any:
    if not data:
        return None
    text = data.decode("utf-8", errors="replace")
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body, streamed; stops reading as soon as it passes `limit` bytes (decompressed)."""
    if response.content_length is not None and response.content_length > limit:
        raise _TooLarge
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


class ToolInvoker:
    """One per worker; owns the aiohttp session. Use as `async with ToolInvoker() as tools:`.

    `resolve` is the DNS used to vet hosts (the system resolver by default); `secrets` holds
    what the deployment grants each tenant (nothing by default); `network` is the deployment's
    network policy, which narrows every tenant's (public https only by default).
    """

    def __init__(
        self,
        *,
        resolve: HostResolver = system_resolve,
        secrets: SecretStore | None = None,
        network: NetworkPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 5.0,
        max_call_seconds: float = MAX_CALL_SECONDS,
    ) -> None:
        self._resolve = resolve
        self._secrets = secrets or SecretStore()
        self._network = network or NetworkPolicy()
        self.breaker = breaker or CircuitBreaker()
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._max_call = max_call_seconds
        self._resolver = PinnedResolver()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ToolInvoker:
        # No DNS cache (answers are per call and per policy) and no connection reuse (a pooled
        # connection was vetted under another call's policy); no proxies from the environment
        # and no cookies, so nothing outside the call's own arguments decides where it goes.
        connector = aiohttp.TCPConnector(
            resolver=self._resolver, use_dns_cache=False, force_close=True
        )
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar(),
            headers={"User-Agent": "sentinai-tools/1"},
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def invoke(
        self,
        *,
        tenant_id: str,
        tool_name: str,
        tool: Tool,
        arguments: dict[str, Any],
        idempotency_key: str,
        policy: ToolPolicy,
    ) -> ToolResult:
        """Call `tool` once, with retries; never raises for anything the call itself does."""
        started = time.perf_counter()

        def result(error: str | None, attempts: int, http_status: int | None = None,
                   response: Any = None) -> ToolResult:
            return ToolResult(
                status="failed" if error else "succeeded", http_status=http_status,
                response=redact_secrets(response), error=error, attempts=attempts,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

        invalid = argument_error(tool.input_schema, arguments)
        if invalid is not None:
            return result(f"invalid arguments: {invalid}", 0)
        policy = self._network.narrow(policy)
        try:
            secret = "" if tool.auth.type == "none" else self._secrets.value(
                tenant_id, str(tool.auth.secret_ref))
            secret_headers = auth_headers(tool.auth, secret)
        except (SecretUnavailable, ForbiddenHeader) as error:
            log.warning("tool %s for %s refused: %s", tool_name, tenant_id, error)
            return result(f"refused: {error}", 0)
        key = (tenant_id, tool_name)
        if not self.breaker.allow(key):
            return result(f"circuit open for tool {tool_name}", 0)
        healthy: bool | None = None
        max_attempts = tool.max_retries + 1
        deadline = time.monotonic() + self._max_call
        try:
            for attempt in range(1, max_attempts + 1):
                timeout = min(tool.timeout_seconds, deadline - time.monotonic())
                try:
                    reply = await self._attempt(
                        tool, arguments, idempotency_key, secret_headers, policy, timeout
                    )
                except _Retryable as failure:
                    log.debug("tool %s for %s: attempt %d/%d failed: %s", tool_name, tenant_id,
                             attempt, max_attempts, failure)
                    backoff = min(self._max_backoff, self._backoff * 2 ** (attempt - 1))
                    out_of_time = time.monotonic() + backoff >= deadline
                    if attempt == max_attempts or out_of_time:
                        healthy = False
                        error = str(failure)
                        if out_of_time and attempt < max_attempts:
                            error += f" (no further retries: a call ends within {self._max_call:g}s)"
                        return result(error, attempt, failure.http_status, failure.body)
                    await asyncio.sleep(backoff)
                    continue
                except Refused as refusal:
                    log.warning("tool %s for %s refused: %s", tool_name, tenant_id, refusal)
                    sent = attempt if refusal.requests_sent else attempt - 1
                    return result(f"refused: {refusal}", sent)
                except _TooLarge:
                    return result(
                        f"response too large (over {policy.max_response_bytes} bytes)", attempt
                    )
                healthy = True
                if 200 <= reply.http_status < 300:
                    return result(None, attempt, reply.http_status, reply.body)
                return result(f"HTTP {reply.http_status}", attempt, reply.http_status, reply.body)
            raise AssertionError("unreachable: the last attempt always returns")
        finally:
            if healthy is None:
                self.breaker.release(key)
            else:
                self.breaker.record(key, healthy=healthy)

    async def _attempt(self, tool: Tool, arguments: dict[str, Any], idempotency_key: str,
                       secret_headers: dict[str, str], policy: ToolPolicy, timeout: float) -> _Reply:
        """One attempt within ``timeout`` (the tool's, or what is left of the call's time);
        classifies what went wrong."""
        try:
            async with asyncio.timeout(timeout):
                reply = await self._follow(tool, arguments, idempotency_key, secret_headers, policy)
        except TimeoutError:
            raise _Retryable(f"timed out after {timeout:g}s") from None
        except Unresolvable as error:
            raise _Retryable(str(error)) from None
        except (aiohttp.ClientError, OSError) as error:
            raise _Retryable(f"connection failed: {type(error).__name__}: {error}") from None
        if reply.http_status >= 500:
            raise _Retryable(f"HTTP {reply.http_status}", reply.http_status, reply.body)
        return reply

    async def _follow(self, tool: Tool, arguments: dict[str, Any], idempotency_key: str,
                      secret_headers: dict[str, str], policy: ToolPolicy) -> _Reply:
        """Send the request, following at most `MAX_REDIRECTS` redirects, each one vetted.

        303, and 301/302 after a POST, continue as a body-less GET (as browsers do); the
        credentials are dropped when a redirect leaves the endpoint's origin.
        """
        assert self._session is not None, "use ToolInvoker as an async context manager"
        url = URL(str(tool.endpoint))
        method: str = tool.method
        body: dict[str, Any] | None = arguments
        base = {"Idempotency-Key": idempotency_key, "Accept": "application/json"}
        credentials = secret_headers
        for hop in range(MAX_REDIRECTS + 1):
            try:
                target = await vet_url(url, policy, self._resolve)
            except Refused as refusal:
                refusal.requests_sent = hop
                raise
            with self._resolver.pinned(target.host, target.addresses):
                async with self._session.request(
                    method, url, headers={**base, **credentials}, allow_redirects=False,
                    **_request_body(method, body),
                ) as response:
                    location = response.headers.get("Location")
                    if response.status not in REDIRECT_STATUSES or not location:
                        data = await _read_capped(response, policy.max_response_bytes)
                        return _Reply(response.status, _decode(data, response.content_type))
            if hop == MAX_REDIRECTS:
                too_many = Refused(f"more than {MAX_REDIRECTS} redirects")
                too_many.requests_sent = hop + 1
                raise too_many
            assert location is not None
            next_url = url.join(URL(location))
            if response.status == 303 or (response.status in (301, 302) and method == "POST"):
                method, body = "GET", None
            if _origin(next_url) != _origin(url):
                credentials = {}
            url = next_url
        raise AssertionError("unreachable: the loop returns or raises")
