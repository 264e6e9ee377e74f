"""When each entry of a table next falls due, kept as the entries are written.

A timer that asks every entry of a table whether something is due pays for every entry on every
round, although few are due. This index holds each entry's next moment (a pure function of the
entry, e.g. :func:`sentinai.tables.exception_state.next_moment`) in a heap, so a round pays for
what came due, not for what is held. An entry whose moment has come stays *come* until it is
written again or removed: the timer asks it again each round (a command in flight changes nothing
until the act agent applies it), as it asked every entry before.

Table writes happen on the agents' path, so a write only marks its key (:meth:`touch`); the
round settles the marked keys from the table as it stands (:meth:`settle`), once per key however
often it was written since. A write pushes a new heap item and leaves the old one behind, stale; stale items are skipped when
they surface, and the heap is rebuilt from the live moments when stale ones outnumber them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Set
from heapq import heapify, heappop, heappush
from typing import Any

_SLACK = 1024
"""Stale heap items tolerated beyond the live ones before the heap is rebuilt."""


class DueIndex:
    """The keys of one table by due moment, and how many entries each partition holds."""

    def __init__(self, *, moment: Callable[[Any], float | None], partition: Callable[[Any], int | None]) -> None:
        self._moment = moment
        self._partition = partition
        self._at: dict[str, float] = {}  # key -> its moment, while that has not come
        self._heap: list[tuple[float, str]] = []  # (moment, key); stale when not the key's moment in _at
        self._come: set[str] = set()  # keys whose moment has come, until written or removed
        self._partitions: dict[str, int] = {}
        self._held: Counter[int] = Counter()
        self._touched: set[str] = set()  # written or removed since the last settle

    def touch(self, key: str) -> None:
        """The entry ``key`` was written or removed; :meth:`settle` reads what it is now."""
        self._touched.add(key)

    def settle(self, table: Mapping[str, Any]) -> None:
        """Note the touched entries as ``table`` holds them now (absent: removed)."""
        touched, self._touched = self._touched, set()
        for key in touched:
            value = table.get(key)
            if value is None:
                self.drop(key)
            else:
                self.note(key, value)

    def note(self, key: str, value: Any) -> None:
        """The entry ``key`` was written with ``value``."""
        self._move(key, self._partition(value))
        self._come.discard(key)
        moment = self._moment(value)
        if moment is None:
            self._at.pop(key, None)
        elif self._at.get(key) != moment:  # the same moment's heap item is still live
            self._at[key] = moment
            heappush(self._heap, (moment, key))
            if len(self._heap) > 2 * len(self._at) + _SLACK:
                self._compact()

    def drop(self, key: str) -> None:
        """The entry ``key`` was removed."""
        self._at.pop(key, None)
        self._come.discard(key)
        self._move(key, None)

    def rebuild(self, items: Iterable[tuple[str, Any]]) -> None:
        """Start again from these entries (the table's contents, e.g. after its recovery)."""
        self._at.clear()
        self._come.clear()
        self._partitions.clear()
        self._held.clear()
        self._touched.clear()
        for key, value in items:
            self._move(key, self._partition(value))
            moment = self._moment(value)
            if moment is not None:
                self._at[key] = moment
        self._compact()

    def due(self, now_epoch: float) -> list[str]:
        """The keys whose moment has come by ``now_epoch`` (those of earlier rounds included)."""
        heap, at = self._heap, self._at
        while heap and heap[0][0] <= now_epoch:
            moment, key = heappop(heap)
            if at.get(key) == moment:
                del at[key]
                self._come.add(key)
        return list(self._come)

    def held(self, partitions: Set[int]) -> int:
        """How many entries of these partitions the index holds."""
        return sum(self._held[p] for p in partitions)

    def _move(self, key: str, partition: int | None) -> None:
        """Count ``key`` under ``partition`` (None: under none) instead of where it was."""
        before = self._partitions.get(key)
        if before == partition:
            return
        if before is not None:
            self._held[before] -= 1
        if partition is None:
            del self._partitions[key]
        else:
            self._partitions[key] = partition
            self._held[partition] += 1

    def _compact(self) -> None:
        self._heap = [(moment, key) for key, moment in self._at.items()]
        heapify(self._heap)
