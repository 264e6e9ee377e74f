"""JSON errors: every error the web view returns is ``{error, detail, path}`` with a 4xx/5xx status.

``path`` names where the problem is: an input location for bad input (``body``,
``body[2].payload``, ``query.cursor``, ``header.Authorization``) and the request path for
errors about the resource itself (unknown route, unknown tenant, missing record).
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sentinai.core.input_limits import InputLimitError, check_value, parse_json

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised by handlers; the middleware renders it as a JSON error response."""

    def __init__(self, status: int, error: str, detail: str, path: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.path = path
        self.extra = extra or {}


def error_body(error: str, detail: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail, "path": path, **extra}


def error_response(status: int, error: str, detail: str, path: str,
                   headers: dict[str, str] | None = None, **extra: Any) -> web.Response:
    return web.json_response(error_body(error, detail, path, **extra), status=status, headers=headers)


_HTTP_ERROR_NAMES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 411: "length_required",
    413: "body_too_large", 414: "uri_too_long", 415: "unsupported_media_type",
    422: "invalid_input", 429: "too_many_requests", 431: "headers_too_large",
    503: "unavailable",
}


def escaped_path(request: web.BaseRequest) -> str:
    """The request path for a log line: control and non-ASCII characters escaped (a ``%0a`` in the
    URL must not start a forged line)."""
    return request.path.encode("unicode_escape").decode("ascii")


@web.middleware
async def error_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        headers = {"WWW-Authenticate": "Bearer"} if err.status == 401 else None
        if "retry_after_seconds" in err.extra:
            headers = {"Retry-After": str(err.extra["retry_after_seconds"])}
        return error_response(err.status, err.error, err.detail, err.path or request.path,
                              headers=headers, **err.extra)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        name = _HTTP_ERROR_NAMES.get(exc.status, "http_error")
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "www-authenticate")}
        return error_response(exc.status, name, exc.reason or name, request.path, headers=headers)
    except Exception:  # last resort: never leak a traceback, always JSON
        log.exception("unhandled error in %s %s", request.method, escaped_path(request))
        return error_response(500, "internal_error", "unexpected server error (logged)", request.path)


@web.middleware
async def input_middleware(request: web.Request,
                           handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Refuse path and query parameters PostgreSQL cannot store (NUL, lone surrogates)."""
    for name, value in request.match_info.items():
        try:
            check_value(value)
        except InputLimitError as err:
            raise ApiError(400, "invalid_parameter", f"path parameter {name!r} {err.reason}", f"path.{name}") from None
    for name, value in request.query.items():
        try:
            check_value([name, value])
        except InputLimitError as err:
            shown = name.encode("unicode_escape").decode("ascii")
            raise ApiError(400, "invalid_parameter", f"query parameter {err.reason}", f"query.{shown}") from None
    return await handler(request)


async def read_json(request: web.Request, max_bytes: int, *, check: bool = True) -> Any:
    """The request body as JSON, with 413 for oversize, 415 for a non-JSON type, 400 for bad JSON
    and 422 for a value the pipeline cannot keep (``sentinai.core.input_limits``).

    ``check=False`` leaves strings and depth to the caller (the ingest checks each exception of a
    batch on its own, so that one bad item does not refuse the others)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "body_too_large", f"body is {request.content_length} bytes; the limit is {max_bytes}", "body")
    ctype = request.content_type
    # no Content-Type reads as application/octet-stream: a client that names none is taken at its word
    if ctype not in ("application/json", "application/octet-stream") and not ctype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", f"expected application/json, got {ctype}", "header.Content-Type")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, "body_too_large", f"body exceeds the limit of {max_bytes} bytes", "body")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "empty_body", "a JSON body is required", "body")
    try:  # UTF-8 only (RFC 8259), as the stream reads it: json.loads would guess UTF-16 and UTF-32 from bytes
        body = parse_json(raw.removeprefix(codecs.BOM_UTF8).decode("utf-8"))
    except InputLimitError as err:
        raise ApiError(422, "invalid_value", err.reason, "body") from None
    except UnicodeDecodeError:
        raise ApiError(400, "bad_json", "body is not UTF-8", "body") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, "bad_json", f"body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}", "body") from None
    except RecursionError:
        raise ApiError(400, "bad_json", "body is nested too deeply", "body") from None
    if check:
        try:
            check_value(body)
        except InputLimitError as err:
            raise ApiError(422, "invalid_value", err.reason, f"body.{err.path}" if err.path else "body") from None
    return body


def check_fields(obj: Any, *, allowed: dict[str, type | tuple[type, ...]], required: tuple[str, ...] = (),
                 where: str = "body", max_len: int = 2000) -> dict[str, Any]:
    """A JSON object with only ``allowed`` fields of the right types; 400 for unknown, 422 for mistyped."""
    if not isinstance(obj, dict):
        raise ApiError(400, "invalid_body", f"expected a JSON object, got {type(obj).__name__}", where)
    for name in obj:
        if name not in allowed:
            raise ApiError(400, "unknown_field", f"unknown field {name!r}; allowed: {', '.join(sorted(allowed))}",
                           f"{where}.{name}")
    for name in required:
        value = obj.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):  # a blank `by` names no one
            raise ApiError(422, "missing_field", f"field {name!r} is required", f"{where}.{name}")
    for name, value in obj.items():
        types = allowed[name]
        if value is None:
            continue
        if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
            raise ApiError(422, "invalid_field", f"field {name!r} has the wrong type (bool)", f"{where}.{name}")
        if not isinstance(value, types):
            raise ApiError(422, "invalid_field", f"field {name!r} has the wrong type ({type(value).__name__})",
                           f"{where}.{name}")
        if isinstance(value, str) and len(value) > max_len:
            raise ApiError(422, "invalid_field", f"field {name!r} is longer than {max_len} characters", f"{where}.{name}")
    return obj
