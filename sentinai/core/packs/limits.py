"""Size bounds of a pack, checked on the raw document before any of it is parsed or compiled.

A pack is uploaded by a tenant admin and compiled by every shared process; its cost must be
bounded before it is paid. The document's canonical JSON size bounds everything at once; the
number of conditions bounds the compilation work and the memory the compiled pack holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

MAX_PACK_BYTES = 1_048_576
MAX_PACK_CONDITIONS = 2_000


@dataclass(frozen=True, slots=True)
class PackLimits:
    max_document_bytes: int = MAX_PACK_BYTES
    max_conditions: int = MAX_PACK_CONDITIONS


def canonical_json(document: Any) -> str:
    """The document as it is stored, sized and checksummed: sorted keys, no spaces."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def document_checksum(document: Any) -> str:
    """SHA-256 of the canonical JSON: the same content, the same version."""
    return hashlib.sha256(canonical_json(document).encode()).hexdigest()


def document_bytes(document: Any) -> int:
    """The size of the document as canonical JSON."""
    return len(canonical_json(document).encode())


def _items(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        yield from value.values()
    elif isinstance(value, list):
        yield from value


def _playbook_conditions(playbooks: Any) -> int:
    count = 0
    for playbook in _items(playbooks):
        conditions = playbook.get("conditions") if isinstance(playbook, Mapping) else None
        if isinstance(conditions, str) or (
                isinstance(conditions, Mapping) and conditions.get("condition") is not None):
            count += 1
    return count


def condition_count(document: Mapping[str, Any]) -> int:
    """How many conditions the pack asks to compile: detection rules, severity rules and
    playbook conditions (a domain's and a tenant's own)."""
    count = sum(
        len(definition.get("detectionRules") or [])
        for definition in _items(document.get("exceptionTypes"))
        if isinstance(definition, Mapping) and isinstance(definition.get("detectionRules"), list)
    )
    count += sum(1 for _ in _items(document.get("severityRules")))
    return count + _playbook_conditions(document.get("playbooks")) + _playbook_conditions(
        document.get("customPlaybooks"))


def limit_problems(document: Mapping[str, Any], limits: PackLimits) -> list[str]:
    """Why the document is too big to validate, if it is."""
    problems = []
    size = document_bytes(document)
    if size > limits.max_document_bytes:
        problems.append(f"the pack is {size} bytes as JSON; the limit is {limits.max_document_bytes}")
    conditions = condition_count(document)
    if conditions > limits.max_conditions:
        problems.append(f"the pack has {conditions} conditions; the limit is {limits.max_conditions}")
    return problems


DEFAULT_LIMITS = PackLimits()
