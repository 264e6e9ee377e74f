"""One event of the log: what changed, who did it, when.

Events travel inside a transition (:mod:`sentinai.streams.transition`), which names the tenant
and the exception they are about. Their ids are deterministic (:func:`sentinai.core.ids.event_id_for`
over tenant, exception, event type, step and the exception's occurrence) so that a replayed stage produces the same id and
every consumer, the PostgreSQL sink first, can drop duplicates.

Events are plain slotted dataclasses, not pydantic models: an exception makes some ten of them on
the hot path, and building a pydantic model cost more than deciding the exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sentinai.core.actor import Actor
from sentinai.core.ids import event_id_for


@dataclass(frozen=True, slots=True)
class EventEnvelope:
    """One state change inside a transition.

    ``version`` is the exception's version after this event, for the events that change the
    exception (it orders the events of one transition on the timeline); None for the others (an
    SLA tick, a notification, a tool call starting).
    """

    event_id: str
    event_type: str
    occurred_at: datetime
    actor: Actor
    payload: dict[str, Any] = field(default_factory=dict)
    version: int | None = None

    @classmethod
    def create(cls, *, event_type: str, tenant_id: str, exception_id: str, occurred_at: datetime,
               actor: Actor, payload: dict[str, Any], step: str = "", occurrence: str = "",
               version: int | None = None) -> EventEnvelope:
        """The event with its deterministic id."""
        return cls(event_id_for(tenant_id, exception_id, event_type, step, occurrence), event_type, occurred_at,
                   actor, payload, version)

    def as_json(self) -> dict[str, Any]:
        """The event as it travels: plain JSON types but for ``occurred_at`` (orjson writes it)."""
        actor = self.actor
        return {"event_id": self.event_id, "event_type": self.event_type, "occurred_at": self.occurred_at,
                "actor": {"type": actor.type, "id": actor.id}, "payload": self.payload, "version": self.version}
