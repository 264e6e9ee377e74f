"""The send benchmark runs against a real broker: its table and its `name: value` lines report the
same measurements, and it leaves faust as it found it (the corrections it installs come off)."""

from __future__ import annotations

import signal

import pytest

from sentinai import framework
from sentinai.bench import send as bench


def test_send_bench_reports_both_paths_consistently(broker_url: str, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTINAI_KAFKA_BROKER", broker_url)
    before = signal.getsignal(signal.SIGTERM)
    try:
        bench.main(["--n", "300", "--rounds", "1"])
    finally:
        signal.signal(signal.SIGTERM, before)  # the benchmark makes SIGTERM exit; pytest keeps its own
    assert framework.installed() == []
    lines = capsys.readouterr().out.splitlines()
    values = {name: float(value) for name, value in (line.split(": ") for line in lines if ": " in line)}
    assert set(values) == {"faust_send_cpu_us", "direct_send_cpu_us", "direct_vs_faust_send_ratio"}
    table = {" ".join(line.split()[:-2]): [float(v) for v in line.split()[-2:]] for line in lines[1:3]}
    assert set(table) == {"faust Topic.send", "DirectTopic.send"}
    assert table["faust Topic.send"] == [pytest.approx(values["faust_send_cpu_us"], abs=0.05)] * 2  # one round
    assert table["DirectTopic.send"] == [pytest.approx(values["direct_send_cpu_us"], abs=0.05)] * 2
    assert values["faust_send_cpu_us"] > 0 and values["direct_send_cpu_us"] > 0
    assert values["direct_vs_faust_send_ratio"] == pytest.approx(
        values["direct_send_cpu_us"] / values["faust_send_cpu_us"], abs=0.01)
