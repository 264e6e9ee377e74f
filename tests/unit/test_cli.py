"""The command line refuses bad arguments with argparse's usage line and exit code 2."""

from __future__ import annotations

import pytest

from sentinai.cli import main


@pytest.mark.parametrize("rate", ["0", "-1", "nan"])
def test_demo_refuses_a_rate_that_is_not_above_zero(rate: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--rate", rate, "--count", "1"])
    assert stopped.value.code == 2
    assert f"argument --rate: invalid positive value: '{rate}'" in capsys.readouterr().err
