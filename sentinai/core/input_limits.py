"""What an input may hold so that the pipeline can keep it: one set of rules for the HTTP ingest
(a 4xx at the door) and the stream's ``normalize`` (the DLQ with the reason).

PostgreSQL stores an accepted exception as text and JSONB, and a browser reads it back as
JavaScript numbers. So a value is refused when it holds

- a character PostgreSQL cannot store: NUL (``\\u0000``) or a lone UTF-16 surrogate
  (``\\ud800``, which no UTF-8 text can encode), in a string or an object key;
- nesting deeper than :data:`MAX_DEPTH` objects and lists;
- a number that is not finite (``NaN``, ``Infinity``, ``1e400``, which parses as infinity);
- an integer of more than :data:`MAX_INTEGER_DIGITS` digits.

A timestamp must be a time of years 1–9999 in UTC (:func:`in_utc_range`). The size of a whole message is bounded separately (``SENTINAI_MAX_MESSAGE_BYTES``).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 40
_INTEGER_BOUND = 10**MAX_INTEGER_DIGITS


class InputLimitError(ValueError):
    """A value the pipeline cannot keep; ``path`` names where it is (``payload.items[2]``)."""

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)


def _unstorable(text: str) -> str | None:
    """Why PostgreSQL cannot store ``text``, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000), which PostgreSQL cannot store"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (\\ud800-\\udfff), which is not valid Unicode text"
    return None


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part



def _storable_text(text: str) -> bool:
    if text.isascii():  # the common case, and cheap: ASCII text always encodes
        return "\x00" not in text
    return _unstorable(text) is None


def _keepable(value: Any, depth: int) -> bool:
    """True when ``value`` breaks no rule: the fast check, without a path (recursion is bounded
    by :data:`MAX_DEPTH`, where it stops descending).

    Every input's every value comes here, so the loops are written out (``all`` over a generator
    cost a third more) and a string value is checked without descending into it.
    """
    kind = type(value)
    if kind is str:
        return _storable_text(value)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        depth += 1
        for key, item in value.items():
            if type(key) is not str or not _storable_text(key):
                return False
            if type(item) is str:
                if not _storable_text(item):
                    return False
            elif not _keepable(item, depth):
                return False
        return True
    if kind is list:
        if depth >= MAX_DEPTH:
            return False
        depth += 1
        for item in value:
            if not _keepable(item, depth):
                return False
        return True
    if kind is int:
        return -_INTEGER_BOUND < value < _INTEGER_BOUND
    if kind is float:
        return math.isfinite(value)
    return True  # None, bool, and what no JSON parser makes (a datetime given in-process)


def check_value(value: Any, path: str = "") -> None:
    """Raise :class:`InputLimitError` for the first part of ``value`` the pipeline cannot keep.

    A fast check first (every exception passes here); only a value that fails it is walked again
    to name the offending path, iteratively, so nesting far deeper than the limit costs no stack.
    """
    if _keepable(value, 0):
        return
    pending: list[tuple[Any, str, int]] = [(value, path, 0)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise InputLimitError(f"nested deeper than {MAX_DEPTH} levels", where)
            if isinstance(item, dict):
                for key, child in item.items():
                    if not isinstance(key, str):
                        raise InputLimitError("object keys must be strings", where)
                    reason = _unstorable(key)
                    if reason is not None:
                        raise InputLimitError(f"an object key {reason}", where)
                    pending.append((child, _join(where, key), depth + 1))
            else:
                pending.extend((child, _join(where, i), depth + 1) for i, child in enumerate(item))
        elif isinstance(item, str):
            reason = _unstorable(item)
            if reason is not None:
                raise InputLimitError(reason, where)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -_INTEGER_BOUND < item < _INTEGER_BOUND:
                raise InputLimitError(f"an integer of more than {MAX_INTEGER_DIGITS} digits", where)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputLimitError(f"the number {item!r} is not finite", where)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise InputLimitError(f"an integer of more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InputLimitError(f"the number {text[:40]} is out of range (not finite)")
    return number


def _constant(text: str) -> float:
    raise InputLimitError(f"{text} is not a JSON number")


def parse_json(data: bytes | str) -> Any:
    """JSON text → value, refusing what :func:`check_value` refuses among numbers while parsing.

    Python's own parser accepts ``NaN`` and ``Infinity``, turns ``1e400`` into infinity and raises
    a bare ValueError past 4,300 digits; here each is an :class:`InputLimitError` with its reason.
    Strings and depth are for :func:`check_value`. Raises ``json.JSONDecodeError`` (bad JSON),
    ``UnicodeDecodeError`` (not UTF-8) and ``RecursionError`` (nested beyond the parser's stack).
    """
    return json.loads(data, parse_int=_integer, parse_float=_finite, parse_constant=_constant)


def in_utc_range(moment: datetime) -> bool:
    """Whether the aware ``moment`` is a time of years 1–9999 in UTC: what can be compared,
    computed with and stored (``9999-12-31T23:59-05:00`` is a valid value whose UTC time is not)."""
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True
