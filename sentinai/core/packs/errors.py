"""Pack errors: every one names the file, the JSON path and what is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_MAX_VALUE_CHARS = 80


@dataclass(frozen=True, slots=True)
class PackIssue:
    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class PackValidationError(Exception):
    """Raised with every issue found, never only the first."""

    def __init__(self, issues: Iterable[PackIssue]) -> None:
        self.issues = list(issues)
        count = len(self.issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{count} pack error{'s' if count != 1 else ''}:\n{lines}")


def show(value: Any) -> str:
    """A bad value as it appears in a message: repr, shortened."""
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def json_path(location: Iterable[str | int]) -> str:
    """('playbooks', 2, 'steps', 0, 'action') -> 'playbooks[2].steps[0].action'."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path
