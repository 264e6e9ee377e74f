"""The embedded PostgreSQL: the server binaries shipped in the ``pgserver`` wheel.

We run ``postgres`` ourselves (not ``pg_ctl``) so that we own its PID and can stop, kill and
restart it (the chaos tests do). As root, PostgreSQL refuses to run, so it runs as the system user
that pgserver creates for that purpose.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path
from types import TracebackType

from sentinai.embedded.process import ServerProcess


def _pgserver():  # type: ignore[no-untyped-def]
    try:
        with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR on import
            warnings.simplefilter("ignore")
            from pgserver import _commands, utils
    except ImportError as err:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the embedded PostgreSQL needs the 'embedded' extra (pip install 'sentinai[embedded]') "
            "or SENTINAI_DATABASE_URL pointing at a PostgreSQL server"
        ) from err
    return _commands, utils


class EmbeddedPostgres:
    """A PostgreSQL server with its data under ``data_dir``, listening on 127.0.0.1:``port``."""

    database = "sentinai"

    def __init__(self, data_dir: Path, *, host: str = "127.0.0.1", port: int = 5433) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.port = port
        self._commands, self._utils = _pgserver()
        self._user = "pgserver" if os.geteuid() == 0 else None
        postgres = self._commands.POSTGRES_BIN_PATH / "postgres"
        self._server = ServerProcess(
            "embedded PostgreSQL",
            [str(postgres), "-D", str(self.data_dir / "pgdata"), "-h", host, "-p", str(port),
             "-k", str(self.data_dir), "-c", "fsync=off", "-c", "max_connections=200"],
            self.data_dir / "postgres.log",
            user=self._user,
        )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def pid(self) -> int | None:
        return self._server.pid

    def _prepare(self) -> None:
        pgdata = self.data_dir / "pgdata"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            import pwd

            self._utils.ensure_user_exists(self._user)
            self._utils.ensure_prefix_permissions(self.data_dir)
            self._utils.ensure_prefix_permissions(self._commands.POSTGRES_BIN_PATH)
            entry = pwd.getpwnam(self._user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        if not (pgdata / "PG_VERSION").exists():
            self._commands.initdb(
                ["--auth=trust", "--encoding=utf8", "-U", "postgres"], pgdata=pgdata, user=self._user
            )

    def start(self) -> EmbeddedPostgres:
        self._prepare()
        stale = self.data_dir / "pgdata" / "postmaster.pid"
        if stale.exists() and not _pid_alive(stale):
            stale.unlink()
        self._server.start(self.host, self.port)
        self._ensure_database_when_ready()
        return self

    def _ensure_database_when_ready(self, timeout: float = 60.0) -> None:
        """The port opens before recovery ends ("the database system is starting up"); a busy
        machine makes that window long, so the first query is retried while psql cannot connect
        (its exit code 2) until the server answers."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._ensure_database()
                return
            except subprocess.CalledProcessError as error:
                if error.returncode != 2 or time.monotonic() > deadline:
                    raise
            time.sleep(0.1)

    def _ensure_database(self) -> None:
        out = self._commands.psql(
            ["-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"],
        )
        if out.strip() != "1":
            self._commands.psql(
                ["-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-c",
                 f"CREATE DATABASE {self.database}"],
            )

    def stop(self) -> None:
        """Fast shutdown (SIGINT): clients are disconnected, data is kept."""
        self._server.stop(signal.SIGINT)

    def kill(self) -> None:
        self._server.kill()

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _pid_alive(pidfile: Path) -> bool:
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError, OSError):
        return False
    return True
