"""What the tenant's records say about a question: the items an answer may cite.

Every read takes the tenant id and filters by it in SQL; the service runs them all inside one
read-only transaction, so nothing here could write even by mistake. The SQL is the code's own,
with parameters: a question never becomes SQL.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from sentinai.copilot.intents import CountFilters
from sentinai.core.packs import TenantPacks
from sentinai.sinks import views
from sentinai.sinks.similar_cases import SimilarCase, similar_to_exception, similar_to_text

SNIPPET_CHARS = 300


@dataclass(frozen=True)
class Item:
    """One retrieved record; ``key`` (``type:id``) is what an answer cites."""

    type: str
    id: str
    title: str
    snippet: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.type}:{self.id}"

    def citation(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "title": self.title, "snippet": self.snippet}


def _short(text: str, limit: int = SNIPPET_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def exception_item(conn: asyncpg.Connection, tenant_id: str, exception_id: str) -> Item | None:
    record = await views.get_exception(conn, tenant_id, exception_id)  # type: ignore[arg-type]
    if record is None:
        return None
    document = await conn.fetchval(
        "SELECT document FROM exception_search WHERE tenant_id = $1 AND exception_id = $2",
        tenant_id, exception_id)
    title = " ".join(str(record.get(k) or "?") for k in ("exception_type", "severity", "status"))
    data = {k: record.get(k) for k in ("exception_type", "severity", "status", "source_system",
                                      "owner", "playbook_id", "current_step", "sla_deadline",
                                      "created_at", "updated_at", "raw_payload")}
    snippet = document or str(record.get("raw_payload") or "")
    return Item("exception", exception_id, title, _short(snippet), data)


def _stage_record(decision: dict[str, Any]) -> dict[str, Any]:
    """The stage's fields: the event payload's ``decision`` object (the transition contract), or
    the payload itself (events written before it, whose ``decision`` is the verdict's text)."""
    inner = decision.get("decision")
    return inner if isinstance(inner, dict) else decision


async def decision_items(conn: asyncpg.Connection, tenant_id: str, exception_id: str) -> list[Item]:
    """The exception's decisions (stages, evidence), oldest first."""
    events = await views.timeline(conn, tenant_id, exception_id, limit=200)  # type: ignore[arg-type]
    items = []
    for decision in views.decisions_of(events):
        d = _stage_record(decision)
        evidence = [str(e) for e in d.get("evidence") or []]
        stage = str(d.get("stage") or decision["event_type"])
        verdict = str(d.get("decision"))
        snippet = f"{verdict}; evidence: {'; '.join(evidence) or 'none'}"
        if d.get("next_step"):
            snippet += f"; next: {d['next_step']}"
        items.append(Item("decision", decision["event_id"], f"{stage}: {verdict}", _short(snippet),
                          {"stage": stage, "decision": verdict, "evidence": evidence,
                           "source": d.get("source"), "confidence": d.get("confidence"),
                           "occurred_at": decision["occurred_at"]}))
    return items


def similar_item(case: SimilarCase) -> Item:
    o = case.outcome
    ending = o["status"] + (f" via playbook {o['playbook_id']}" if o.get("playbook_id") else "")
    if o.get("seconds_to_resolve") is not None:
        ending += f" in {o['seconds_to_resolve'] / 60:.0f} min"
    snippet = f"score {case.score:.2f}; {ending}; shares: {', '.join(case.shared_terms) or '-'}"
    return Item("exception", case.exception_id,
                f"{o.get('exception_type') or '?'} {o.get('severity') or '?'} {o['status']}",
                _short(snippet), {"score": round(case.score, 4), "outcome": o,
                                  "shared_terms": case.shared_terms})


async def similar_items(conn: asyncpg.Connection, tenant_id: str, *, exception_id: str | None,
                        text: str, limit: int = 5) -> list[Item]:
    if exception_id is not None:
        cases = await similar_to_exception(conn, tenant_id, exception_id, limit=limit) or []
    else:
        cases = await similar_to_text(conn, tenant_id, text, limit=limit)
    return [similar_item(c) for c in cases]


def playbook_items(packs: TenantPacks | None, exception: Item | None,
                   similar: list[Item]) -> list[Item]:
    """Playbooks of the tenant's packs that fit the exception, best evidence first: the playbook
    that resolved the closest similar case, then how many of them it resolved, then the pack's
    own priority."""
    resolved: dict[str, list[float]] = {}
    weight: dict[str, float] = {}
    for item in similar:
        o = item.data["outcome"]
        if o.get("resolved") and o.get("playbook_id"):
            resolved.setdefault(o["playbook_id"], []).append(o.get("seconds_to_resolve") or 0.0)
            weight[o["playbook_id"]] = max(weight.get(o["playbook_id"], 0.0), item.data["score"])
    if packs is None:
        return []
    kind = exception.data.get("exception_type") if exception else None
    severity = exception.data.get("severity") if exception else None
    ranked = []
    for playbook in [*packs.tenant.custom_playbooks, *packs.domain.playbooks]:
        cond = playbook.conditions
        fits = ((not cond.exception_types or kind in cond.exception_types)
                and (not cond.severities or severity in [s.value for s in cond.severities]))
        if not fits and playbook.id not in resolved:
            continue
        times = resolved.get(playbook.id, [])
        evidence = (f"resolved {len(times)} of {len(similar)} similar cases (closest: score "
                    f"{weight[playbook.id]:.2f}), median {statistics.median(times) / 60:.0f} min" if times
                    else "no similar case resolved with it yet")
        steps = ", ".join(step.name for step in playbook.steps)
        ranked.append((-weight.get(playbook.id, 0.0), -len(times), -playbook.priority, playbook.id, Item(
            "playbook", playbook.id, playbook.name,
            _short(f"{evidence}; steps: {steps}. {playbook.description}"),
            {"resolved_similar": len(times), "closest_score": round(weight.get(playbook.id, 0.0), 4),
             "fits_conditions": fits,
             "approved": playbook.approved})))
    return [item for *_, item in sorted(ranked, key=lambda r: r[:4])][:5]


_COUNTS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE status IN ('RESOLVED', 'CLOSED')) AS resolved,
       avg(extract(epoch FROM updated_at - created_at))
           FILTER (WHERE status IN ('RESOLVED', 'CLOSED')) AS mean_seconds_to_resolve
  FROM exceptions
 WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
   AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR exception_type = $5)
   AND (cardinality($6::text[]) = 0 OR status = ANY($6::text[]))
