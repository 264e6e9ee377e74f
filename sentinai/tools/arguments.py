"""Validation of a tool call's arguments against the tool's input JSON Schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match


@lru_cache(maxsize=512)
def _validator(schema_json: str) -> Draft202012Validator:
    """Compiled once per distinct schema (keyed by its canonical JSON)."""
    return Draft202012Validator(
        json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def argument_error(schema: Mapping[str, Any], arguments: Any) -> str | None:
    """None when `arguments` fit `schema`, else one message naming the JSON path, e.g.
    `$.tradeId: None is not of type 'string'`. Formats (date, email, ...) are checked too."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    error = best_match(validator.iter_errors(arguments))
    if error is None:
        return None
    return f"{error.json_path}: {error.message}"
