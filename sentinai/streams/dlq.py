"""Dead-letter headers, named as Kafka Connect names them so existing tooling reads them."""

from __future__ import annotations

PREFIX = "__connect.errors"
STAGE = "sentinai.stage"
MAX_MESSAGE = 2000


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


def headers_dict(headers: object) -> dict[str, str]:
    """Kafka headers (a list of pairs or a mapping, values in bytes) as a str → str dict."""
    pairs = headers.items() if isinstance(headers, dict) else (headers or [])
    return {str(k): (v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)) for k, v in pairs}
