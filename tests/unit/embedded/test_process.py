"""A benchmark or dev process ended with SIGTERM still stops the servers it started."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def test_sigterm_runs_finally_blocks_and_exits_143(tmp_path: Path) -> None:
    stopped = tmp_path / "stopped"
    ready = tmp_path / "ready"
    program = textwrap.dedent(f"""
        import pathlib, time
        from sentinai.embedded.process import exit_on_sigterm
        exit_on_sigterm()
        try:
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(60)
        finally:
            pathlib.Path({str(stopped)!r}).touch()  # where a server's stop() would run
    """)
    process = subprocess.Popen([sys.executable, "-c", program])
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the child did not start"
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 128 + signal.SIGTERM
        assert stopped.exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
