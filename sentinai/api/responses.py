"""JSON responses (datetimes as ISO 8601, bytes as text or base64) and query-string parsing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from aiohttp import web

from sentinai.api.errors import ApiError


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, default=_default, separators=(",", ":"), ensure_ascii=False)


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps)


def parse_query(request: web.Request, parsers: dict[str, Callable[[str], Any]]) -> dict[str, Any]:
    """Parse the query string: unknown or repeated parameters and bad values are 400s."""
    out: dict[str, Any] = {}
    for name in request.query:
        if name not in parsers:
            raise ApiError(400, "unknown_parameter",
                           f"unknown query parameter {name!r}; allowed: {', '.join(sorted(parsers)) or 'none'}",
                           f"query.{name}")
        values = request.query.getall(name)
        if len(values) > 1:
            raise ApiError(400, "repeated_parameter", f"query parameter {name!r} given {len(values)} times",
                           f"query.{name}")
        try:
            out[name] = parsers[name](values[0])
        except ApiError:
            raise
        except (ValueError, TypeError) as err:
            raise ApiError(400, "invalid_parameter", f"query parameter {name!r}: {err}", f"query.{name}") from None
    return out


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        digits = text.strip().removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
            raise ValueError(f"expected an integer of ASCII digits, got {text[:40]!r}")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"expected {low}..{high}, got {value}")
        return value
    return parse


def boolean(text: str) -> bool:
    if text not in ("true", "false"):
        raise ValueError(f"expected true or false, got {text[:40]!r}")
    return text == "true"


def timestamp(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 timestamp with a time zone, got {text[:40]!r}") from None
    if value.tzinfo is None:
        raise ValueError(f"timestamp needs a time zone (e.g. Z), got {text[:40]!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the first representable instant
        raise ValueError(f"timestamp is out of range, got {text[:40]!r}") from None


def word_list(text: str) -> list[str]:
    items = [p.strip() for p in text.split(",") if p.strip()]
    if not items or len(items) > 20 or any(len(p) > 100 for p in items):
        raise ValueError(f"expected a comma-separated list of 1..20 names, got {text[:40]!r}")
    return items


def one_of(choices: Iterable[str]) -> Callable[[str], str]:
    """One of ``choices``, written in any case; returns it as ``choices`` spell it. Anything else is
    a 400 naming the allowed values (a filter on a value no row can have would answer an empty
    list, as if there were none)."""
    allowed = tuple(str(choice) for choice in choices)  # an enum's members as their values
    by_folded = {choice.casefold(): choice for choice in allowed}

    def parse(text: str) -> str:
        choice = by_folded.get(text.strip().casefold())
        if choice is None:
            raise ValueError(f"expected one of {', '.join(allowed)} (in any case), got {text[:40]!r}")
        return choice
    return parse


def list_of(choices: Iterable[str]) -> Callable[[str], list[str]]:
    """A comma-separated list (as :func:`word_list`) of :func:`one_of` ``choices``."""
    allowed = tuple(str(choice) for choice in choices)
    one = one_of(allowed)

    def parse(text: str) -> list[str]:
        try:
            items = word_list(text)
        except ValueError as err:
            raise ValueError(f"{err}, each one of {', '.join(allowed)}") from None
        return [one(item) for item in items]
    return parse


def short_text(text: str) -> str:
    if not text or len(text) > 200:
        raise ValueError("expected 1..200 characters")
    return text
