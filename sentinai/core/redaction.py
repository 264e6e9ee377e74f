"""Masking of secret values before anything reaches an event, a log line or the database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"
SECRET_KEY = re.compile(r"password|secret|token|api[_-]?key|authorization|credential", re.IGNORECASE)
"""A key naming a secret: its value is masked whatever its type."""


def redact_secrets(obj: Any) -> Any:
    """A copy of `obj` (nested dicts, lists and tuples) with every secret-named key's value masked.

    Matching is on keys, not values: a value cannot be recognized as a secret, its name can.
    Other values are returned as they are, so the result stays JSON-serializable when `obj` was.
    """
    if isinstance(obj, Mapping):
        return {
            key: MASK if isinstance(key, str) and SECRET_KEY.search(key) else redact_secrets(value)
            for key, value in obj.items()
        }
    if isinstance(obj, list | tuple):
        return [redact_secrets(item) for item in obj]
    return obj
