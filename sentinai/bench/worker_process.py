"""The worker the pipeline benchmark measures: one ``sentinai worker`` process, its CPU time and its
peak RSS, read from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sentinai.settings import Settings


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


class Worker:
    def __init__(self, settings: Settings, database_url: str, log: Path) -> None:
        env = {**os.environ, **settings.as_environment(), "SENTINAI_DATABASE_URL": database_url,
               "SENTINAI_LOG_LEVEL": "WARNING"}
        self.log = log
        with open(log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "sentinai", "worker"], env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> float:
        rss = peak_rss_mb(self.process.pid)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return rss
