"""The event envelope of ``sentinai.events`` and the decision record of ``sentinai.decisions``.

Ids are deterministic (uuid5 over tenant, exception, event type and step) so that a replayed
stage produces the same id and every consumer, the Postgres sink first, can drop duplicates.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
_NAMESPACE = uuid.UUID("7d3a3b9e-5c1f-4b8e-9d6a-2f0c1e4b8a10")
_NAMESPACE_BYTES = _NAMESPACE.bytes

ActorType = Literal["agent", "user", "system"]


def event_id_for(tenant_id: str, exception_id: str, event_type: str, step: str = "") -> str:
    """``str(uuid.uuid5(namespace, name))``, computed without the UUID object: a third of the cost,
    and an exception takes some fifteen of these."""
    name = f"{tenant_id}\x1f{exception_id}\x1f{event_type}\x1f{step}".encode()
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: ActorType
    id: str


class EventEnvelope(BaseModel):
    """One state change. ``payload["exception"]``, when present, is the exception's state after it."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    event_type: str
    tenant_id: str
    exception_id: str
    occurred_at: datetime
    actor: Actor
    schema_version: int = SCHEMA_VERSION
    payload: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def create(cls, *, event_type: str, tenant_id: str, exception_id: str, occurred_at: datetime,
               actor: Actor, payload: dict[str, Any], step: str = "") -> EventEnvelope:
        return cls(
            event_id=event_id_for(tenant_id, exception_id, event_type, step),
            event_type=event_type, tenant_id=tenant_id, exception_id=exception_id,
            occurred_at=occurred_at, actor=actor, payload=payload,
        )


class DecisionRecord(BaseModel):
    """What consumers of ``sentinai.decisions`` act on: one per stage outcome or later change."""

    event_id: str
    tenant_id: str
    exception_id: str
    stage: str
    decision: str
    confidence: float
    evidence: list[str]
    next_step: str
    exception_type: str | None
    severity: str | None
    status: str
    actionability: str | None
    approval_required: bool
    playbook_id: str | None
    source: Literal["rules", "llm", "llm_fallback"] = "rules"
    decided_at: datetime
