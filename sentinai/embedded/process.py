"""A child server process that we start, wait for on a TCP port, and stop by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path


class PortInUse(RuntimeError):
    """The port a server should listen on is taken by another process."""


def exit_on_sigterm() -> None:
    """Make SIGTERM raise SystemExit in this process, so that its ``with`` and ``finally`` blocks
    stop the servers it started (by default SIGTERM ends Python at once and orphans them)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port the OS reports free right now (for tests and ephemeral servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before listening on {host}:{port}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {host}:{port} within {timeout:.0f}s")


class ServerProcess:
    """Owns one child process: started in its own session so a terminal's Ctrl-C reaches only us."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, *, user: str | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.user = user
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self, host: str, port: int, timeout: float = 30.0) -> None:
        if not port_is_free(host, port):
            raise PortInUse(f"{self.name}: port {host}:{port} is already in use by another process")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, user=self.user,
            )
        finally:
            log.close()
        try:
            wait_for_port(host, port, timeout, self.process)
        except Exception:
            self.stop()
            raise

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def wait(self) -> int | None:
        return self.process.wait() if self.process is not None else None

    def kill(self) -> None:
        """SIGKILL, as a crash would (for chaos tests)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None
