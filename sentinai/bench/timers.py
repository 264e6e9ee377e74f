"""Benchmark: CPU of one timer round over many retained states, a walk of every state against the due index.

``python -m sentinai.bench.timers [--states 100000] [--due-share 0.01] [--rounds 7]``

A faust app (not started) with the worker's two tables in memory, filled with retained exception
states (resolved ones inside the dedup window, open ones with SLA clocks, playbook runs waiting for
approval) and tool-call outcomes, of which ``--due-share`` fall due at the round's time. Each round
measures, in the process's CPU time:

- ``walk``: the timer as it was (until 2026-12-07): the owned states and tool calls copied out of
  the tables, then ``TimerScan.due`` over all of them;
- ``index``: the timer job (``sentinai.jobs.due_timers``): only what the due indexes say has come,
  read from the tables and given to ``TimerScan.due``;

both at the moment the due share comes due (``first``) and one round later, with those commands
still in flight (``next``). It also measures what the index costs while states are written: faust's
sensor call on a table write, with the job's sensor among the worker's sensors and without it
(its note of the new moment included), and on a message (the job's sensor does nothing there),
and rebuilding the index after a recovery.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any

import faust
from faust.types import TP
from faust.types.tuples import Message

from sentinai.jobs.due_timers import DueTimers, send_due_timers
from sentinai.jobs.timers import TimerScan
from sentinai.streams.direct_topic import DirectTopic
from sentinai.tables.exception_state import decided_state, state_key
from sentinai.tables.tool_calls import record

PARTITIONS = 8
WINDOW = 86_400.0
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ROUND = timedelta(seconds=5)


def _state(i: int, due: bool) -> dict[str, Any]:
    """A retained state: resolved in the window, open with an SLA clock, or waiting for approval."""
    moment = NOW - timedelta(seconds=1) if due else NOW + timedelta(minutes=10 + i % 600)
    state = decided_state(source=("t.exceptions", i % PARTITIONS, i), now_epoch=(NOW - timedelta(hours=2)).timestamp(),
                          status="RESOLVED", severity="HIGH", exception_type="SETTLEMENT_FAIL", playbook_id=None,
                          version=4)
    kind = i % 3
    if kind == 0:
        return state if not due else {**state, "first_seen": NOW.timestamp() - WINDOW - 1}
    if kind == 1:
        return {**state, "status": "TRIAGED", "sla": {"tenant_id": "acme", "exception_id": f"E-{i}",
                                                      "imminent_at": moment.isoformat(),
                                                      "deadline": (moment + timedelta(minutes=30)).isoformat()}}
    return {**state, "status": "PENDING_APPROVAL", "playbook_id": "sign-off",
            "run": {"steps": [{}, {}], "next_step": 0, "halted": None, "approval": "PENDING",
                    "approval_expires_at": moment.isoformat()}}


def _tables(states: int, due_share: float) -> tuple[faust.App, Any, Any]:
    app = faust.App(f"bench-timers-{uuid.uuid4().hex[:8]}", broker="kafka://127.0.0.1:1", store="memory://",
                    autodiscover=False, web_enabled=False)
    app.sensors.add(app.monitor)  # a worker's app adds it when it starts
    exceptions = app.Table("exception-state", default=None, partitions=PARTITIONS)
    calls = app.Table("tool-calls", default=None, partitions=PARTITIONS)
    every = round(1 / due_share)
    exceptions.raw_update({state_key("acme", f"E-{i}"): _state(i, i % every == 0) for i in range(states)})
    calls.raw_update({f"call-{i}": record({"status": "succeeded"}, tenant_id="acme", partition=i % PARTITIONS,
                                          now_epoch=NOW.timestamp() - (WINDOW + 1 if i % every == 0 else 60))
                      for i in range(states // 5)})
    return app, exceptions, calls


def _walk(exceptions: Any, calls: Any, owned: set[int]) -> Callable[[datetime], int]:
    """The round as the composition root ran it until this change."""
    scan = TimerScan(dedup_window_seconds=WINDOW)

    def one_round(now: datetime) -> int:
        states = {key: state for key, state in list(exceptions.items())
                  if state and state.get("source") and state["source"][1] in owned}
        entries = {key: entry for key, entry in list(calls.items()) if entry and entry.get("partition") in owned}
        return len(scan.due(states, now, entries))
    return one_round


async def _recovered(app: faust.App, tables: tuple[Any, ...]) -> float:
    """CPU seconds of faust's recovery-completed path, which rebuilds the indexes."""
    started = time.process_time()
    for table in tables:
        await table.on_recovery_completed({TP(table.changelog_topic_name, p) for p in range(PARTITIONS)}, set())
    return time.process_time() - started


