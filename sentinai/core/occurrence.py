"""One occurrence of an exception id: what sets it apart from the id's earlier ones.

Producers may send an exception id again once its dedup window has passed, for something that
happened again. That is a new occurrence: it is decided afresh, and everything it produces must be
told apart from what the earlier occurrence produced — its event, approval and tool-call ids (which
derive from ``key``, :func:`sentinai.core.ids.event_id_for`) and its ``exceptions`` row, which it
replaces (the sink orders occurrences by the row's ``first_seen_at``, then versions within one).

The key is the source (topic, partition, offset) of the input that started the occurrence, so a
replay of that input after a crash belongs to the same occurrence and produces the same ids. The
key ``""`` is the occurrence of a run started by a release before occurrences existed: its ids stay
the ones it had, and its row has no ``first_seen_at`` (earlier than any occurrence's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str = ""
    first_seen: float = 0.0
    """When a worker first saw it, epoch seconds (the exception state's ``first_seen``)."""

    @classmethod
    def started_by(cls, source: tuple[str, int, int], *, first_seen: float) -> Occurrence:
        """The occurrence the input from ``source`` starts."""
        return cls(":".join(map(str, source)), first_seen)

    def first_seen_at(self) -> str | None:
        """The exception row's ``first_seen_at`` as a snapshot carries it; None for the key ``""``."""
        return datetime.fromtimestamp(self.first_seen, UTC).isoformat() if self.key else None


NO_OCCURRENCE = Occurrence()
"""The key ``""``: runs started before occurrences existed, and decisions that are not kept (the
CLI's, what-if's, the benchmarks')."""
