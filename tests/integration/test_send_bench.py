"""The send benchmark runs against a real broker and prints its table and `name: value` lines."""

from __future__ import annotations

import signal

import pytest

from sentinai.bench import send as bench


def test_send_bench_compares_both_paths(broker_url: str, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTINAI_KAFKA_BROKER", broker_url)
    before = signal.getsignal(signal.SIGTERM)
    try:
        bench.main(["--n", "300", "--rounds", "1"])
    finally:
        signal.signal(signal.SIGTERM, before)  # the benchmark makes SIGTERM exit; pytest keeps its own
    lines = capsys.readouterr().out.splitlines()
    values = dict(line.split(": ") for line in lines if ": " in line)
    assert set(values) == {"faust_send_cpu_us", "direct_send_cpu_us", "direct_vs_faust_send_ratio"}
    assert all(float(v) > 0 for v in values.values())
    assert [line.split()[0] for line in lines[1:3]] == ["faust", "DirectTopic.send"]
