"""What-if: the same exception decided by two pack sets, and the report over many of them.

Pure: the I/O edge (``sentinai.whatif``) streams stored exceptions in, turns each back into the raw
input it came from (:func:`stored_input`), decides it twice and feeds both outcomes to
:class:`WhatIfReport`. The report keeps counts for every exception and the details of at most
``max_changed`` of them, so its size does not grow with the period.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sentinai.core.models import Decision, DecisionOutcome

COMPARED_FIELDS = ("exception_type", "severity", "status", "approval_required", "actionability",
                   "playbook_id")
"""The fields of a decision the report compares, in the order it lists them."""

STORED_CONTEXT_KEYS = ("occurred_at", "source_system", "exception_type")
"""What the pipeline adds to the context it stores (``normalized_context``) beside the producer's
own context: taken out again to rebuild the input."""


def stored_input(tenant_id: str, exception_id: str, *, source_system: str | None,
                 stored_type: str | None, payload: Mapping[str, Any],
                 normalized_context: Mapping[str, Any] | None) -> dict[str, Any]:
    """The raw exception a stored row came from, ready for ``normalize``.

    The given type is the one the producer sent (kept in the stored context); rows stored before
    it was kept fall back to the decided type, which decides the same as long as that type exists.
    """
    context = dict(normalized_context or {})
    given_type = context.pop("exception_type", stored_type)
    occurred_at = context.pop("occurred_at", None)
    source = context.pop("source_system", source_system)
    return {"tenant_id": tenant_id, "exception_id": exception_id, "source_system": source,
            "exception_type": given_type, "occurred_at": occurred_at, "payload": dict(payload),
            "context": context}


@dataclass(frozen=True, slots=True)
class DecisionView:
    """What a decision says, flattened: the compared fields and every stage's evidence."""

    exception_type: str
    severity: str
    status: str
    approval_required: bool
    actionability: str | None
    playbook_id: str | None
    sla_deadline: datetime | None
    stages: tuple[Decision, ...]

    @classmethod
    def of(cls, outcome: DecisionOutcome) -> DecisionView:
        actionability = outcome.decisions[-1].actionability if outcome.decisions else None
        return cls(
            exception_type=outcome.exception_type,
            severity=outcome.severity.value,
            status=outcome.status.value,
            approval_required=outcome.approval_required,
            actionability=actionability.value if actionability else None,
            playbook_id=outcome.playbook_id,
            sla_deadline=outcome.sla_deadline,
            stages=tuple(outcome.decisions),
        )

    def as_json(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in COMPARED_FIELDS},
                "sla_deadline": self.sla_deadline.isoformat() if self.sla_deadline else None,
                "stages": [{"stage": d.stage, "decision": d.decision, "confidence": d.confidence,
                            "evidence": list(d.evidence), "next_step": d.next_step}
                           for d in self.stages]}


def changed_fields(before: DecisionView, after: DecisionView) -> tuple[str, ...]:
    return tuple(name for name in COMPARED_FIELDS if getattr(before, name) != getattr(after, name))


def _compared(outcome: DecisionOutcome) -> tuple[Any, ...]:
    """The values of `COMPARED_FIELDS`, cheaply: the report compares every exception twice."""
    last = outcome.decisions[-1] if outcome.decisions else None
    return (outcome.exception_type, outcome.severity, outcome.status, outcome.approval_required,
            last.actionability if last else None, outcome.playbook_id)


