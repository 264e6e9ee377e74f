"""What a new pack version changes: the differences (`sentinai.core.json_diff`) from the active
document to it, per pack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sentinai.core.json_diff import json_diff

NAME_FIELDS = {"domain": "domainName", "tenant": "tenantId"}


def document_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes that turn ``before`` (nothing: a new pack) into ``after``."""
    return json_diff(dict(before or {}), dict(after))


def pack_diff(active: Mapping[tuple[str, str], Mapping[str, Any]],
              candidates: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per candidate document that differs from the active version of its pack.

    ``active`` maps ``(kind, name)`` to the active document; ``candidates`` are ``(kind, document)``.
    """
    entries = []
    for kind, document in candidates:
        name = str(document[NAME_FIELDS[kind]])
        before = active.get((kind, name))
        changes = document_changes(before, document)
        if changes:
            entries.append({"kind": kind, "name": name,
                            "from_version": None if before is None else before.get("version"),
                            "to_version": document.get("version"), "changes": changes})
    return entries
