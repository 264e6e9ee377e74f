"""Periodic jobs of the worker: the timer scan (approval expiries, SLA ticks, what to forget),
retention, and the watchdog of a stalled consumer. The composition root schedules them."""
