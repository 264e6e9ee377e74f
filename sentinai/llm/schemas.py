"""The JSON Schemas of the LLM uses, kept in the repository as data.

They live in `sentinai/core/llm_schemas/` (already package data): the schema is the contract
between the platform and any model, and every answer is validated against it before use.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

ASSESSMENT = "assessment"
"""Triage proposal and policy advice in one answer (one call per exception)."""

EXPLANATION = "explanation"
"""The plain-language explanation of a final decision."""

COPILOT = "copilot"
"""A copilot answer: claims, each citing records that were retrieved for it."""


@cache
def _text(name: str) -> str:
    return (resources.files("sentinai.core") / "llm_schemas" / f"{name}.json").read_text("utf-8")


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy of the named schema (callers may not mutate the cached one)."""
    schema: dict[str, Any] = json.loads(_text(name))
    return schema
