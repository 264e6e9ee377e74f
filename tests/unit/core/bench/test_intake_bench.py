"""The intake benchmark measures what the worker does: its records and state are the bytes that
`Outcomes.publish` sends and writes, and its table and `name: value` lines agree."""

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from sentinai.agents.effects import Effects
from sentinai.agents.outbox import Outbox
from sentinai.agents.outcomes import Outcomes
from sentinai.bench import intake as bench
from sentinai.bench import workload
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.sinks.backpressure import SinkGate
from sentinai.streams import codec, records
from sentinai.streams.direct_topic import DirectTopic
from sentinai.tables import exception_state

COUNT = 150
STAGES = ["intake path", "decode", "normalize", "decide", "records (with start)", "execution.start",
          "encode records", "state write", "run read back (act)"]


def test_bench_reports_what_it_measured_consistently(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--count", str(COUNT), "--repeats", "1", "--tenants", "4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "per", "second", "us", "each"]
    rows = {}
    for line in lines[1:1 + len(STAGES)]:
        *stage, per_second, us_each = line.split()
        rows[" ".join(stage)] = (float(per_second.replace(",", "")), float(us_each))
    assert list(rows) == STAGES
    for per_second, us_each in rows.values():
        assert per_second > 0 and us_each == pytest.approx(1e6 / per_second, rel=0.01, abs=0.05)
    values = dict(line.split(": ") for line in lines[1 + len(STAGES):])
    assert float(values["intake_us_per_exception"]) == pytest.approx(rows["intake path"][1], abs=0.05)
    assert int(values["exceptions"]) == COUNT
    assert int(values["tenants"]) == 4
    assert 0 < int(values["runs_started"]) < COUNT  # the sample mix has exceptions without a playbook


class _Producer:
    """Where the agents' DirectTopics send: kept, per topic, in order."""

    def __init__(self) -> None:
        self.sent: dict[str, list[bytes]] = {}

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int | None,
                   timestamp: float | None, headers: Any) -> None:
        self.sent.setdefault(topic, []).append(value)


def test_bench_encodes_and_stores_what_outcomes_publish_sends_and_writes() -> None:
    _, docs, pack_set = workload.workload_packs(bench.PACKS, 4, prefix="bench", quota=workload.UNTHROTTLED)
    producer = _Producer()
    app: Any = SimpleNamespace(producer=producer)
    table: dict[str, Any] = {}
    outcomes = Outcomes(outbox=Outbox(DirectTopic(app, "events"), DirectTopic(app, "decisions"), SinkGate(high_water=10**9)),
                        effects=Effects(DirectTopic(app, "tools")), exceptions_table=table, tenants_table={},
                        gate=SinkGate(high_water=10**9))
    now = datetime.now(UTC)
    tenants = [d["tenantId"] for d in docs]
    with_run = 0
    for offset, (key, raw) in enumerate(workload.unique_exceptions(pack_set, tenants, 40)):
        message = codec.dumps(raw)
        exception = normalize(codec.loads(message), now=now, known_tenants=pack_set.tenants, key_tenant=key.decode())
        packs = pack_set.for_tenant(exception.tenant_id)
        assert packs is not None
        outcome = decide(exception, packs, now=now)
        source = (bench.SOURCE_TOPIC, 0, offset)
        asyncio.run(outcomes.publish(exception, outcome, packs, source=source, partition=0,
                                     occurrence=exception_state.occurrence_for(None, source, now_epoch=now.timestamp()),
                                     now=now))
        result = records.decided(exception, outcome, packs, now=now, occurrence=bench.first_occurrence(source, now))
        transition_bytes, decision_bytes = bench.encoded(exception, outcome, result, source, now)
        assert producer.sent["events"][-1] == transition_bytes
        assert producer.sent["decisions"][-1] == decision_bytes
        stored = table[exception_state.state_key(exception.tenant_id, exception.exception_id)]
        assert bench.state_bytes(outcome, result, packs, source, now) == bench.TABLE_CODEC.dumps(stored)
        read_back = bench.run_read_back(bench.TABLE_CODEC.dumps(stored))
        assert read_back == result.run
        with_run += read_back is not None
    assert 0 < with_run < 40
