"""10,000 malformed messages mixed into valid traffic: no crash, each one dead-lettered with its
headers (topic and table), and the valid exceptions all decided and stored as if alone."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable

import pytest

from sentinai.settings import Settings
from sentinai.streams.dlq import PREFIX, STAGE, headers_dict
from tests.support.audit import assert_exactly_once, audit, wait_until_stored
from tests.support.db import fetch, wait_for
from tests.support.kafka import produce_positions
from tests.support.load import make_load
from tests.support.malformed import kind_counts, make_malformed
from tests.support.packs import activate
from tests.support.pipeline import PACKS, Pipeline
from tests.support.processes import QUICK_GROUP

pytestmark = pytest.mark.chaos

TENANTS, EXCEPTIONS, MALFORMED = 5, 1_000, 10_000
MAX_MESSAGE_BYTES = 65_536
DLQ_HEADERS = {f"{PREFIX}.topic", f"{PREFIX}.partition", f"{PREFIX}.offset", f"{PREFIX}.exception.class.name",
               f"{PREFIX}.exception.message", STAGE}


def test_malformed_messages_mixed_into_valid_traffic(make_settings: Callable[..., Settings],
                                                     pipeline_factory: Callable[[Settings], Pipeline]) -> None:
    started = time.monotonic()
    pipeline = pipeline_factory(make_settings(packs_dir=PACKS, topic_partitions=4,
                                              max_message_bytes=MAX_MESSAGE_BYTES))
    load = make_load(tenants=TENANTS, exceptions=EXCEPTIONS)
    activate(pipeline.database_url, load.tenants)
    bad = make_malformed(MALFORMED, known_tenants=[t["tenantId"] for t in load.tenants],
                         max_bytes=MAX_MESSAGE_BYTES)
    valid = [(key, json.dumps(value).encode()) for key, value in load.messages]
    mixed = [(True, m.key, m.value) for m in bad] + [(False, key, value) for key, value in valid]
    random.Random(5).shuffle(mixed)
    # valid messages keep their order per tenant (a re-sent duplicate must come after its original)
    valid_iter = iter(valid)
    mixed = [(is_bad, k, v) if is_bad else (False, *next(valid_iter)) for is_bad, k, v in mixed]

    worker = pipeline.start_worker(env=QUICK_GROUP)  # its join waits the rebalance timeout: shorter
    positions = produce_positions(pipeline.bootstrap, pipeline.topics.exceptions, [(k, v) for _, k, v in mixed])
    bad_positions = {pos for pos, (is_bad, _, _) in zip(positions, mixed, strict=True) if is_bad}
    url = pipeline.database_url

    wait_until_stored(pipeline, EXCEPTIONS, timeout=180)
    wait_for(url, "SELECT count(*) FROM dead_letters", until=lambda n: n >= MALFORMED, timeout=180)
    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    result = audit(pipeline, sent=len(mixed), expected=EXCEPTIONS)
    print(f"malformed: {dict(kind_counts(bad))}")
    print(f"malformed x{MALFORMED} + valid {len(valid)}: {result.line()} ({time.monotonic() - started:.0f}s)")

    assert_exactly_once(result, pipeline, load)
    assert result.dlq == MALFORMED
    in_dlq = set()
    for message in result.dlq_messages:
        headers = headers_dict(message.headers())
        assert DLQ_HEADERS <= headers.keys(), headers
        assert headers[f"{PREFIX}.topic"] == pipeline.topics.exceptions
        assert headers[STAGE] == "intake"
        in_dlq.add((int(headers[f"{PREFIX}.partition"]), int(headers[f"{PREFIX}.offset"])))
    assert in_dlq == bad_positions
    rows = fetch(url, "SELECT source_partition, source_offset, stage, error_class FROM dead_letters")
    assert {(r["source_partition"], r["source_offset"]) for r in rows} == bad_positions
    print(f"dead letters by error class: {dict(Counter(r['error_class'] for r in rows))}")
    assert "Traceback" not in worker.log_path.read_text(errors="replace")
