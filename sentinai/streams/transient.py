"""Which failures of handling an input are worth another try.

A broker that is away, a leader moving, a timeout: the same input goes through once they pass.
Everything else fails the same way every time (a value the pack makes undecidable, a transition
too large for one message, a bug), and a retry only holds the partition's agent, and with it every
other tenant on the partition: such an input goes to the DLQ at once.
"""

from __future__ import annotations

from aiokafka.errors import KafkaError, KafkaTimeoutError

_CHAIN_DEPTH = 8


def is_transient(error: BaseException) -> bool:
    """True when ``error``, or what caused it (faust wraps a failed send), is a passing one."""
    seen: BaseException | None = error
    for _ in range(_CHAIN_DEPTH):
        if seen is None:
            return False
        if isinstance(seen, KafkaError):
            return bool(seen.retriable) or isinstance(seen, KafkaTimeoutError)
        if isinstance(seen, OSError):  # connections, and TimeoutError
            return True
        seen = seen.__cause__ or seen.__context__
    return False
