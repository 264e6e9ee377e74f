"""Benchmark: what a faust worker costs before it decides anything — the floor under the pipeline.

    python -m sentinai.bench.faust_floor [--n 20000] [--partitions 8]

Starts an embedded broker (or uses SENTINAI_KAFKA_BROKER), preloads N exceptions of the pipeline
benchmark's mix, and runs over the same input:

* ``raw``: the pipeline benchmark's baseline, a plain aiokafka consume → decode → produce loop;
* ``faust bare, 1 out``: a faust worker with the same app settings but none of our corrections
  (``sentinai.framework``), its agent iterating faust's stream as faust acknowledges it; it
  decodes each input and sends one message, as the raw loop does;
* ``faust, 1 out``: the same with our corrections installed and the agent acknowledging each
  event once handled, as ``sentinai worker``'s agents do;
* ``faust, worker's traffic``: the same agent sending what the worker sends per exception — a
  transition-sized and a decision-sized message and one exception-state table write (its
  changelog) — without deciding anything;
* ``faust, worker's traffic, idle topics``: the same, with a second agent subscribed to eight
  empty topics, as many as the worker's agents read besides its input;
* ``batch loop, intake path``: no faust — the intake path itself (deciding included) in a plain
  aiokafka loop that takes the input in batches, with the worker's outputs and the sink's read
  back (``sentinai.bench.batch_intake``): what a batch consumer for intake would cost.

Each faust variant runs in its own process, which reports its rate from its first to its last
input and its CPU time over that span, per input (both threads); the batch loop runs in this
process, after them. The pipeline benchmark's worker
minus the worker-traffic variant is what SentinAI's own code costs; that variant is what any design
on a faust agent with these outputs costs at least (docs/performance.md, "The floor under the
pipeline").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sentinai.bench import workload
from sentinai.bench.batch_intake import KINDS, batch_intake
from sentinai.bench.raw_loop import create_topic, produce, raw_loop
from sentinai.embedded.process import exit_on_sigterm, free_port
from sentinai.settings import Settings, bootstrap_servers
from sentinai.streams import codec

PACKS = Path(__file__).resolve().parents[2] / "packs"
TRANSITION_BYTES = 4_000
DECISION_BYTES = 1_000
STATE_BYTES = 1_500
"""About what the worker publishes per exception on the benchmark mix (docs/performance.md)."""
IDLE_TOPICS = 8
"""The worker's agents read eight topics besides the input (deferred, DLQ, four command topics,
tool requests, LLM requests), idle in the benchmark: every fetch carries their partitions."""
VARIANTS = {
    "faust_bare_one_out": ("bare", 0),
    "faust_one_out": ("one", 0),
    "faust_worker_traffic": ("worker", 0),
    "faust_worker_traffic_idle_topics": ("worker", IDLE_TOPICS),
}
"""Each variant's name in the results: the agent's traffic, and how many idle topics it reads besides."""


def _serve(broker: str, source: str, n: int, partitions: int, traffic: str, app_id: str, idle_topics: int) -> None:
    """The faust worker of one variant (a child process): handle N inputs, report, exit."""
    import faust

    from sentinai import framework
    from sentinai.app import faust_app
    from sentinai.framework.acking import events_acked_when_handled
    from sentinai.garbage_collection import tune_for_worker
    from sentinai.streams.direct_topic import DirectTopic

    settings = Settings(kafka_broker=broker, app_id=app_id, topic_partitions=partitions,
                        data_dir=Path(tempfile.mkdtemp(prefix="faust-floor-")))
    if traffic == "bare":
        from sentinai.framework import fetch_wait

        fetch_wait.install(settings.fetch_max_wait_ms)  # the long-poll only: faust's 1.5 s would decide the rate
    else:
        framework.install_all(fetch_max_wait_ms=settings.fetch_max_wait_ms)
    app = faust_app(settings)
    topic = app.topic(source, partitions=partitions, key_serializer="raw", value_serializer="raw", internal=False)
    outputs = DirectTopic(app, f"{source}.{traffic}-out")
    decisions = DirectTopic(app, f"{source}.{traffic}-decisions")
    table = app.Table("floor-state", default=None, partitions=partitions)
    transition, decision = b"x" * TRANSITION_BYTES, b"y" * DECISION_BYTES
    state = {"run": "z" * STATE_BYTES}
    marks: dict[str, float] = {}
    handled = 0

    if idle_topics:
        idle = app.topic(*(f"{source}.idle-{i}" for i in range(idle_topics)), partitions=partitions,
                         key_serializer="raw", value_serializer="raw", internal=False)

        @app.agent(idle, name="idle", concurrency=1)
        async def idle_agent(stream: faust.StreamT) -> Any:
            async for _ in events_acked_when_handled(stream):
                yield None

    @app.agent(topic, name="floor", concurrency=1)
    async def floor_agent(stream: faust.StreamT) -> Any:
        nonlocal handled
        events = stream.events() if traffic == "bare" else events_acked_when_handled(stream)
        async for event in events:
            value = codec.loads(event.value)
            if traffic in ("bare", "one"):
                await outputs.send(key=event.key, value=event.value, partition=event.message.partition)
            else:
                await outputs.send(key=event.key, value=transition, partition=event.message.partition)
                await decisions.send(key=event.key, value=decision, partition=event.message.partition)
                table[f"{value['tenant_id']}/{value['exception_id']}"] = state
            handled += 1
            if handled == 1:
                marks["wall"], marks["cpu"] = time.perf_counter(), time.process_time()
            if handled == n:
                wall, cpu = time.perf_counter() - marks["wall"], time.process_time() - marks["cpu"]
                await app.producer.flush()  # every output delivered before the process ends
                report = json.dumps({"rate": (n - 1) / wall, "cpu_ms": 1000 * cpu / (n - 1)})
                os.write(1, report.encode() + b"\n")  # faust's worker redirects print() into its log
                os._exit(0)
            yield None

    worker = faust.Worker(app, loglevel="WARNING", quiet=True, override_logging=True)
    worker.spinner = None
    tune_for_worker()
    worker.execute_from_commandline()


def _variant(broker: str, source: str, n: int, partitions: int, traffic: str, idle_topics: int = 0
             ) -> dict[str, float]:
    argv = [sys.executable, "-m", "sentinai.bench.faust_floor", "--serve", "--broker", broker, "--source", source,
            "--n", str(n), "--partitions", str(partitions), "--traffic", traffic,
            "--app-id", f"floor-{uuid.uuid4().hex[:6]}",
            "--idle-topics", str(idle_topics)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=max(600, n / 20), check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"the {traffic} variant reported nothing (exit {done.returncode}): {done.stderr[-2000:]}")
    return json.loads(lines[-1])


def run(n: int, partitions: int, *, source: str | None = None) -> dict[str, float]:
    """The measurements; ``source`` names the input topic (the others are named after it)."""
    with ExitStack() as stack:
        broker = os.environ.get("SENTINAI_KAFKA_BROKER")
        if not broker:
            from sentinai.embedded.broker import EmbeddedBroker

            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sentinai-floor-")))
            broker = stack.enter_context(EmbeddedBroker(port=free_port(), log_dir=tmp)).url
        bootstrap = bootstrap_servers(broker)
        domains, docs, packs = workload.workload_packs(PACKS, 20, prefix="floor", quota=workload.UNTHROTTLED)
        source = source or f"floor{uuid.uuid4().hex[:6]}.in"
        messages = [(k, codec.dumps(v)) for k, v in workload.unique_exceptions(packs, [d["tenantId"] for d in docs], n)]
        for name in (source, *(f"{source}.{traffic}-{kind}" for traffic in ("bare", "one", "worker")
                               for kind in ("out", "decisions")),
                     *(f"{source}.batch-{kind}" for kind in KINDS),
                     *(f"{source}.idle-{i}" for i in range(IDLE_TOPICS))):
            asyncio.run(create_topic(bootstrap, name, partitions))
        asyncio.run(produce(bootstrap, source, messages))
        raw_rate = n / asyncio.run(raw_loop(bootstrap, source, source.split(".")[0], n, partitions))
        variants = {name: _variant(broker, source, n, partitions, traffic, idle_topics=idle)
                    for name, (traffic, idle) in VARIANTS.items()}
        variants["batch_loop_intake"] = asyncio.run(batch_intake(bootstrap, source, n, partitions, packs))
    results = {"raw_msgs_per_second": raw_rate}
    for name, measured in variants.items():
        results[f"{name}_msgs_per_second"] = measured["rate"]
        results[f"{name}_vs_raw_ratio"] = measured["rate"] / raw_rate
        results[f"{name}_cpu_ms_per_input"] = measured["cpu_ms"]
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.faust_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--broker", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--traffic", choices=("bare", "one", "worker"), help=argparse.SUPPRESS)
    parser.add_argument("--app-id", help=argparse.SUPPRESS)
    parser.add_argument("--idle-topics", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        _serve(args.broker, args.source, args.n, args.partitions, args.traffic, args.app_id, args.idle_topics)
        return 0
    exit_on_sigterm()
    results = run(args.n, args.partitions)
    for name, value in results.items():
        print(f"{name}: {value:.3f}" if "ratio" in name else f"{name}: {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
