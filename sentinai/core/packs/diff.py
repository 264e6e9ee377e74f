"""What a new pack version changes: a JSON Patch (RFC 6902) from the active document to it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonpatch

NAME_FIELDS = {"domain": "domainName", "tenant": "tenantId"}


def document_patch(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The operations that turn ``before`` (nothing: a new pack) into ``after``."""
    return list(jsonpatch.make_patch(dict(before or {}), dict(after)).patch)


def pack_diff(active: Mapping[tuple[str, str], Mapping[str, Any]],
              candidates: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One entry per candidate document that differs from the active version of its pack.

    ``active`` maps ``(kind, name)`` to the active document; ``candidates`` are ``(kind, document)``.
    """
    entries = []
    for kind, document in candidates:
        name = str(document[NAME_FIELDS[kind]])
        before = active.get((kind, name))
        patch = document_patch(before, document)
        if patch:
            entries.append({"kind": kind, "name": name,
                            "from_version": None if before is None else before.get("version"),
                            "to_version": document.get("version"), "patch": patch})
    return entries
