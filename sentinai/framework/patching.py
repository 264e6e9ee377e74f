"""What a correction replaced on a faust/aiokafka class, kept so that it can be put back.

Every correction in this package installs through one :class:`Patches`: installing twice changes
nothing, and :meth:`Patches.undo` restores each attribute exactly as it was (deleting the ones the
correction added), so tests can run with and without a correction in one process.
"""

from __future__ import annotations

from typing import Any

_ABSENT = object()


class Patches:
    """The class attributes one correction replaced, in order, with what they were before."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    @property
    def installed(self) -> bool:
        return bool(self._saved)

    def replace(self, owner: Any, name: str, value: Any) -> Any:
        """Set ``owner.name`` to ``value``; return what it was (looked up as an attribute)."""
        before = getattr(owner, name, None)
        self._saved.append((owner, name, owner.__dict__.get(name, _ABSENT)))
        setattr(owner, name, value)
        return before

    def undo(self) -> None:
        """Put back everything replaced, last first."""
        while self._saved:
            owner, name, before = self._saved.pop()
            if before is _ABSENT:
                delattr(owner, name)
            else:
                setattr(owner, name, before)
