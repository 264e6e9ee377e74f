"""Log lines stay one line each: a value from outside cannot forge a log line.

Tenants and producers choose much of what the worker and the web view log — an exception id, a
tool's answer, a webhook's error text. Logged with ``%s``, an id holding a newline and a timestamp
wrote a second, made-up line (a hostile tenant admin's test: a CRITICAL "database password
rotated" line in the worker's log). Every record's string arguments have their control
characters escaped (``\\n`` as the two characters ``\\`` ``n``) before any handler formats them;
the message templates themselves are ours, so multi-line messages and tracebacks keep their lines.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F)} | {
    ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def one_line(value: Any) -> Any:
    """``value`` with its control characters escaped, when it is a string; else as it is."""
    return value.translate(_ESCAPES) if isinstance(value, str) else value


def install() -> None:
    """Escape the string arguments of every log record made from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "escapes_arguments", False):
        return

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made = factory(*args, **kwargs)
        if isinstance(made.args, Mapping):
            made.args = {key: one_line(value) for key, value in made.args.items()}
        elif made.args:
            made.args = tuple(one_line(value) for value in made.args)
        return made

    record.escapes_arguments = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record)
