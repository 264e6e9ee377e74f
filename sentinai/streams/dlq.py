"""Dead-letter headers, named as Kafka Connect names them so existing tooling reads them."""

from __future__ import annotations

import hashlib

PREFIX = "__connect.errors"
STAGE = "sentinai.stage"
MAX_MESSAGE = 2000
# A dead letter's value is kept whole up to this size: under the producer's 1 MB request limit
# with room for the key and headers. A larger value (a 5 MB message intake refused) is cut to it,
# and the headers below say so, so that the letter itself always reaches the DLQ.
MAX_VALUE_BYTES = 512_000
TRUNCATED = "sentinai.value.truncated"
VALUE_SIZE = "sentinai.value.size"
VALUE_SHA256 = "sentinai.value.sha256"
KEY_TRUNCATED = "sentinai.key.truncated"
KEY_SIZE = "sentinai.key.size"
MAX_KEY_BYTES = 16_384
"""A dead letter's key is kept whole up to this size (a tenant id is short; a longer key is not
one, and with the value's and the headers' limits the letter fits a produce request)."""
REPLAYED_FROM = "sentinai.replayed_from"
HEADERS_DROPPED = "sentinai.headers.dropped"
# The headers a dead letter adds; a replay strips them, and a letter keeps the original's others.
LETTER_HEADER_PREFIXES = (f"{PREFIX}.", STAGE, "sentinai.tenant", TRUNCATED, VALUE_SIZE, VALUE_SHA256, HEADERS_DROPPED,
                          KEY_TRUNCATED, KEY_SIZE)
# The original's headers a letter keeps, at most this many bytes in all (names and values): with
# the value's limit above, the letter stays under the producer's request limit.
MAX_KEPT_HEADER_BYTES = 16_384


def dlq_headers(*, topic: str, partition: int, offset: int, error: BaseException, stage: str,
                tenant_id: str | None = None) -> list[tuple[str, bytes]]:
    message = str(error)[:MAX_MESSAGE] or type(error).__name__
    headers = [
        (f"{PREFIX}.topic", topic.encode()),
        (f"{PREFIX}.partition", str(partition).encode()),
        (f"{PREFIX}.offset", str(offset).encode()),
        (f"{PREFIX}.exception.class.name", type(error).__name__.encode()),
        (f"{PREFIX}.exception.message", message.encode()),
        (STAGE, stage.encode()),
    ]
    if tenant_id:
        headers.append(("sentinai.tenant", tenant_id.encode()))
    return headers


def kept_value(value: bytes | None, limit: int = MAX_VALUE_BYTES) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The value a dead letter carries, and the headers that describe what was cut from it
    (its full size and SHA-256, to find the original by): nothing to say when it fits."""
    if value is None or len(value) <= limit:
        return value, []
    return value[:limit], [(TRUNCATED, b"true"), (VALUE_SIZE, str(len(value)).encode()),
                           (VALUE_SHA256, hashlib.sha256(value).hexdigest().encode())]


def kept_key(key: bytes | None, limit: int = MAX_KEY_BYTES) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """The key a dead letter carries, and the headers that say it was cut."""
    if key is None or len(key) <= limit:
        return key, []
    return key[:limit], [(KEY_TRUNCATED, b"true"), (KEY_SIZE, str(len(key)).encode())]


def kept_headers(headers: object, limit: int = MAX_KEPT_HEADER_BYTES) -> list[tuple[str, bytes]]:
    """The original message's headers a dead letter carries (a replay sends them again, so that a
    replayed input that fails again is found by its ``sentinai.replayed_from``): all but those a
    letter adds itself, in order, up to ``limit`` bytes; the count left out is said in a header."""
    kept: list[tuple[str, bytes]] = []
    size = dropped = 0
    for name, value in header_pairs(headers):
        name = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
        if name.startswith(LETTER_HEADER_PREFIXES):
            continue
        data = value if isinstance(value, bytes) else str(value if value is not None else "").encode()
        size += len(name.encode()) + len(data)
        if size > limit:
            dropped += 1
            continue
        kept.append((name, data))
    return kept + ([(HEADERS_DROPPED, str(dropped).encode())] if dropped else [])


def header_pairs(headers: object) -> list[tuple[str, bytes]]:
    """Kafka headers as faust hands them (a list of pairs or a mapping) as a list of pairs."""
    return list(headers.items() if isinstance(headers, dict) else (headers or []))  # type: ignore[attr-defined]


def headers_dict(headers: object) -> dict[str, str]:
    """Kafka headers (a list of pairs or a mapping, values in bytes) as a str → str dict."""
    return {str(k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v))
            for k, v in header_pairs(headers)}
