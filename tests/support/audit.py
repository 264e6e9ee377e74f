"""What a run left behind, counted from the outside, and the checks that nothing was lost or doubled.

Chaos and scale tests share this: they wait with :func:`wait_until_stored`, count with
:func:`audit` (which reads the decisions, events and DLQ topics with an independent client and
counts rows in Postgres), print :meth:`Audit.line`, and assert with :func:`assert_exactly_once`.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tests.support.db import fetch, fetchval, wait_for
from tests.support.kafka import STAGES, group_progress, read_all, record_stages, transition_events
from tests.support.load import Load
from tests.support.pipeline import Pipeline

#: Events every decided exception has exactly once (the others depend on the decision and its playbook).
EVERY_EXCEPTION_EVENTS = ("ExceptionNormalized", "TriageCompleted", "PolicyEvaluated")


@dataclass
class Audit:
    sent: int
    expected: int
    decided: int = 0
    decision_messages: int = 0
    redelivered: int = 0
    doubled: int = 0
    persisted: int = 0
    events_on_log: int = 0
    events_stored: int = 0
    dlq: int = 0
    dead_letters: int = 0
    stage_counts: Counter[str] = field(default_factory=Counter)
    decided_ids: set[tuple[str, str]] = field(default_factory=set, repr=False)
    log_event_ids: set[str] = field(default_factory=set, repr=False)
    dlq_messages: list[Any] = field(default_factory=list, repr=False)

    def line(self) -> str:
        return (f"sent={self.sent} expected={self.expected} decided={self.decided} "
                f"persisted={self.persisted} events_on_log={self.events_on_log} "
                f"events_stored={self.events_stored} dlq={self.dlq} dead_letters={self.dead_letters} "
                f"duplicates: redelivered_copies={self.redelivered} doubled_decisions={self.doubled}")


def wait_until_stored(pipeline: Pipeline, expected: int, *, timeout: float, load: Load | None = None,
                      positions: list[tuple[int, int]] | None = None) -> None:
    """Wait until ``expected`` exceptions have their row and their final status event.

    On timeout, prints where the consumer group stands on each input topic (committed offset and
    true end per partition) and, given the load and where each of its messages went, which
    exceptions are missing and how far each got: the first things to know about a stall.
    """
    url = pipeline.database_url
    try:
        wait_for(url, "SELECT count(*) FROM exceptions", until=lambda n: n >= expected, timeout=timeout)
        wait_for(url, "SELECT count(DISTINCT exception_id) FROM exception_events "
                      "WHERE event_type = 'ExceptionStatusChanged'", until=lambda n: n >= expected, timeout=timeout)
    except AssertionError:
        topics = pipeline.topics
        print("consumer group (committed, end) per partition:",
              group_progress(pipeline.bootstrap, pipeline.settings.app_id,
                             [topics.exceptions, topics.events, topics.dlq, topics.deferred]))
        if load is not None:
            explain_missing(pipeline, load, positions)
        raise


def _quiet_event_log(pipeline: Pipeline, *, timeout: float = 90.0) -> set[str]:
    """The event ids on the log once it is quiet: the sink has stored as many and nothing new came.

    Playbook steps and tool calls keep publishing for a while after the last decision, so a single
    read could race them.
    """
    deadline = time.monotonic() + timeout
    while True:
        ids = {event["event_id"] for _, event in transition_events(read_all(pipeline.bootstrap, pipeline.topics.events))}
        stored = fetchval(pipeline.database_url, "SELECT count(*) FROM exception_events")
        if stored == len(ids) or time.monotonic() > deadline:
            return ids
        time.sleep(1.0)


def explain_missing(pipeline: Pipeline, load: Load, positions: list[tuple[int, int]] | None) -> None:
    """Print, for exceptions without their final status event, where their input was and what reached the log."""
    done = {(r["tenant_id"], r["exception_id"]) for r in fetch(
        pipeline.database_url, "SELECT DISTINCT tenant_id, exception_id FROM exception_events "
                               "WHERE event_type = 'ExceptionStatusChanged'")}
    missing = load.exception_ids - done
    on_log: dict[tuple[str, str], list[str]] = defaultdict(list)
    for message in read_all(pipeline.bootstrap, pipeline.topics.events):
        record = json.loads(message.value())
        if (record["tenant_id"], record["exception_id"]) in missing:
            on_log[(record["tenant_id"], record["exception_id"])] += [
                f"{event['event_type']}@{message.partition()}:{message.offset()}" for event in record["events"]]
    where: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for index, (_, value) in enumerate(load.messages):
        ident = (value["tenant_id"], value["exception_id"])
        if ident in missing and positions is not None:
            where[ident].append(positions[index])
    print(f"{len(missing)} exceptions without ExceptionStatusChanged; inputs at (partition, offset):")
    for ident in sorted(missing, key=lambda i: where.get(i, [(0, 0)]))[:40]:
        print(f"  {ident}: input {where.get(ident)} events on the log {on_log.get(ident, [])}")


def audit(pipeline: Pipeline, *, sent: int, expected: int) -> Audit:
    """Count decisions, events and dead letters on the topics and in Postgres."""
    result = Audit(sent=sent, expected=expected)
    # The decisions and the event log are read side by side (each waits for its own quiet period),
    # the dead letters after both, as before.
    with ThreadPoolExecutor(2) as reads:
        decision_messages = reads.submit(read_all, pipeline.bootstrap, pipeline.topics.decisions)
        log_event_ids = reads.submit(_quiet_event_log, pipeline)
        records = [r for r in (json.loads(m.value()) for m in decision_messages.result())
                   if record_stages(r)]  # the decisions; records of later changes are per run
        result.log_event_ids = log_event_ids.result()
    ids_by_stage: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for record in records:
        for stage in record_stages(record):
            ids_by_stage[(record["tenant_id"], record["exception_id"], stage)].add(record["event_id"])
    result.decision_messages = len(records)
    result.redelivered = len(records) - len({r["event_id"] for r in records})
    result.doubled = sum(len(ids) - 1 for ids in ids_by_stage.values())
    result.decided_ids = {(tenant, exc) for tenant, exc, _ in ids_by_stage}
    result.decided = len(result.decided_ids)
    result.stage_counts = Counter(stage for _, _, stage in ids_by_stage)
    result.events_on_log = len(result.log_event_ids)
    result.dlq_messages = read_all(pipeline.bootstrap, pipeline.topics.dlq)
    result.dlq = len(result.dlq_messages)
    url = pipeline.database_url
    result.persisted = fetchval(url, "SELECT count(*) FROM exceptions")
    result.events_stored = fetchval(url, "SELECT count(*) FROM exception_events")
    result.dead_letters = fetchval(url, "SELECT count(*) FROM dead_letters")
    return result


def assert_exactly_once(result: Audit, pipeline: Pipeline, load: Load) -> None:
    """Every valid exception decided once per stage, stored once; every event stored; stats recount."""
    url = pipeline.database_url
    expected = load.exception_ids
    assert result.decided_ids == expected, (
        f"missing decisions for {len(expected - result.decided_ids)}, unexpected {len(result.decided_ids - expected)}")
    assert result.doubled == 0, f"{result.doubled} (exception, stage) pairs decided twice with different ids"
    assert result.stage_counts == {stage: len(expected) for stage in STAGES}
    assert result.persisted == len(expected)
    stored = {r["event_id"] for r in fetch(url, "SELECT event_id FROM exception_events")}
    assert stored == result.log_event_ids, (
        f"{len(result.log_event_ids - stored)} events on the log not stored, {len(stored - result.log_event_ids)} "
        f"stored events not on the log")
    for row in fetch(url, "SELECT event_type, count(*) AS n, count(DISTINCT exception_id) AS d "
                          "FROM exception_events GROUP BY event_type"):
        if row["event_type"] in EVERY_EXCEPTION_EVENTS:
            assert row["n"] == row["d"] == len(expected), dict(row)
    recount = {r["tenant_id"]: r["n"] for r in fetch(url, "SELECT tenant_id, count(*) AS n FROM exceptions GROUP BY 1")}
    assert recount == dict(load.per_tenant())