def _cpu_ms(fn: Callable[[datetime], int], now: datetime) -> tuple[float, int]:
    gc.collect()  # the collector's pauses belong to whoever allocated before
    started = time.process_time()
    sent = fn(now)
    return (time.process_time() - started) * 1e3, sent


def _sensor_us(app: faust.App, table: Any, n: int) -> dict[str, float]:
    """µs per sensor call on a table write and on a message, as faust makes them."""
    values = [_state(i, False) for i in range(n)]
    message = Message("t.exceptions", 0, 0, 0.0, 0, {}, b"acme", b"{}", None)
    tp = TP("t.exceptions", 0)
    sensors = app.sensors
    started = time.process_time()
    for i, value in enumerate(values):
        sensors.on_table_set(table, f"w-{i}", value)
    write = (time.process_time() - started) / n * 1e6
    started = time.process_time()
    for i in range(n):
        sensors.on_message_in(tp, i, message)
    return {"write": write, "message": (time.process_time() - started) / n * 1e6}


async def _run(states: int, due_share: float, rounds: int, writes: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {name: [] for name in (
        "walk first", "walk next", "index first", "index next", "rebuild", "write with", "write without",
        "message with", "message without", "sent walk", "sent index")}
    owned = set(range(PARTITIONS))
    for _ in range(rounds):
        app, exceptions, calls = _tables(states, due_share)
        without = _sensor_us(app, exceptions, writes)
        timers = send_due_timers(app, states=exceptions, calls=calls, timers=DirectTopic(app, "t.timers"),
                                 dedup_window_seconds=WINDOW)
        results["rebuild"].append(await _recovered(app, (exceptions, calls)) * 1e3)
        walk = _walk(exceptions, calls, owned)

        def index(now: datetime, timers: DueTimers = timers) -> int:
            return len(timers.commands(now, owned))
        for name, fn in (("walk", walk), ("index", index)):
            first, sent = _cpu_ms(fn, NOW)
            results[f"{name} first"].append(first)
            results[f"sent {name}"].append(sent)
            results[f"{name} next"].append(_cpu_ms(fn, NOW + ROUND)[0])
        with_job = _sensor_us(app, exceptions, writes)
        for hook in ("write", "message"):
            results[f"{hook} with"].append(with_job[hook])
            results[f"{hook} without"].append(without[hook])
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.timers", description=__doc__.splitlines()[0])
    parser.add_argument("--states", type=int, default=100_000, help="retained exception states (default 100000)")
    parser.add_argument("--due-share", type=float, default=0.01, help="share due at the round (default 0.01)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds, each on fresh tables (default 7)")
    parser.add_argument("--writes", type=int, default=50_000, help="state writes timed per round (default 50000)")
    args = parser.parse_args(argv)
    results = asyncio.run(_run(args.states, args.due_share, args.rounds, args.writes))
    best = {name: min(values) for name, values in results.items()}
    print(f"{args.states} states, {args.states // 5} tool calls, {int(best['sent walk'])} commands due "
          f"({int(best['sent index'])} from the index)")
    print(f"{'measure':<18}{'best':>10}{'median':>10}")
    for name, values in results.items():
        if not name.startswith("sent"):
            unit = "ms" if name.split()[0] in ("walk", "index", "rebuild") else "us"
            print(f"{name:<18}{min(values):>8.2f}{unit}{median(values):>8.2f}{unit}")
    print()
    print(f"walk_round_cpu_ms: {best['walk first']:.2f}")
    print(f"index_round_cpu_ms: {best['index first']:.2f}")
    print(f"index_vs_walk_ratio: {best['index first'] / best['walk first']:.4f}")
    print(f"index_next_round_cpu_ms: {best['index next']:.2f}")
    print(f"rebuild_after_recovery_cpu_ms: {best['rebuild']:.1f}")
    print(f"walk_cpu_us_per_held_entry: {best['walk first'] * 1e3 / (args.states * 1.2):.2f}")
    print(f"index_cpu_us_per_write: {best['write with'] - best['write without']:.2f}")
    print(f"index_cpu_us_per_message: {best['message with'] - best['message without']:.3f}")


if __name__ == "__main__":
    main()
