"""Correction: commits over messages nobody handled, around a rebalance.

Corrects faust-streaming 0.15 ``faust.transport.consumer.Consumer`` (``__init__``,
``_wait_next_records``, ``perform_seek``, ``_new_offset``). faust remembers the last offset it
handed to the agents per partition (the *read offset*) and (a) drops a fetched message below it as
already seen, and (b) takes a jump above it for a gap left by compaction or transaction markers
and counts the skipped offsets as acked. Around a rebalance neither holds: the read offset is
reset to the committed offset while records fetched before that seek are still being delivered
(so "gaps" of offsets that are in fact in flight appear after every seek), and the previous
assignment's fetch loop can leave a stale read offset behind (so the re-fetch from the committed
offset is dropped). On top, the commit refuses to skip an unacked head only when it is longer than
one offset, a never-committed partition is not sought at all, and a fetched batch is filtered at
delivery by the partitions active *then* (a pause or an agent's full queue in between drops the
rest while the client's position has moved past them).

Measured loss (docs/design.md, "Scale-down lost the tail of an exception's events"): one
exception of 6,000 without its ``ExceptionStatusChanged`` row in ~1 run in 5 of the 1 → 2 → 1
scale test, its offsets committed; a restarted worker sitting on a tool request nobody had
committed in ~1 run in 10 of the playbook test; a stall in the PostgreSQL-outage test.

Offsets of an input topic are not always contiguous: an outside producer's transactions leave
markers at offsets that are never delivered. Hence:

* no read offsets for acked topics (no faust drops, no gaps); :class:`InOrderDelivery`, told
  where each seek went, hands each partition over once, in order and without holes (the tenant
  stats' idempotence relies on order);
* a commit never moves past the committed position unless the message there was acked or its
  offset is known to hold none (a hole after it, seen in a fetch made after the last seek): a
  message that never arrives stalls the partition (the watchdog reports it) instead of being
  committed over;
* every fetched record is delivered; pausing is for what is fetched next, not for what was
  fetched.

Changelog topics (not acked, read by table recovery) keep faust's behaviour.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from sentinai.framework.patching import Patches

_patches = Patches()


class ReadOffsets(dict):  # type: ignore[type-arg]
    """faust's per-partition read offsets, but unknown (None) for topics whose offsets are acked.

    With no read offset, faust neither drops a fetched message as already read nor takes a jump
    in offsets for a compaction gap (whose offsets it would count as acked).
    """

    def __init__(self, acks_enabled_for: Callable[[str], bool]) -> None:
        super().__init__()
        self._acks_enabled_for = acks_enabled_for

    def __missing__(self, tp: Any) -> None:
        return None

    def __getitem__(self, tp: Any) -> Any:
        if self._acks_enabled_for(tp.topic):
            return None
        return super().__getitem__(tp)


class InOrderDelivery:
    """Hands the fetched messages of acked topics to the agents once each, in offset order and
    without holes, per consumer generation, also across the seek that follows every rebalance.

    Per partition it knows the next offset to deliver: the one after the last delivered, or, after
    a seek to the committed offset (:meth:`seeked`), that offset. Anything else is dropped: below
    it, a re-fetch of what was delivered; above it, a record fetched before the seek (or after a
    hole), which the fetch from the expected offset brings again, in order. The first message of a
    generation on a partition that was not sought is taken as it comes. Records of an earlier
    generation, still trickling out of the fetch loop after a rebalance, are passed through
    untracked (the streams skip them unacked; the new generation fetches them again).

    Offsets may have holes: a transactional producer's commit and abort markers take offsets that
    are never delivered (and compaction removes records). A record above the expected offset in a
    batch whose fetch started after the last seek came from the expected position, so the offsets
    between hold no message: they are counted as handled (``absent``) and the record is delivered.
    A record above it in a batch fetched before the last seek is dropped: the fetch from the
    sought offset brings it again, in order.
    """

    def __init__(self, deliver: Callable[[Any], Awaitable[None]],
                 acks_enabled_for: Callable[[str], bool],
                 absent: Callable[[Any, int, int], None] = lambda tp, begin, end: None) -> None:
        self._deliver = deliver
        self._acks_enabled_for = acks_enabled_for
        self._absent = absent
        self._generation: int | None = None
        self._next: dict[Any, int] = {}
        self._seek_done = asyncio.Event()
        self._seek_done.set()
        self.epoch = 0  # seeks done so far
        self.batch_epoch = 0  # the epoch when the fetch of the batch being delivered started

    def _enter(self, generation: int | None) -> bool:
        """Track ``generation`` from now on if it is newer; False for a stale one."""
        if generation == self._generation:
            return True
        if self._generation is not None and generation is not None and generation < self._generation:
            return False
        self._generation, self._next = generation, {}
        return True

    def seeking(self) -> None:
        """A seek to the committed offsets starts: deliveries wait until :meth:`seeked` says where it went."""
        self._seek_done.clear()

    def seeked(self, positions: Mapping[Any, int], *, generation: int | None) -> None:
        """The consumer sought these partitions to these offsets: each one's next delivery."""
        if self._enter(generation):
            for tp, offset in positions.items():
                if self._acks_enabled_for(tp.topic):
                    self._next[tp] = offset
        self.epoch += 1
        self._seek_done.set()

    async def __call__(self, message: Any) -> None:
        if not self._acks_enabled_for(message.topic):
            await self._deliver(message)
            return
        await self._seek_done.wait()
        if not self._enter(message.generation_id):
            await self._deliver(message)  # stale: the stream skips it; nothing to track
            return
        expected = self._next.get(message.tp)
        if expected is not None and message.offset != expected:
            if message.offset < expected or self.batch_epoch != self.epoch:
                return  # a re-fetch of what was delivered, or fetched before the last seek
            # fetched after it, from the expected offset: the offsets between hold no message
            # (a producer's transaction markers, or compaction), and count as handled
            self._absent(message.tp, expected, message.offset)
        await self._deliver(message)
        self._next[message.tp] = message.offset + 1  # after: a delivery cut off by a rebalance is not counted


