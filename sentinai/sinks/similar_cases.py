"""Similar cases: the tenant's past exceptions closest to one exception (or to a text).

Lexical, in PostgreSQL, in one statement per search, every step filtered by tenant:

1. the query's terms are the lexemes of its search document (``exception_search.tsv``, see
   migration 0002) — or of a free text;
2. each term gets its document frequency in the tenant (:mod:`sentinai.sinks.search_terms`) and
   an IDF weight ``ln((N + 1) / (df + 0.5))``;
3. candidates are the documents that share at least one of the *rarer* terms: rarest first, for
   as long as their frequencies add up to no more than ``CANDIDATE_BUDGET`` (terms shared by more
   than a quarter of a large tenant's documents never select candidates). The GIN index answers
   each term with a short posting list;
4. the candidates sharing the most rare-term weight (``SHORTLIST``) are scored on all the query's
   terms: a candidate's score is the IDF-weighted share of the query's terms it contains (0..1),
   and the rarest shared terms are returned as the reason it matched.

With ``pg_trgm`` installed, a free-text search also finds documents by trigram word similarity
(typos, partial identifiers) through the trigram index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg

Reader = asyncpg.Pool | asyncpg.Connection
"""A pool, or a connection (the copilot reads inside one read-only transaction)."""

CANDIDATE_BUDGET = 1000
"""At most this many candidate documents are scored per search (the sum of the chosen terms'
document frequencies), which bounds the query time whatever the tenant's size."""

COMMON_SHARE = 0.25
"""Terms in more than this share of the tenant's documents weigh in the score but select no
candidates..."""

SMALL_TENANT = 100
"""...unless they are in no more than this many documents: in a small tenant every term may select
(the budget still bounds the work)."""

SHORTLIST = 20
"""Candidates ranked by their rare terms alone; only these are scored on all the query's terms."""

MAX_REASONS = 8

_SCORED = r"""
WITH n AS (
    SELECT greatest(coalesce((SELECT documents FROM search_stats WHERE tenant_id = $1), 0), 1)
           AS docs
), q AS (
    SELECT u.lexeme, coalesce(t.documents, 0) AS df
      FROM unnest($2::tsvector) u
      LEFT JOIN search_terms t ON t.tenant_id = $1 AND t.lexeme = u.lexeme
), w AS (
    SELECT q.lexeme, ln((n.docs + 1.0) / (q.df + 0.5)) AS idf,
           ('''' || replace(replace(q.lexeme, '\', '\\'), '''', '''''') || '''')::tsquery AS term,
           q.df <= greatest(n.docs * $5::float8, $9)
           AND sum(q.df) OVER (ORDER BY q.df, q.lexeme) <= $6 AS selects
      FROM q, n
), postings AS (
    SELECT w.idf, ARRAY(SELECT s.exception_id FROM exception_search s
                         WHERE s.tsv @@ w.term AND (s.tenant_id = $1) IS TRUE
                           AND s.exception_id <> $3) AS ids
      FROM w WHERE w.selects
), shortlist AS (
    SELECT h.exception_id, sum(p.idf) AS weight
      FROM postings p CROSS JOIN LATERAL unnest(p.ids) h(exception_id)
     GROUP BY h.exception_id
     ORDER BY weight DESC, h.exception_id
     LIMIT $8
), scored AS (
    SELECT l.exception_id, sum(w.idf) AS weight,
           array_agg(w.lexeme ORDER BY w.idf DESC) AS shared
      FROM shortlist l
      JOIN exception_search s ON s.tenant_id = $1 AND s.exception_id = l.exception_id
      CROSS JOIN LATERAL unnest(s.tsv) u JOIN w ON w.lexeme = u.lexeme
     GROUP BY l.exception_id
     ORDER BY weight DESC, l.exception_id
     LIMIT $4
)
SELECT sc.exception_id, sc.weight / nullif((SELECT sum(idf) FROM w), 0) AS score,
       sc.shared[1:$7] AS shared
  FROM scored sc
 ORDER BY score DESC, sc.exception_id
"""

