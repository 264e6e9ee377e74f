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
MAX_PROGRAM_SIZE = 1_000
"""RE2 instructions per pattern. Linear is not cheap: when RE2's automaton outgrows its memory it
falls back to work proportional to program size × text (a 4,379-instruction pattern took 3.6 s
over 256 kB); a bounded program and a bounded text (below) bound a search."""
MAX_SUBJECT_CHARS = 8_192
"""The longest string `matches` searches; a longer one matches no pattern (searching a prefix
would let `$` match where the string does not end)."""

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = MAX_PROGRAM_BYTES


class Regex(Protocol):
    """What the compiler needs of a compiled pattern."""

    pattern: str
    programsize: int

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
    size = program_size(compiled)
    if size > MAX_PROGRAM_SIZE:
        raise PatternError(f"the pattern compiles to {size} RE2 instructions; the limit is {MAX_PROGRAM_SIZE}")
    return compiled


def program_size(regex: Regex) -> int:
    """RE2's instruction count of a compiled pattern (what a search can cost per character)."""
    return int(getattr(regex, "programsize", 0))
