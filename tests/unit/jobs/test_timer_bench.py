"""The timer benchmark runs, and its two rounds owe the same commands."""

from __future__ import annotations

import re

import pytest

from sentinai.bench import timers


def test_the_walk_and_the_index_send_the_same_commands(capsys: pytest.CaptureFixture[str]) -> None:
    timers.main(["--states", "3000", "--rounds", "1", "--writes", "200"])
    out = capsys.readouterr().out
    walk, index = map(int, re.search(r"(\d+) commands due \((\d+) from the index\)", out).groups())  # type: ignore[union-attr]
    assert walk == index > 0
    assert "index_vs_walk_ratio:" in out
