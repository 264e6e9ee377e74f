"""What an input to a playbook run asks the agents to do: the effects of ``sentinai.core.execution``.

Events to put in the input's transition, tool calls and notification deliveries to request,
notices to send, or a command to refuse. Plain frozen dataclasses: data, no behaviour but how a
notice's target may be shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sentinai.core.actor import Actor

NETWORK_CHANNELS = frozenset({"webhook"})
"""Channels delivered over HTTP (by the tools agent). Every other channel is written to the log:
there is no email, Slack, Teams or PagerDuty connector."""


@dataclass(frozen=True, slots=True)
class EmitEvent:
    """An event of the input's transition: `EventEnvelope.create(..., step=step, actor=actor)`.

    `version` is the exception's version after it, when the event changes the run (None for the
    SLA clock's events, which do not)."""

    event_type: str
    payload: dict[str, Any]
    step: str
    actor: Actor
    version: int | None = None


@dataclass(frozen=True, slots=True)
class RequestTool:
    """Send a tool request; the result comes back through `on_tool_result` with the same key."""

    step: int
    tool_name: str
    arguments: dict[str, Any]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Notify:
    """Deliver a message on a tenant channel (`log` when the tenant routes none).

    `kind` is what it is about: an event type, or `notify` for a playbook step. `key` is unique
    per exception, notice and target; a webhook's Idempotency-Key and the ids of its
    NotificationSent / NotificationFailed events derive from it.
    """

    channel: str
    target: str
    message: str
    kind: str
    key: str

    @property
    def shown_target(self) -> str:
        """The target as events and logs may show it: a webhook URL's path and query can hold
        its secret (Slack-style hook URLs do), so only its origin is shown."""
        if self.channel not in NETWORK_CHANNELS:
            return self.target
        try:
            url = urlsplit(self.target)
            host = url.hostname or ""
            port = url.port
        except ValueError:
            return "(not a URL)"
        return f"{url.scheme}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True, slots=True)
class RequestNotify:
    """Deliver a notify step's network notices; the result comes back through
    `on_notification_result` with the same key."""

    step: int
    attempt: int
    notices: tuple[Notify, ...]
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class RejectCommand:
    """The command cannot be applied now; the run did not change."""

    reason: str


Effect = EmitEvent | RequestTool | Notify | RequestNotify | RejectCommand
