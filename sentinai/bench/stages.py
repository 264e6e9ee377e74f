"""Timing a benchmark's stages: the best of a few runs of each, and the table that shows them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def rate(run: Callable[[], None], count: int, repeats: int, *,
         clock: Callable[[], float] = time.perf_counter) -> float:
    """Best of ``repeats`` runs of ``run`` (``count`` operations each) by ``clock``, in operations per second."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        run()
        best = min(best, clock() - start)
    return count / max(best, 1e-9)


def print_stages(rows: Sequence[tuple[str, float]], *, width: int) -> None:
    """One line per stage: its rate and the microseconds each operation took."""
    print(f"{'stage':<{width}}{'per second':>14}{'us each':>10}")
    for name, per_second in rows:
        print(f"{name:<{width}}{per_second:>14,.0f}{1e6 / per_second:>10.1f}")
