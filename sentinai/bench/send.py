"""Benchmark: CPU per message sent through faust's ``Topic.send`` and through ``DirectTopic.send``.

``python -m sentinai.bench.send [--n 20000] [--rounds 5] [--without-commit-guard]``

One faust producer, started on an embedded broker (or ``SENTINAI_KAFKA_BROKER``), with faust's
monitor sensor attached as in a worker. Each round sends N ~700-byte values to 8 partitions of a
fresh topic through each path in turn and flushes; the time is the process's CPU time (not wall
time, which this shared machine disturbs more), flush included, per message. An exception costs
the worker about fifteen sends. The commit guard is installed as in the worker;
``--without-commit-guard`` leaves it out, to measure what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import faust

from sentinai.embedded.process import exit_on_sigterm, free_port
from sentinai.framework import commit_guard, producer_lookup
from sentinai.settings import load_settings
from sentinai.streams.direct_topic import DirectTopic

PARTITIONS = 8
VALUE = b"x" * 700


async def _cpu_us_per_send(topic: Any, producer: Any, n: int) -> float:
    started = time.process_time()
    for i in range(n):
        await topic.send(key=b"tenant", value=VALUE, partition=i % PARTITIONS)
    await producer.flush()
    return (time.process_time() - started) / n * 1e6


async def _run(broker_url: str, n: int, rounds: int, *, guarded: bool = True) -> dict[str, list[float]]:
    producer_lookup.install()  # as the worker does
    if guarded:
        commit_guard.install()  # as the worker does: failed deliveries are recorded per batch
    try:
        return await _measure(broker_url, n, rounds)
    finally:
        commit_guard.uninstall()
        producer_lookup.uninstall()


async def _measure(broker_url: str, n: int, rounds: int) -> dict[str, list[float]]:
    app = faust.App(f"bench-send-{uuid.uuid4().hex[:8]}", broker=broker_url, web_enabled=False, producer_acks=-1,
                    topic_allow_declare=True)
    app.sensors.add(app.monitor)  # a worker's app adds it when it starts
    topic = app.topic(f"bench-send-{uuid.uuid4().hex[:8]}", partitions=PARTITIONS, key_serializer="raw",
                      value_serializer="raw", internal=False)
    await app.producer.start()
    try:
        await topic.maybe_declare()
        paths = {"faust Topic.send": topic, "DirectTopic.send": DirectTopic(app, topic.get_topic_name())}
        for path in paths.values():  # warm-up: metadata, connections, batches
            await _cpu_us_per_send(path, app.producer, 2_000)
        results: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(rounds):
            for name, path in paths.items():
                results[name].append(await _cpu_us_per_send(path, app.producer, n))
        return results
    finally:
        await app.producer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.send", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="messages per path and round (default 20000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, alternating the paths (default 5)")
    parser.add_argument("--without-commit-guard", action="store_true",
                        help="leave the commit guard out, to measure what it costs")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    with ExitStack() as stack:
        broker_url = load_settings().kafka_broker
        if broker_url is None:
            from sentinai.embedded.broker import EmbeddedBroker

            log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sentinai-bench-")))
            broker_url = stack.enter_context(EmbeddedBroker(port=free_port(), log_dir=log_dir)).url
        results = asyncio.run(_run(broker_url, args.n, args.rounds, guarded=not args.without_commit_guard))
    print(f"{'path':<20}{'best us/send':>14}{'median us/send':>16}")
    for name, values in results.items():
        print(f"{name:<20}{min(values):>14.1f}{sorted(values)[len(values) // 2]:>16.1f}")
    best = {name: min(values) for name, values in results.items()}
    print()
    print(f"faust_send_cpu_us: {best['faust Topic.send']:.1f}")
    print(f"direct_send_cpu_us: {best['DirectTopic.send']:.1f}")
    print(f"direct_vs_faust_send_ratio: {best['DirectTopic.send'] / best['faust Topic.send']:.2f}")


if __name__ == "__main__":
    main()
