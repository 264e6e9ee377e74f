"""CPU per exception of the intake path, without Kafka: what the worker's intake agent computes.

    python -m sentinai.bench.intake [--count N] [--tenants T] [--seed S] [--repeats R]

decode → normalize → decide → the decision's records (events, the playbook run started, the
snapshot) → the transition and the decision record encoded → the exception's state, as
``Outcomes.publish`` writes it into the table, serialized by the tables' codec. The
messages are the pipeline benchmark's (``sentinai.bench.workload``: tenants cloned from the sample
packs, tools offline). Each stage is also timed alone over the previous stage's outputs; "run read
back (act)" is what the act agent pays for the state later, not part of the intake path. The
prepared inputs are frozen out of the garbage collector's reach (``gc.freeze``): otherwise every
collection walks them, and a stage's time depends on how many objects the others left alive.

Prints a table of stages, then `name: value` lines (the last is `intake_us_per_exception`).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from faust.serializers import codecs

from sentinai.bench import workload
from sentinai.bench.stages import print_stages, rate
from sentinai.core import execution
from sentinai.core.engine import decide
from sentinai.core.models import DecisionOutcome, NormalizedException
from sentinai.core.normalize import normalize
from sentinai.core.occurrence import Occurrence
from sentinai.core.packs import TenantPacks
from sentinai.core.run import PlaybookRun
from sentinai.core.sla import start_clock
from sentinai.streams import codec, records
from sentinai.streams.decision import decision_record
from sentinai.streams.transition import transition
from sentinai.tables import codec as table_codec
from sentinai.tables import exception_state

PACKS = Path(__file__).resolve().parents[2] / "packs"
TABLE_CODEC = codecs.get_codec(table_codec.NAME)
"""What the worker's tables write their changelog with (``sentinai.tables.codec``)."""

SOURCE_TOPIC = "sentinai.exceptions"


def encoded(exception: NormalizedException, outcome: DecisionOutcome, result: records.Decided,
            source: tuple[str, int, int], now: datetime) -> tuple[bytes, bytes | None]:
    """The transition and the decision record as ``Outbox.publish`` sends them."""
    record = transition(tenant_id=exception.tenant_id, exception_id=exception.exception_id, events=result.events,
                        snapshot=result.snapshot, source=source)
    if not result.stages:
        return record.encode(), None
    decision = decision_record(tenant_id=exception.tenant_id, exception_id=exception.exception_id,
                               transition_id=record.transition_id, decided_at=now, snapshot=result.snapshot,
                               stages=result.stages, approval_required=outcome.approval_required,
                               actionability=records.actionability(outcome),
                               source=records.decision_source(outcome))  # type: ignore[arg-type]
    return record.encode(), decision.encode()


def state_bytes(outcome: DecisionOutcome, result: records.Decided, packs: TenantPacks,
                source: tuple[str, int, int], now: datetime) -> bytes:
    """The exception's state as ``Outcomes.publish`` puts it into the table, as its changelog carries it."""
    snapshot = result.snapshot
    state = exception_state.decided_state(
        source=source, now_epoch=now.timestamp(), status=snapshot["status"], severity=outcome.severity.value,
        exception_type=outcome.exception_type, playbook_id=outcome.playbook_id, version=snapshot["version"],
        sla=start_clock(outcome, packs, now), occurrence=first_occurrence(source, now).key)
    written = state if result.run is None else exception_state.with_run(state, result.run)
    return TABLE_CODEC.dumps(written)


def first_occurrence(source: tuple[str, int, int], now: datetime) -> Occurrence:
    """The occurrence intake gives an exception id it has not seen (``exception_state.occurrence_for``)."""
    return Occurrence.started_by(source, first_seen=now.timestamp())


