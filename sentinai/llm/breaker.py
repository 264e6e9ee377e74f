"""A circuit breaker for the LLM provider.

A model that is down or slow should cost each decision nothing, not a full timeout: after
`failure_threshold` consecutive failures the breaker opens and calls fail at once; after
`cool_down` seconds one probe call is let through (half-open) and its result closes or re-opens
the breaker. Only transport failures (timeouts, provider errors) count; a bad answer means the
provider is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    def __init__(self, *, failure_threshold: int = 5, cool_down: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at < self.cool_down:
            return "open"
        return "half_open"

    def retry_after(self) -> float:
        """Seconds until a probe may go through (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.cool_down - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open state only one probe is in flight at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        """Count a failure; a failed probe re-opens at once for another cool-down."""
        was_probe = self._probing
        self._probing = False
        self._failures += 1
        if was_probe or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()

    def release(self) -> None:
        """The call was abandoned (cancelled by the caller): neither a success nor a failure."""
        self._probing = False
