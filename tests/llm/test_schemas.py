"""The schemas kept in the repository: valid JSON Schema, and usable in strict structured output."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from sentinai.core.models import Severity
from sentinai.llm.schemas import ASSESSMENT, COPILOT, EXPLANATION, load_schema


def _objects(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema] if schema.get("type") == "object" else []
    for child in schema.get("properties", {}).values():
        found += _objects(child)
    if isinstance(schema.get("items"), dict):
        found += _objects(schema["items"])
    return found


@pytest.mark.parametrize("name", [ASSESSMENT, EXPLANATION, COPILOT])
def test_schema_is_strict_mode_compatible(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])


def test_assessment_severities_are_the_core_ones() -> None:
    assert load_schema(ASSESSMENT)["properties"]["severity"]["enum"] == [s.value for s in Severity]


def test_each_load_is_a_fresh_copy() -> None:
    load_schema(ASSESSMENT)["properties"].clear()
    assert load_schema(ASSESSMENT)["properties"]
