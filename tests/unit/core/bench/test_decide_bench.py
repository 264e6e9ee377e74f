import pytest

from sentinai.bench import decide as bench


def test_bench_prints_a_table_and_name_value_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--count", "200", "--repeats", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["stage", "per", "second", "us", "each"]
    name, value = lines[-1].split(": ")
    assert name == "decisions_per_second" and int(value) > 0
