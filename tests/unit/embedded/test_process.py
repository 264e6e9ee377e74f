"""A benchmark or dev process ended with SIGTERM still stops the servers it started."""

from __future__ import annotations

import os
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


def test_sigterm_to_the_broker_command_stops_the_broker_it_started(tmp_path: Path) -> None:
    """`sentinai broker` runs the embedded broker as its child (in its own session, so a terminal's
    Ctrl-C reaches it only through the command): SIGTERM to the command stops that child too."""
    from sentinai.embedded.process import free_port

    env = {**os.environ, "SENTINAI_BROKER_PORT": str(free_port()), "SENTINAI_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-m", "sentinai", "broker"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    children: list[int] = []
    try:
        assert process.stdout is not None
        assert b"broker listening" in process.stdout.readline()
        children = [int(pid) for pid in
                    Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        assert children, "the broker command started no child"
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() for pid in children) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in children if Path(f"/proc/{pid}").exists()], "the broker outlived the command"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in children:
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
