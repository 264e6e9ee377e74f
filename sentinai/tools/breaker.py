"""A circuit breaker per (tenant, tool): stop calling a tool that keeps failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False


class CircuitBreaker:
    """Opens after `threshold` consecutive failed calls; after `reset_seconds` one trial call
    is let through (half-open): its success closes the circuit, its failure opens it again.

    Only failures that say something about the tool's health count (timeouts, 5xx, connection
    errors); refusals by policy and invalid arguments do not.
    """

    def __init__(self, *, threshold: int = 5, reset_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._circuits: dict[tuple[str, str], _Circuit] = {}

    def allow(self, key: tuple[str, str]) -> bool:
        """Whether a call may go out now; a True in the half-open state claims the one trial."""
        circuit = self._circuits.get(key)
        if circuit is None or circuit.opened_at is None:
            return True
        if circuit.trial_running or self._clock() - circuit.opened_at < self.reset_seconds:
            return False
        circuit.trial_running = True
        return True

    def record(self, key: tuple[str, str], *, healthy: bool) -> None:
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.trial_running = False
        if healthy:
            circuit.failures = 0
            circuit.opened_at = None
            return
        circuit.failures += 1
        if circuit.opened_at is not None or circuit.failures >= self.threshold:
            circuit.opened_at = self._clock()

    def release(self, key: tuple[str, str]) -> None:
        """Give back a claimed trial without a verdict (the call never reached the tool)."""
        circuit = self._circuits.get(key)
        if circuit is not None:
            circuit.trial_running = False

    def is_open(self, key: tuple[str, str]) -> bool:
        circuit = self._circuits.get(key)
        return circuit is not None and circuit.opened_at is not None
