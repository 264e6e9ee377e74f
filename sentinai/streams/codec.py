"""JSON to and from bytes, compact, for every message we produce or consume."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class UndecodableMessage(ValueError):
    """The bytes are not a UTF-8 JSON document."""


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON-serializable: {type(value).__name__}")


def dumps(value: Any) -> bytes:
    if isinstance(value, BaseModel):
        return value.model_dump_json().encode()
    return json.dumps(value, separators=(",", ":"), default=_default).encode()


def loads(data: bytes | str | None) -> Any:
    if data is None:
        raise UndecodableMessage("message has no value")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as err:  # bad JSON, not UTF-8, an integer past 4,300 digits
        raise UndecodableMessage(f"not a JSON document: {err}") from None
