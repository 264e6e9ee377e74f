"""The outcome of one governed tool call, safe to put in events and the database."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class ToolResult:
    """`response` is already redacted; `attempts` counts requests sent (0: none went out)."""

    status: Literal["succeeded", "failed"]
    http_status: int | None
    response: Any
    error: str | None
    attempts: int
    duration_ms: float

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