"""

_PER_DAY = """
SELECT date_trunc('day', created_at) AS day, count(*) AS n
  FROM exceptions
 WHERE tenant_id = $1 AND created_at >= $2 AND created_at < $3
   AND ($4::text IS NULL OR severity = $4) AND ($5::text IS NULL OR exception_type = $5)
   AND (cardinality($6::text[]) = 0 OR status = ANY($6::text[]))
 GROUP BY 1 ORDER BY 1
"""


async def known_types(conn: asyncpg.Connection, tenant_id: str, packs: TenantPacks | None) -> list[str]:
    names = set(packs.exception_types) if packs else set()
    rows = await conn.fetch("SELECT DISTINCT exception_type FROM exceptions WHERE tenant_id = $1 "
                            "AND exception_type IS NOT NULL LIMIT 500", tenant_id)
    return sorted(names | {r["exception_type"] for r in rows})


async def count_item(conn: asyncpg.Connection, tenant_id: str, filters: CountFilters) -> Item:
    args = (tenant_id, filters.since, filters.until, filters.severity, filters.exception_type,
            list(filters.statuses))
    row = await conn.fetchrow(_COUNTS, *args)
    days = [{"day": r["day"].date().isoformat(), "count": r["n"]}
            for r in await conn.fetch(_PER_DAY, *args)]
    mean = row["mean_seconds_to_resolve"]
    data = {"filters": filters.describe(), "total": row["total"], "resolved": row["resolved"],
            "mean_seconds_to_resolve": None if mean is None else round(float(mean), 1),
            "per_day": days}
    snippet = f"{row['total']} exceptions, {row['resolved']} resolved"
    if mean is not None:
        snippet += f", mean time to resolve {float(mean) / 60:.1f} min"
    return Item("query", "counts", f"Exceptions {filters.describe()}", snippet, data)