def _matrix(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (old, new), count in sorted(counts.items()):
        out.setdefault(str(old), {})[str(new)] = count
    return out


@dataclass
class WhatIfReport:
    """Counts over every exception compared, details of the first ``max_changed`` that changed."""

    max_changed: int = 100
    compared: int = 0
    changed: int = 0
    skipped: int = 0
    by_field: Counter[str] = field(default_factory=Counter)
    severity_moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    playbook_moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    newly_requiring_approval: int = 0
    no_longer_requiring_approval: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)

    def add(self, exception_id: str, occurred_at: datetime, before: DecisionOutcome,
            after: DecisionOutcome) -> tuple[str, ...]:
        """Count one exception decided by the active packs (``before``) and the candidate."""
        self.compared += 1
        old, new = _compared(before), _compared(after)
        self.severity_moves[(old[1], new[1])] += 1
        self.playbook_moves[(old[5] or "none", new[5] or "none")] += 1
        if old == new:
            return ()
        fields = tuple(name for name, a, b in zip(COMPARED_FIELDS, old, new, strict=True) if a != b)
        self.changed += 1
        self.by_field.update(fields)
        if after.approval_required and not before.approval_required:
            self.newly_requiring_approval += 1
        elif before.approval_required and not after.approval_required:
            self.no_longer_requiring_approval += 1
        if len(self.examples) < self.max_changed:
            self.examples.append({"exception_id": exception_id,
                                  "occurred_at": occurred_at.isoformat(),
                                  "changed": list(fields),
                                  "active": DecisionView.of(before).as_json(),
                                  "candidate": DecisionView.of(after).as_json()})
        return fields

    def skip(self, reason: str) -> None:
        """An exception that could not be re-decided (say, stored without its raw input)."""
        self.skipped += 1
        self.skip_reasons[reason[:200]] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "changed": self.changed,
            "skipped": self.skipped,
            "skip_reasons": dict(self.skip_reasons.most_common(10)),
            "changed_by_field": {name: self.by_field.get(name, 0) for name in COMPARED_FIELDS},
            "severity_matrix": _matrix(self.severity_moves),
            "playbook_matrix": _matrix(self.playbook_moves),
            "approval": {"newly_required": self.newly_requiring_approval,
                         "no_longer_required": self.no_longer_requiring_approval},
            "changed_exceptions": self.examples,
            "changed_exceptions_truncated": self.changed > len(self.examples),
        }


def render_report(report: Mapping[str, Any]) -> str:
    """A report (``WhatIfReport.as_json``) as text for a terminal."""
    lines = [f"compared {report['compared']}, changed {report['changed']}, "
             f"skipped {report['skipped']}", "", "changed by field:"]
    lines += [f"  {name:<20}{count:>10}" for name, count in report["changed_by_field"].items()]
    approval = report["approval"]
    lines += ["", f"newly requiring approval: {approval['newly_required']}, "
                  f"no longer requiring approval: {approval['no_longer_required']}"]
    for title, key in (("severity", "severity_matrix"), ("playbook", "playbook_matrix")):
        lines += ["", f"{title} (active -> candidate):"]
        lines += _matrix_lines(report[key])
    if report["changed_exceptions"]:
        lines += ["", "changed exceptions:"]
        for example in report["changed_exceptions"]:
            moves = ", ".join(f"{name} {example['active'][name]} -> {example['candidate'][name]}"
                              for name in example["changed"])
            lines.append(f"  {example['exception_id']}: {moves}")
        if report["changed_exceptions_truncated"]:
            lines.append(f"  … and {report['changed'] - len(report['changed_exceptions'])} more")
    return "\n".join(lines)


def _matrix_lines(matrix: Mapping[str, Mapping[str, int]]) -> list[str]:
    columns = sorted({new for row in matrix.values() for new in row})
    if not columns:
        return ["  (nothing compared)"]
    width = max([12, *(len(c) + 2 for c in columns), *(len(r) + 2 for r in matrix)])
    header = "  " + "".ljust(width) + "".join(c.rjust(width) for c in columns)
    rows = ["  " + old.ljust(width) + "".join(str(row.get(c, 0)).rjust(width) for c in columns)
            for old, row in matrix.items()]
    return [header, *rows]


def merge_documents(active: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]],
                    key: str) -> list[dict[str, Any]]:
    """The active documents with those named like a new one (by ``key``) replaced by it."""
    new = list(new)
    replaced = {d.get(key) for d in new}
    return [d for d in active if d.get(key) not in replaced] + new
