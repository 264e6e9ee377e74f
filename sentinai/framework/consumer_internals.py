"""What faust's consumer and the aiokafka consumer under it are doing, read from their private state.

Not a correction of faust's behaviour: the reads the stall watchdog (``sentinai.jobs.watchdog``)
needs to show a stall (docs/design.md, "The stall watchdog"), kept here because every one of them
is a private field of faust-streaming 0.15 (``Consumer._active_partitions``, ``_read_offset``,
``_acked``, ``_gap``, ``_unacked_messages``, the consumer thread's loop) or aiokafka 0.14 (the
fetcher's ``_records``/``_in_flight``, the coordinator's tasks, partition states). Every read is
best effort: a field that moved reads as ``<ErrorType>`` rather than failing the worker.

The input waiting, per partition, runs from the next offset the delivery filter
(``sentinai.framework.handled_offsets``) hands over to the broker's log end offset (ListOffsets)
or, where the fetcher saw a higher one, the high watermark of the last fetch (the embedded
broker's ListOffsets can lag behind: docs/design.md, "Tansu under-reports the end of a partition").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


def _safe(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception as err:  # diagnostics must never fail the worker
        return f"<{type(err).__name__}>"


def _head(offsets: list[int] | None) -> str | None:
    if not offsets:
        return None
    return f"{len(offsets)} from {min(offsets)} to {max(offsets)}"


def consumer_snapshot(app: Any) -> dict[str, Any]:
    """What faust's consumer and the aiokafka consumer under it are doing (read-only, best effort)."""
    consumer = app.consumer
    thread = getattr(consumer, "_thread", None)
    kafka = getattr(thread, "_consumer", None)
    fetcher = getattr(kafka, "_fetcher", None)
    coordinator = getattr(kafka, "_coordinator", None)
    subscriptions = getattr(kafka, "_subscription", None)
    snapshot: dict[str, Any] = {
        "faust.flow_active": _safe(lambda: consumer.flow_active),
        "faust.active_tps": _safe(lambda: len(consumer._active_partitions or ())),
        "faust.paused_tps": _safe(lambda: len(consumer._paused_partitions)),
        "faust.buffered_tps": _safe(lambda: len(consumer._buffered_partitions)),
        "faust.unacked": _safe(lambda: len(consumer._unacked_messages)),
        "faust.rebalancing": _safe(lambda: app.rebalancing),
        "faust.fetcher": _safe(lambda: app._fetcher.state),
        "thread.alive": _safe(lambda: thread._thread.is_alive()),
        "thread.queued_calls": _safe(lambda: thread.method_queue._queue.qsize()),
        "kafka.reassignment_in_progress": _safe(lambda: subscriptions.reassignment_in_progress),
        "kafka.assignment_active": _safe(lambda: subscriptions.subscription.assignment.active),
        "kafka.fetch_task_done": _safe(lambda: fetcher._fetch_task.done()),
        "kafka.buffered_records_tps": _safe(lambda: len(fetcher._records)),
        "kafka.fetches_in_flight": _safe(lambda: sorted(fetcher._in_flight)),
        "kafka.fetch_waiters": _safe(lambda: len(fetcher._fetch_waiters)),
        "kafka.generation": _safe(lambda: coordinator.generation),
        "kafka.rejoin_needed": _safe(lambda: coordinator._rejoin_needed_fut.done()),
        "kafka.heartbeat_task_done": _safe(lambda: coordinator._heartbeat_task.done()),
        "kafka.coordination_task_done": _safe(lambda: coordinator._coordination_task.done()),
    }
    partitions = {}
    for tp in _safe(lambda: sorted(consumer.assignment())) or []:
        if isinstance(tp, str) or "changelog" in tp.topic or "__assignor" in tp.topic:
            continue
        state = _safe(lambda tp=tp: subscriptions.subscription.assignment.state_value(tp))
        if consumer._read_offset.get(tp) is None and not _safe(lambda s=state: s.highwater):
            continue  # a partition that never had a message says nothing about a stall
        partitions[f"{tp.topic}:{tp.partition}"] = {
            "read": _safe(lambda tp=tp: consumer._read_offset.get(tp)),
            "committed": _safe(lambda tp=tp: consumer._committed_offset.get(tp)),
            "position": _safe(lambda s=state: s._position),
            "highwater": _safe(lambda s=state: s.highwater),
            "paused": _safe(lambda s=state: s.paused),
            "awaiting_reset": _safe(lambda s=state: s.awaiting_reset),
            "acked": _safe(lambda tp=tp: _head(consumer._acked.get(tp))),
            "gap": _safe(lambda tp=tp: [(i.begin, i.end) for i in sorted(consumer._gap.get(tp) or ())][:5]),
            "unacked": _safe(lambda tp=tp: sorted(m.offset for m in consumer._unacked_messages if m.tp == tp)[:5]),
        }
    snapshot["partitions"] = partitions
    return snapshot


