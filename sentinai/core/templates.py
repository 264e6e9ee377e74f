"""Step templates: `{payload.tradeId}`-style references in playbook step params, filled from the
decided exception (the same roots as conditions)."""

from __future__ import annotations

import json
import re
from typing import Any

from sentinai.core.models import DecisionOutcome

_TEMPLATE = re.compile(r"\{([A-Za-z_]\w*(?:\.[\w-]+)*)\}")
_TEMPLATE_ROOTS = frozenset({"tenantId", "exceptionId", "exceptionType", "severity",
                             "sourceSystem", "occurredAt", "payload", "context"})


def template_env(outcome: DecisionOutcome) -> dict[str, Any]:
    """What `{...}` in step params can name: the same roots as conditions, after triage."""
    exc = outcome.exception
    return {"tenantId": exc.tenant_id, "exceptionId": exc.exception_id,
            "exceptionType": outcome.exception_type, "severity": outcome.severity.value,
            "sourceSystem": exc.source_system, "occurredAt": exc.occurred_at.isoformat(),
            "payload": exc.payload, "context": exc.context}


def _lookup(path: str, env: dict[str, Any]) -> Any:
    value: Any = env
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def fill_templates(value: Any, env: dict[str, Any]) -> Any:
    """Replace `{payload.tradeId}`-style references, recursively.

    A string that is one whole reference becomes the referenced value, type kept (missing →
    None, i.e. JSON null, which the tool's schema then judges). References inside longer text
    are rendered as text (missing → `null`). Braces naming no known root stay as written.
    """
    if isinstance(value, str):
        if "{" not in value:  # most params name no template: no regular expression for them
            return value
        whole = _TEMPLATE.fullmatch(value)
        if whole and whole.group(1).split(".")[0] in _TEMPLATE_ROOTS:
            return _lookup(whole.group(1), env)

        def render(match: re.Match[str]) -> str:
            if match.group(1).split(".")[0] not in _TEMPLATE_ROOTS:
                return match.group(0)
            return _as_text(_lookup(match.group(1), env))

        return _TEMPLATE.sub(render, value)
    if isinstance(value, dict):
        return {key: fill_templates(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_templates(item, env) for item in value]
    return value
