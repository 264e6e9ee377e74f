"""Correction: table writes of a batched agent go to the changelog partition of the wrong event.

faust-streaming 0.15 sends a table write to the changelog partition of the stream's *current
event*, which faust sets as each event is taken from the stream. An agent that takes a batch
(``Stream.noack_take``) and then handles its events one by one would write every table change of
the batch to the changelog partition of whichever event the stream took last; a tenant's table
key would then land on a changelog partition that another worker recovers after a rebalance.
faust offers no public way to say which event is being handled, so the LLM agent (and the
deferred agent's lanes, which handle events in tasks of their own) make each event current before
handling it, behind this function. No loss was measured for the partition itself: the agent has
done so since it was written.

Only faust's context variable is set (a task's own: set in a task, it holds for that task only),
not the stream's ``current_event`` attribute, which faust's private ``Stream._set_current_event``
also sets. ``Stream.noack_take``'s buffering reads that attribute to learn which event just
arrived, after it waited for the previous batch to be handled: with the attribute pointing at an
event of that batch, the new event was never buffered and the batch's event was buffered twice.
Measured: the LLM pipeline test's second tenant stalled for a minute, its request unacked and never
sent to the model, while the first tenant's request was sent twice (1 of 3 full test runs).
"""

from __future__ import annotations

import weakref

import faust.streams
from faust.types import EventT


def set_current_event(event: EventT) -> None:
    """Make ``event`` the one whose partition this task's table writes go to from now on.

    faust holds it weakly, as it does its own: the caller keeps the event while it handles it.
    """
    faust.streams._current_event.set(weakref.ref(event))