def _acks_enabled_for(consumer: Any, topic: str) -> bool:
    return bool(consumer.app.topics.acks_enabled_for(topic))


def _absent(consumer: Any, tp: Any, begin: int, end: int) -> None:
    """Offsets ``[begin, end)`` of ``tp`` hold no message: faust's gap bookkeeping counts them as
    acked when it next computes the offset to commit."""
    consumer._gap[tp].addi(begin, end)


def install() -> None:
    """Make the consumer hand every message of the agents' topics to them, in order, and commit
    only offsets that were handled, contiguously from the committed position (idempotent)."""
    from faust.transport.consumer import Consumer, ensure_TP

    if _patches.installed:
        return
    init = Consumer.__init__
    new_offset = Consumer._new_offset
    wait_next_records = Consumer._wait_next_records

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self._read_offset = ReadOffsets(functools.partial(_acks_enabled_for, self))
        self.callback = self._sentinai_delivery = InOrderDelivery(
            self.callback, functools.partial(_acks_enabled_for, self), functools.partial(_absent, self))

    async def perform_seek(self: Any) -> None:
        """faust's seek to the committed offsets, telling the delivery filter where each partition went.

        A partition of ours that was never committed is sought to its first offset: the client
        leaves it wherever it is, and a record fetched before and lost (cleared with the agents'
        queues when flow resumes) would never come again — a restarted worker stalled on a tool
        request nobody had committed yet. Its first offset is its committed position from then on,
        so the commit guard holds there too.
        """
        delivery: InOrderDelivery = self._sentinai_delivery
        committed: Mapping[Any, int | None] = {}
        positions: dict[Any, int] = {}
        delivery.seeking()
        try:
            committed = await self.seek_to_committed()
            positions = {tp: offset for tp, offset in committed.items() if offset}
            never = [tp for tp, offset in committed.items()
                     if not offset and _acks_enabled_for(self, tp.topic)]
            if never:
                first = await self.earliest_offsets(*never)
                for tp in never:
                    positions[tp] = first.get(tp) or 0
                    await self._seek(tp, positions[tp])
        finally:
            delivery.seeked(positions, generation=self.app.consumer_generation_id)
        self._read_offset.update({tp: offset if offset is not None and offset >= 0 else None
                                  for tp, offset in committed.items()})
        self._committed_offset.update({ensure_TP(tp): offset or None
                                       for tp, offset in committed.items() if offset is not None})
        # where each of our partitions starts, also one never committed (faust leaves it None, and
        # then committed over a message that was not handled: one whose dead letter could not be sent)
        self._committed_offset.update({ensure_TP(tp): offset for tp, offset in positions.items()
                                       if _acks_enabled_for(self, tp.topic)})

    @functools.wraps(new_offset)
    def _new_offset(self: Any, tp: Any) -> int | None:
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and min(acked) > committed and not self._gap[tp].overlaps(committed):
            return None  # the message at the committed position is not handled yet
        return new_offset(self, tp)

    async def _wait_next_records(self: Any, timeout: float) -> tuple[Any, None]:
        delivery: InOrderDelivery = self._sentinai_delivery
        epoch = delivery.epoch  # a batch fetched from here on comes from where the last seek went
        records, _active = await wait_next_records(self, timeout)
        delivery.batch_epoch = epoch
        return records, None  # no active-partition filter at delivery: deliver all that was fetched

    _patches.replace(Consumer, "__init__", __init__)
    _patches.replace(Consumer, "_wait_next_records", _wait_next_records)
    _patches.replace(Consumer, "perform_seek", perform_seek)
    _patches.replace(Consumer, "_new_offset", _new_offset)


def uninstall() -> None:
    """Give faust its own consumer bookkeeping back (for consumers made from now on)."""
    _patches.undo()
