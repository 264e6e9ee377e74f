"""Correction: a message a stream took and holds cannot be given back without acknowledging it.

Works around faust-streaming 0.15 ``faust.transport.consumer.Consumer.wait_empty``: before a
rebalance goes on (and before a worker stops) faust waits until every message a stream took is
acknowledged or gone from memory (``_unacked_messages`` is a weak set). An agent that holds messages
on purpose — the deferred lanes (``sentinai.agents.deferred``), each message until its
not-before time — would hold the whole group's rebalance for as long as its longest wait, and
dropping its own references is not enough: faust's stream iterator keeps the last message it read
(``Stream._py_aiter``'s ``channel_value``) until the next one arrives, which during a rebalance it
does not. Measured: a worker joining while one tenant's backlog waited 15 s was not in the group
after 20 s; faust's flight recorder showed the revoke stuck in ``Wait for streams...``.

:func:`release` gives such a message back: faust no longer waits for it (``wait_empty`` clears
messages marked ``acked`` from its wait), and since the consumer's ack bookkeeping is not touched
its offset is never counted as handled — the commit stays below it and the message is fetched
again by this worker after the seek, or by the partition's next owner.
"""

from __future__ import annotations

from faust.types import Message


def release(message: Message) -> None:
    """Stop faust waiting for ``message`` without acknowledging its offset."""
    message.acked = True