# What became of each exception: of its current occurrence only (an id sent again after its dedup
# window is a new occurrence; the row's created_at is its first event, the earlier one's came before).
_OUTCOMES = """
SELECT e.exception_id, e.exception_type, e.severity, e.source_system, e.status, e.playbook_id,
       e.current_step, e.created_at, e.updated_at,
       (SELECT min(r.occurred_at) FROM exception_events r
         WHERE r.tenant_id = e.tenant_id AND r.exception_id = e.exception_id
           AND r.event_type = 'ExceptionResolved' AND r.occurred_at >= e.created_at) AS resolved_at,
       (SELECT jsonb_build_object('status', a.status, 'decided_by', a.decided_by,
                                  'comment', a.comment)
          FROM approvals a WHERE a.tenant_id = e.tenant_id AND a.exception_id = e.exception_id
           AND a.requested_at >= e.created_at
         ORDER BY a.requested_at DESC LIMIT 1) AS approval,
       (SELECT coalesce(array_agg(c.payload ->> 'comment' ORDER BY c.occurred_at), '{}')
          FROM exception_events c
         WHERE c.tenant_id = e.tenant_id AND c.exception_id = e.exception_id
           AND c.event_type = 'CommentAdded' AND c.payload ? 'comment'
           AND c.occurred_at >= e.created_at) AS comments
  FROM exceptions e
 WHERE e.tenant_id = $1 AND e.exception_id = ANY($2::text[])
"""

_TRIGRAM = """
SELECT s.exception_id, word_similarity($2, s.document) AS score
  FROM exception_search s
 WHERE s.tenant_id = $1 AND $2 <% s.document
 ORDER BY score DESC, s.exception_id
 LIMIT $3
"""

RESOLVED_STATUSES = frozenset({"RESOLVED", "CLOSED"})


@dataclass
class SimilarCase:
    """A past exception of the tenant, how close it is (0..1) and why."""

    exception_id: str
    score: float
    shared_terms: list[str]
    same_type: bool = False
    outcome: dict[str, Any] = field(default_factory=dict)
    by_trigrams: bool = False

    def as_json(self) -> dict[str, Any]:
        reasons = []
        if self.same_type:
            reasons.append("same exception type")
        if self.shared_terms:
            reasons.append("shares the rare terms " + ", ".join(self.shared_terms))
        if self.by_trigrams:
            reasons.append("similar wording (trigram word similarity)")
        return {"exception_id": self.exception_id, "score": round(self.score, 4),
                "why": reasons, "shared_terms": self.shared_terms, "outcome": self.outcome}


async def has_trigram(pool: Reader) -> bool:
    """Whether ``pg_trgm`` is installed in this database."""
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension "
                                    "WHERE extname = 'pg_trgm')"))


async def _query_vector(pool: Reader, tenant_id: str, exception_id: str) -> tuple[str, str | None] | None:
    """The exception's tsvector (as text) and type; computed from its row if not indexed yet."""
    row = await pool.fetchrow(
        "SELECT coalesce(s.tsv, to_tsvector('english', exception_search_document(e.exception_type, "
        "e.severity, e.source_system, e.normalized_context, e.raw_payload)))::text AS tsv, "
        "e.exception_type FROM exceptions e LEFT JOIN exception_search s "
        "ON s.tenant_id = e.tenant_id AND s.exception_id = e.exception_id "
        "WHERE e.tenant_id = $1 AND e.exception_id = $2", tenant_id, exception_id)
    return None if row is None else (row["tsv"], row["exception_type"])


async def _scored(pool: Reader, tenant_id: str, tsv: str, exclude: str, limit: int) -> list[asyncpg.Record]:
    return await pool.fetch(_SCORED, tenant_id, tsv, exclude, limit, COMMON_SHARE,
                            CANDIDATE_BUDGET, MAX_REASONS, max(SHORTLIST, limit), SMALL_TENANT)