def run_read_back(data: bytes) -> PlaybookRun | None:
    """What the act agent makes of the stored state: the playbook run, when there is one."""
    state = TABLE_CODEC.loads(data)
    return exception_state.run_of(state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sentinai.bench.intake")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    _, docs, pack_set = workload.workload_packs(PACKS, args.tenants, prefix="bench", quota=workload.UNTHROTTLED)
    tenant_ids = [d["tenantId"] for d in docs]
    messages = [(key.decode(), codec.dumps(raw))
                for key, raw in workload.unique_exceptions(pack_set, tenant_ids, args.count, seed=args.seed)]
    sources = [(SOURCE_TOPIC, 0, offset) for offset in range(args.count)]
    known = pack_set.tenants
    compiled: dict[str, Any] = {tenant: pack_set.for_tenant(tenant) for tenant in known}
    now = datetime.now(UTC)

    decoded = [codec.loads(message) for _, message in messages]
    normalized = [normalize(raw, now=now, known_tenants=known, raw_size=len(message), key_tenant=key)
                  for raw, (key, message) in zip(decoded, messages, strict=True)]
    outcomes = [decide(exception, compiled[exception.tenant_id], now=now) for exception in normalized]
    bases = [len(records.outcome_events(o.exception, o, now=now)) for o in outcomes]
    results = [records.decided(e, o, compiled[e.tenant_id], now=now, occurrence=first_occurrence(s, now))
               for e, o, s in zip(normalized, outcomes, sources, strict=True)]
    states = [state_bytes(o, r, compiled[o.exception.tenant_id], s, now)
              for o, r, s in zip(outcomes, results, sources, strict=True)]
    gc.collect()
    gc.freeze()

    def full() -> None:
        for (key, message), source in zip(messages, sources, strict=True):
            exception = normalize(codec.loads(message), now=now, known_tenants=known, raw_size=len(message),
                                  key_tenant=key)
            packs = compiled[exception.tenant_id]
            outcome = decide(exception, packs, now=now)
            result = records.decided(exception, outcome, packs, now=now, occurrence=first_occurrence(source, now))
            encoded(exception, outcome, result, source, now)
            state_bytes(outcome, result, packs, source, now)

    def decode_only() -> None:
        for _, message in messages:
            codec.loads(message)

    def normalize_only() -> None:
        for raw, (key, message) in zip(decoded, messages, strict=True):
            normalize(raw, now=now, known_tenants=known, raw_size=len(message), key_tenant=key)

    def decide_only() -> None:
        for exception in normalized:
            decide(exception, compiled[exception.tenant_id], now=now)

    def records_only() -> None:
        for exception, outcome, source in zip(normalized, outcomes, sources, strict=True):
            records.decided(exception, outcome, compiled[exception.tenant_id], now=now,
                            occurrence=first_occurrence(source, now))

    def start_only() -> None:
        for outcome, base in zip(outcomes, bases, strict=True):
            execution.start(outcome, compiled[outcome.exception.tenant_id], now=now, base_version=base)

    def encode_only() -> None:
        for exception, outcome, result, source in zip(normalized, outcomes, results, sources, strict=True):
            encoded(exception, outcome, result, source, now)

    def state_only() -> None:
        for outcome, result, source in zip(outcomes, results, sources, strict=True):
            state_bytes(outcome, result, compiled[outcome.exception.tenant_id], source, now)

    def read_back_only() -> None:
        for data in states:
            run_read_back(data)

    count, repeats = args.count, args.repeats

    def cpu_rate(run: Callable[[], None]) -> float:
        return rate(run, count, repeats, clock=time.process_time)

    rows = [
        ("intake path", cpu_rate(full)),
        ("decode", cpu_rate(decode_only)),
        ("normalize", cpu_rate(normalize_only)),
        ("decide", cpu_rate(decide_only)),
        ("records (with start)", cpu_rate(records_only)),
        ("execution.start", cpu_rate(start_only)),
        ("encode records", cpu_rate(encode_only)),
        ("state write", cpu_rate(state_only)),
        ("run read back (act)", cpu_rate(read_back_only)),
    ]
    print_stages(rows, width=24)
    print(f"exceptions: {count}")
    print(f"tenants: {len(known)}")
    print(f"runs_started: {sum(r.run is not None for r in results)}")
    print(f"avg_events_per_exception: {sum(len(r.events) for r in results) / count:.2f}")
    print(f"avg_state_bytes: {sum(map(len, states)) / count:.0f}")
    print(f"intake_us_per_exception: {1e6 / rows[0][1]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
