"""The differences between two JSON documents, for a person comparing two pack versions.

Objects are compared key by key and lists position by position, so a change deep inside a pack
shows as one line with its path (``playbooks[2].steps[0].action``) and both values, rather than as
a whole replaced subtree. Values of different JSON types are one ``changed`` entry.
"""

from __future__ import annotations

from typing import Any

MAX_CHANGES = 2000


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def json_diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """``[{op: added|removed|changed, path, from, to}]`` in document order (at most ``MAX_CHANGES``)."""
    changes: list[dict[str, Any]] = []
    _walk(old, new, path, changes)
    return changes[:MAX_CHANGES]


def _walk(old: Any, new: Any, path: str, out: list[dict[str, Any]]) -> None:
    if len(out) >= MAX_CHANGES:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            where = _join(path, key)
            if key not in new:
                out.append({"op": "removed", "path": where, "from": old[key], "to": None})
            elif key not in old:
                out.append({"op": "added", "path": where, "from": None, "to": new[key]})
            else:
                _walk(old[key], new[key], where, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            where = _join(path, i)
            if i >= len(new):
                out.append({"op": "removed", "path": where, "from": old[i], "to": None})
            elif i >= len(old):
                out.append({"op": "added", "path": where, "from": None, "to": new[i]})
            else:
                _walk(old[i], new[i], where, out)
        return
    if old != new or type(old) is not type(new):
        out.append({"op": "changed", "path": path, "from": old, "to": new})
