"""The decide benchmark decides the messages it says it does, and its table and `name: value`
lines report the same rates."""

import json
import random

import pytest

from sentinai.bench import decide as bench
from sentinai.core.packs import load_pack_dir
from sentinai.samples import sample_exception

COUNT = 200


def test_bench_reports_what_it_measured_consistently(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--count", str(COUNT), "--repeats", "1", "--seed", "7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "per", "second", "us", "each"]
    rows = {}
    for line in lines[1:4]:
        *stage, per_second, us_each = line.split()
        rows[" ".join(stage)] = (float(per_second.replace(",", "")), float(us_each))
    assert list(rows) == ["decode+normalize+decide", "normalize (dict input)", "decide (normalized input)"]
    for per_second, us_each in rows.values():
        assert per_second > 0 and us_each == pytest.approx(1e6 / per_second, rel=0.01, abs=0.05)
    values = dict(line.split(": ") for line in lines[4:])
    assert int(values["decisions_per_second"]) == pytest.approx(rows["decode+normalize+decide"][0], abs=1)

    packs = load_pack_dir(bench.DEFAULT_PACKS)
    rng = random.Random(7)
    sent = [json.dumps(sample_exception(rng, packs)).encode() for _ in range(COUNT)]
    assert int(values["messages"]) == COUNT
    assert int(values["tenants"]) == len(packs.tenants)
    assert int(values["avg_message_bytes"]) == round(sum(map(len, sent)) / COUNT)
