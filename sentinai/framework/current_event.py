"""Correction: table writes of a batched agent go to the changelog partition of the wrong event.

faust-streaming 0.15 sends a table write to the changelog partition of the stream's *current
event*, which faust sets as each event is taken from the stream. An agent that takes a batch
(``Stream.noack_take``) and then handles its events one by one would write every table change of
the batch to the changelog partition of whichever event the stream took last; a tenant's table
key would then land on a changelog partition that another worker recovers after a rebalance.
faust offers no public way to say which event is being handled, so the LLM agent (and the
deferred agent's lanes, which handle events in tasks of their own) make each event current before
handling it through faust's private ``Stream._set_current_event``, behind this function. The
current event is a context variable: set in a task, it holds for that task only. No loss was measured here: the agent has done so since it was written.
"""

from __future__ import annotations

from faust.types import EventT, StreamT


def set_current_event(stream: StreamT, event: EventT) -> None:
    """Make ``event`` the one whose partition ``stream``'s table writes go to from now on."""
    stream._set_current_event(event)  # type: ignore[attr-defined]