async def outcomes(pool: Reader, tenant_id: str, exception_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What became of each exception: status, playbook, approval, resolution time, comments."""
    out: dict[str, dict[str, Any]] = {}
    for r in await pool.fetch(_OUTCOMES, tenant_id, exception_ids):
        resolved_at = r["resolved_at"]
        if resolved_at is None and r["status"] in RESOLVED_STATUSES:
            resolved_at = r["updated_at"]
        out[r["exception_id"]] = {
            "exception_type": r["exception_type"], "severity": r["severity"],
            "source_system": r["source_system"], "status": r["status"],
            "resolved": r["status"] in RESOLVED_STATUSES, "playbook_id": r["playbook_id"],
            "current_step": r["current_step"], "created_at": r["created_at"],
            "resolved_at": resolved_at,
            "seconds_to_resolve": (None if resolved_at is None
                                   else round((resolved_at - r["created_at"]).total_seconds(), 3)),
            "approval": r["approval"], "comments": list(r["comments"]),
        }
    return out


async def _with_outcomes(pool: Reader, tenant_id: str, cases: list[SimilarCase],
                         query_type: str | None) -> list[SimilarCase]:
    found = await outcomes(pool, tenant_id, [c.exception_id for c in cases])
    kept = []
    for case in cases:
        outcome = found.get(case.exception_id)
        if outcome is None:  # deleted (retention) between the two reads
            continue
        case.outcome = outcome
        case.same_type = query_type is not None and outcome["exception_type"] == query_type
        kept.append(case)
    return kept


async def similar_to_exception(pool: Reader, tenant_id: str, exception_id: str, *,
                               limit: int = 5) -> list[SimilarCase] | None:
    """The closest past exceptions of the tenant to one of its exceptions; None if it has no such."""
    query = await _query_vector(pool, tenant_id, exception_id)
    if query is None:
        return None
    tsv, query_type = query
    rows = await _scored(pool, tenant_id, tsv, exception_id, limit)
    cases = [SimilarCase(r["exception_id"], float(r["score"]), list(r["shared"])) for r in rows]
    return await _with_outcomes(pool, tenant_id, cases, query_type)


async def similar_to_text(pool: Reader, tenant_id: str, text: str, *,
                          limit: int = 5) -> list[SimilarCase]:
    """The tenant's exceptions closest to a free text (a question, a pasted message)."""
    tsv = await pool.fetchval("SELECT to_tsvector('english', $1)::text", text)
    rows = await _scored(pool, tenant_id, tsv, "", limit)
    cases = [SimilarCase(r["exception_id"], float(r["score"]), list(r["shared"])) for r in rows]
    if len(cases) < limit and await has_trigram(pool):
        seen = {c.exception_id for c in cases}
        for r in await pool.fetch(_TRIGRAM, tenant_id, text, limit):
            if r["exception_id"] not in seen:
                # after every lexical match: a fuzzy one is weaker evidence
                cases.append(SimilarCase(r["exception_id"], float(r["score"]) * 0.5, [],
                                         by_trigrams=True))
    return await _with_outcomes(pool, tenant_id, cases[:limit], None)


CLOSEST_RESOLVED_MIN_SCORE = 0.5
"""A resolved case is named on an exception's view only from this score on (half of the query's
term weight shared): below it, "closest" would mostly mean "same kind"."""


async def closest_resolved(pool: Reader, tenant_id: str, exception_id: str, *,
                           among: int = 10) -> SimilarCase | None:
    """The most similar resolved exception of the tenant, if it passes the threshold."""
    cases = await similar_to_exception(pool, tenant_id, exception_id, limit=among) or []
    return next((c for c in cases if c.outcome["resolved"]
                 and c.score >= CLOSEST_RESOLVED_MIN_SCORE), None)
