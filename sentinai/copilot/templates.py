"""The deterministic answer: the retrieved items put into words by templates. Pure, no I/O.

It is the answer without a model and the fallback of the model's; it states only what the items
say, and cites every item it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sentinai.copilot import intents
from sentinai.copilot.retrieval import Item


@dataclass
class Context:
    """Everything retrieved for one question."""

    intent: str
    question: str
    exception_id: str | None = None
    exception: Item | None = None
    decisions: list[Item] = field(default_factory=list)
    similar: list[Item] = field(default_factory=list)
    playbooks: list[Item] = field(default_factory=list)
    counts: Item | None = None

    @property
    def items(self) -> list[Item]:
        head = [self.exception] if self.exception else []
        tail = [self.counts] if self.counts else []
        return [*head, *self.decisions, *self.similar, *self.playbooks, *tail]

    @property
    def missing_exception(self) -> bool:
        """An exception was named but the tenant has none by that id (or it is another tenant's)."""
        return self.exception_id is not None and self.exception is None


@dataclass(frozen=True)
class Answer:
    text: str
    cited: list[Item]
    confidence: float


def _not_found(ctx: Context) -> Answer:
    return Answer(f"No exception {ctx.exception_id!r} was found for this tenant.", [], 0.0)


def _needs_exception(ctx: Context) -> Answer:
    return Answer("Name an exception (exception_id) to " + {
        intents.SUMMARIZE: "summarize", intents.EXPLAIN: "explain its decision",
        intents.DRAFT: "draft a note about", intents.PLAYBOOK: "recommend a playbook for",
    }.get(ctx.intent, "answer this") + ".", [], 0.0)


def _summary(ctx: Context) -> Answer:
    exc = ctx.exception
    assert exc is not None
    d = exc.data
    parts = [f"Exception {exc.id} is a {d.get('severity') or 'unrated'} "
             f"{d.get('exception_type') or 'unclassified'} exception from "
             f"{d.get('source_system') or 'an unknown source'}, now {d.get('status')}."]
    if d.get("playbook_id"):
        parts.append(f"It follows playbook {d['playbook_id']} (step {d.get('current_step')}).")
    if ctx.decisions:
        last = ctx.decisions[-1]
        parts.append(f"Its latest decision: {last.title}.")
    parts.append(f"Details: {exc.snippet}")
    return Answer(" ".join(parts), [exc, *ctx.decisions[-1:]], 1.0)


def _explanation(ctx: Context) -> Answer:
    exc = ctx.exception
    assert exc is not None
    if not ctx.decisions:
        return Answer(f"Exception {exc.id} has no recorded decision yet "
                      f"(status {exc.data.get('status')}).", [exc], 1.0)
    lines = [f"Exception {exc.id} was decided in {len(ctx.decisions)} stage(s):"]
    for item in ctx.decisions:
        d = item.data
        source = f" [{d['source']}]" if d.get("source") else ""
        lines.append(f"- {d['stage']}: {d['decision']}{source}; evidence: "
                     f"{'; '.join(d['evidence']) or 'none recorded'}.")
    return Answer("\n".join(lines), [exc, *ctx.decisions], 1.0)


def _similar(ctx: Context) -> Answer:
    if not ctx.similar:
        return Answer("No similar past exception was found for this tenant.",
                      [ctx.exception] if ctx.exception else [], 0.0)
    subject = f"exception {ctx.exception.id}" if ctx.exception else "the question"
    lines = [f"The closest past exceptions to {subject}:"]
    for item in ctx.similar:
        lines.append(f"- {item.id} ({item.title}): {item.snippet}")
    return Answer("\n".join(lines), list(ctx.similar), float(ctx.similar[0].data["score"]))


def _playbook(ctx: Context) -> Answer:
    if not ctx.playbooks:
        return Answer("No playbook of the tenant's packs fits this exception, and no similar case "
                      "was resolved by one.", [*filter(None, [ctx.exception]), *ctx.similar], 0.0)
    best = ctx.playbooks[0]
    lines = [f"Recommended: playbook {best.id} ({best.title}) — {best.snippet}"]
    for other in ctx.playbooks[1:]:
        lines.append(f"Alternative: {other.id} ({other.title}) — {other.snippet}")
    used = [s for s in ctx.similar if s.data["outcome"].get("playbook_id") == best.id]
    share = best.data["resolved_similar"] / len(ctx.similar) if ctx.similar else 0.0
    return Answer("\n".join(lines), [*ctx.playbooks, *used], round(max(share, 0.3), 3))


def _counts(ctx: Context) -> Answer:
    item = ctx.counts
    assert item is not None
    d: dict[str, Any] = item.data
    text = f"{d['total']} exceptions ({d['filters']}); {d['resolved']} resolved"
    if d["mean_seconds_to_resolve"] is not None:
        text += f", in {d['mean_seconds_to_resolve'] / 60:.1f} minutes on average"
    text += "."
    if d["per_day"]:
        text += " Per day: " + ", ".join(f"{p['day']}: {p['count']}" for p in d["per_day"]) + "."
    return Answer(text, [item], 1.0)


def _party(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return None
    for key, value in payload.items():
        if isinstance(value, str) and key.lower() in ("counterparty", "counterpartyname", "broker",
                                                      "custodian", "payee", "beneficiary", "payer"):
            return value
    return None


def _draft(ctx: Context) -> Answer:
    exc = ctx.exception
    assert exc is not None
    d = exc.data
    party = _party(d.get("raw_payload")) or "counterparty"
    text = (f"Subject: {d.get('exception_type') or 'Exception'} — our reference {exc.id}\n\n"
            f"Dear {party} team,\n\n"
            f"We are investigating a {str(d.get('exception_type') or 'exception').replace('_', ' ').lower()} "
            f"(severity {d.get('severity') or 'unrated'}) raised by our {d.get('source_system') or ''} "
            f"system. Details on our side: {exc.snippet}\n\n"
            "Could you please check the details on your side and confirm the correct instructions, "
            "or tell us what you need from us?\n\nKind regards")
    return Answer(text, [exc], 0.5)


_WITH_EXCEPTION = {intents.SUMMARIZE: _summary, intents.EXPLAIN: _explanation,
                   intents.DRAFT: _draft}


def answer(ctx: Context) -> Answer:
    """The template answer for ``ctx``."""
    if ctx.missing_exception:
        return _not_found(ctx)
    if ctx.intent in _WITH_EXCEPTION:
        return _WITH_EXCEPTION[ctx.intent](ctx) if ctx.exception else _needs_exception(ctx)
    if ctx.intent == intents.COUNTS:
        return _counts(ctx)
    if ctx.intent == intents.PLAYBOOK:
        return _playbook(ctx) if ctx.exception else _needs_exception(ctx)
    return _similar(ctx)
