"""Worker processes for integration and chaos tests: started, waited for, stopped or killed by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sentinai.settings import Settings

#: Shorter consumer-group timings for a worker, as faust reads them from its environment (they take
#: precedence over the App's own, sentinai/app.py: rebalance 5 s, session 10 s; heartbeat 1 s stays).
#: The broker holds every JoinGroup for the rebalance timeout, even a lone worker's, and a worker
#: killed with -9 stays in the group, and holds up the next assignment, until its session times out.
#: For tests whose workers join, leave or die mid-run: pass as ``env`` (to every worker of the group).
QUICK_GROUP = {"BROKER_REBALANCE_TIMEOUT": "2", "BROKER_SESSION_TIMEOUT": "6"}


def settings_env(settings: Settings, database_url: str) -> dict[str, str]:
    return {**os.environ, **settings.as_environment(), "SENTINAI_DATABASE_URL": database_url,
            "PYTHONUNBUFFERED": "1"}


class ServiceProcess:
    """``python -m sentinai <command>`` with the given settings; its log goes to a file."""

    command = ""

    def __init__(self, settings: Settings, database_url: str, log_path: Path, *,
                 env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.env = {**settings_env(settings, database_url), **(env or {})}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def is_ready(self, log_since_start: bytes) -> bool:
        raise NotImplementedError

    def start(self, *, wait_ready: float = 60.0) -> ServiceProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "sentinai", self.command], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + wait_ready
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited with {self.process.returncode}:\n{self.log_tail()}")
            with open(self.log_path, "rb") as log:
                log.seek(offset)
                if self.is_ready(log.read()):
                    return self
            time.sleep(0.2)
        raise TimeoutError(f"{self.command} not ready within {wait_ready}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to commit or flush."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)


class WorkerProcess(ServiceProcess):
    command = "worker"

    def is_ready(self, log_since_start: bytes) -> bool:
        return b"[^Worker]: Ready" in log_since_start


class WebProcess(ServiceProcess):
    command = "web"

    @property
    def url(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def is_ready(self, log_since_start: bytes) -> bool:
        try:
            with socket.create_connection((self.settings.web_host, self.settings.web_port), timeout=0.2):
                return True
        except OSError:
            return False


def stop_all(services: Iterable[ServiceProcess]) -> None:
    """Stop every one of them at once (each as ``stop`` does): workers of one group leave together
    instead of each one's departure rebalancing the others while they wait for their turn."""
    services = list(services)
    if services:
        with ThreadPoolExecutor(len(services)) as stopping:
            list(stopping.map(lambda service: service.stop(), services))
