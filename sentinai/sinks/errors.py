"""What can go wrong when the sink writes, sorted by what the caller should do about it.

The sink feed acknowledges Kafka offsets only after a batch commits, so every failure leaves the
batch un-acked. The classes tell the feed whether waiting helps:

* :class:`SinkUnavailable` — the database is down, restarting, unreachable, or the transaction was
  a deadlock/serialization victim. Retry the *same* batch with backoff; nothing was written.
* :class:`BatchRejected` — the data cannot be stored as it is (an undecodable snapshot, a payload
  PostgreSQL's JSONB refuses). Retrying cannot help: dead-letter ``event_ids`` (when known) and
  write the rest, or split the batch to find the culprit.
* :class:`SinkError` itself — anything else the database refused (a missing migration, say).
  Waiting does not fix it, but an operator can; the feed keeps retrying with backoff and alerting.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg


class SinkError(Exception):
    """A batch was not written. Nothing of it was committed."""


class SinkUnavailable(SinkError):
    """The database could not take the batch now; retrying the same batch later is correct."""


class BatchRejected(SinkError):
    """Some events cannot be stored as they are; ``event_ids`` names them when known."""

    def __init__(self, message: str, event_ids: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.event_ids = tuple(event_ids)


# SQLSTATE classes: 08 connection exception, 57P admin shutdown / crash / cannot connect now,
# 40 transaction rollback (deadlock, serialization), 53 insufficient resources; 22 data exception
# and 23 integrity violation are the data's fault (23505, a unique key, means a concurrent writer).
_TRANSIENT_PREFIXES = ("08", "57P", "40", "53")


def classify(err: BaseException, batch_size: int) -> SinkError:
    """Map a driver or OS error raised while writing ``batch_size`` events to a :class:`SinkError`."""
    what = f"batch of {batch_size} events not written"
    if isinstance(err, OSError | asyncpg.InterfaceError | TimeoutError):
        return SinkUnavailable(f"PostgreSQL unavailable ({type(err).__name__}: {err}); {what}, retry it")
    if isinstance(err, asyncpg.PostgresError):
        state = err.sqlstate or ""
        detail = f"{type(err).__name__} [{state}]: {err}"
        if state.startswith(_TRANSIENT_PREFIXES):
            return SinkUnavailable(f"PostgreSQL unavailable ({detail}); {what}, retry it")
        if state == "23505":
            return SinkUnavailable(f"a concurrent writer stored some of these events ({detail}); "
                                   f"{what}, retry it")
        if state.startswith(("22", "23")):
            return BatchRejected(f"PostgreSQL rejected the data ({detail}); {what}")
        return SinkError(f"PostgreSQL refused the batch ({detail}); {what}")
    return SinkError(f"{type(err).__name__}: {err}; {what}")
