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


MAX_FILLED_CHARS = 65_536
"""The most text one step's templates fill in, all its params together (a value a whole-string
reference keeps counts its JSON text). `{payload}` written 3,000 times in a comment took 1.9 GB of
the shared worker for one exception; past this limit the step fails instead."""


class TemplateTooLarge(ValueError):
    """A step's templates would fill in more than `MAX_FILLED_CHARS` characters."""


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class _Filler:
    """One step's params: each reference's text is made once, and the total is checked before
    anything larger than the limit is joined."""

    def __init__(self, env: dict[str, Any]) -> None:
        self.env = env
        self.left = MAX_FILLED_CHARS
        self.texts: dict[str, tuple[Any, str]] = {}

    def take(self, path: str) -> tuple[Any, str]:
        known = self.texts.get(path)
        if known is None:
            value = _lookup(path, self.env)
            known = self.texts[path] = (value, _as_text(value))
        self.left -= len(known[1])
        if self.left < 0:
            raise TemplateTooLarge(
                f"the step's templates fill in more than {MAX_FILLED_CHARS:,} characters "
                f"(reached at {{{path}}})")
        return known

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            if "{" not in value:  # most params name no template: no regular expression for them
                return value
            whole = _TEMPLATE.fullmatch(value)
            if whole and whole.group(1).split(".")[0] in _TEMPLATE_ROOTS:
                return self.take(whole.group(1))[0]

            def render(match: re.Match[str]) -> str:
                if match.group(1).split(".")[0] not in _TEMPLATE_ROOTS:
                    return match.group(0)
                return self.take(match.group(1))[1]

            return _TEMPLATE.sub(render, value)
        if isinstance(value, dict):
            return {key: self.fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.fill(item) for item in value]
        return value


def fill_templates(value: Any, env: dict[str, Any]) -> Any:
    """Replace `{payload.tradeId}`-style references, recursively.

    A string that is one whole reference becomes the referenced value, type kept (missing →
    None, i.e. JSON null, which the tool's schema then judges). References inside longer text
    are rendered as text (missing → `null`). Braces naming no known root stay as written.

    `TemplateTooLarge` when the references fill in more than `MAX_FILLED_CHARS` characters in
    all (a string as itself, any other value as its JSON text), raised before the text is built.
    """
    return _Filler(env).fill(value)
