"""`matches` patterns, run by RE2: time linear in the input, whatever the pattern.

Python's `re` backtracks, so one tenant's `^(a+)+$` on 30 characters holds a shared worker for
seconds. RE2 never backtracks; in exchange it cannot run backreferences or lookaround, and such a
pattern is refused when the pack is loaded, with RE2's reason. The compiled program's memory is
capped, so a pattern cannot ask for an unbounded automaton either.
"""

from __future__ import annotations

from typing import Protocol

import re2

MAX_PROGRAM_BYTES = 1 << 20
"""RE2's memory budget per pattern (its default is 8 MiB); a larger program is a load error."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = MAX_PROGRAM_BYTES


class Regex(Protocol):
    """What the compiler needs of a compiled pattern."""

    pattern: str

    def search(self, text: str) -> object | None: ...


class PatternError(ValueError):
    """The pattern is not one RE2 can run; the message says why."""


def compile_regex(pattern: str) -> Regex:
    try:
        compiled: Regex = re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else error
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", errors="replace")
        raise PatternError(f"{reason} (patterns run on RE2: no backreferences or lookaround)") \
            from None
    return compiled