def await_chain(awaitable: Any, *, depth: int = 12) -> list[str]:
    """Where a suspended coroutine waits, outermost first (asyncio's own dumps stop at the first frame)."""
    chain: list[str] = []
    while awaitable is not None and len(chain) < depth:
        frame = (getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
                 or getattr(awaitable, "gi_frame", None))
        if frame is not None:
            chain.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        awaitable = (getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None)
                     or getattr(awaitable, "gi_yieldfrom", None))
    return chain


async def consumer_thread_report(app: Any, *, timeout: float = 2.0) -> dict[str, Any]:
    """Is the consumer thread's event loop turning, and where does each of its tasks wait."""
    thread = app.consumer._thread
    loop = thread.thread_loop
    done = asyncio.run_coroutine_threadsafe(asyncio.sleep(0), loop)
    try:
        await asyncio.wait_for(asyncio.wrap_future(done), timeout)
        responsive = True
    except TimeoutError:
        responsive = False
    tasks = []
    for task in list(asyncio.all_tasks(loop)):  # read from another thread: best effort
        tasks.append(" > ".join(await_chain(task.get_coro())[-4:]))
    return {"thread.loop_responsive": responsive, "thread.tasks": sorted(tasks)}


async def waiting_input(app: Any, *, timeout: float = 5.0) -> dict[str, int] | None:
    """Messages on each of the worker's assigned input partitions past what it handed to the agents
    (``"topic:partition" → count``, partitions where none waits left out); None if unknown.

    The end of a partition is the broker's log end offset (ListOffsets) or, where the fetcher saw a
    higher one, the high watermark of the last fetch (the embedded broker's ListOffsets can lag
    behind). What was handed over ends at :func:`next_delivery`.
    """
    consumer = app.consumer
    tps = [tp for tp in consumer.assignment() if "changelog" not in tp.topic and "__assignor" not in tp.topic]
    if not tps:
        return {}
    try:
        ends = await asyncio.wait_for(consumer.highwaters(*tps), timeout)
    except Exception:  # a hung consumer thread is itself a stall: report unknown
        return None
    waiting = {}
    for tp in sorted(tps):
        end = max(ends.get(tp) or 0, _safe(lambda tp=tp: consumer.highwater(tp)) or 0)
        count = end - next_delivery(consumer, tp)
        if count > 0:
            waiting[f"{tp.topic}:{tp.partition}"] = count
    return waiting


def next_delivery(consumer: Any, tp: Any) -> int:
    """The offset of ``tp`` the consumer hands to an agent next.

    For the agents' topics, the delivery filter of ``sentinai.framework.handled_offsets`` knows it
    (after the last delivered, or where the seek went); before either, the committed offset.
    faust's read offset cannot tell: it holds the offset last delivered, but the committed offset
    (the next to deliver) after a seek, so a partition where nothing was delivered since would read
    as one message further on — one waiting message as none. Input an agent holds (the deferred
    lanes' waiting messages) was delivered, so it is not counted as waiting.
    """
    delivery = getattr(consumer, "_sentinai_delivery", None)
    expected = _safe(lambda: delivery._next.get(tp)) if delivery is not None else None
    if isinstance(expected, int):
        return expected
    return consumer._committed_offset.get(tp) or 0
