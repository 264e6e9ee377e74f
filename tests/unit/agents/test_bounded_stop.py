"""A stop that hangs is cut short: the process leaves on its own, with a CRITICAL line saying why."""

from __future__ import annotations

import subprocess
import sys
import time

HANGING_STOP = """
from sentinai.framework.commit_guard import exit_unless_stopped
exit_unless_stopped(1.0, after="SIGTERM")
import time
time.sleep(30)  # a stop that never ends
"""


def test_a_hanging_stop_is_cut_short_after_the_grace() -> None:
    started = time.monotonic()
    process = subprocess.run([sys.executable, "-c", HANGING_STOP], capture_output=True, timeout=20)
    took = time.monotonic() - started
    assert process.returncode == 1 and took < 10
    assert "has not stopped 1 s after SIGTERM: exiting now" in process.stderr.decode()
