"""Where SentinAI corrects faust-streaming, mode-streaming and aiokafka: the one seam over their internals.

Each module corrects one behaviour of those libraries that broke a guarantee of the pipeline, and
its docstring names the behaviour and the loss measured before the correction (docs/design.md,
docs/performance.md). Every one relies on private internals of the versions pyproject.toml pins
(upper bounds included); ``tests/unit/framework/`` fails when those internals change.

Patches over the libraries' classes, installed together by :func:`install_all` (the worker, once,
before it creates the app) and removed together by :func:`uninstall_all` (tests):

* :mod:`~sentinai.framework.producer_flush` — the producer buffer is drained before a commit;
* :mod:`~sentinai.framework.flow_resume` — resuming active flow keeps the agents' queued input;
* :mod:`~sentinai.framework.handled_offsets` — only handled offsets are committed, each partition
  delivered once and in order;
* :mod:`~sentinai.framework.commit_guard` — no commit past an output that was never delivered;
* :mod:`~sentinai.framework.producer_lookup` — a send takes the started producer directly;
* :mod:`~sentinai.framework.recovery_end` — table recovery reads to the end the fetches report;
* :mod:`~sentinai.framework.fetch_wait` — the worker's consumer long-polls for a configured wait;
* :mod:`~sentinai.framework.read_committed` — the worker's consumer leaves out aborted transactions;
* :mod:`~sentinai.framework.seek_thread` — seeks run in the consumer's thread.

Functions the pipeline calls instead of faust's, patching nothing:

* :mod:`~sentinai.framework.acking` — per-event agents ack only handled events;
* :mod:`~sentinai.framework.fetch_pause` — pausing intake keeps what was fetched;
* :mod:`~sentinai.framework.current_event` — a batched agent's table writes follow each event;
* :mod:`~sentinai.framework.held_messages` — a message held on purpose is given back at a rebalance;
* :mod:`~sentinai.framework.consumer_internals` — the watchdog's read-only view of the consumers.
"""

from __future__ import annotations

from sentinai.framework import (
    commit_guard,
    fetch_wait,
    flow_resume,
    handled_offsets,
    producer_flush,
    producer_lookup,
    read_committed,
    recovery_end,
    seek_thread,
)

PATCHES = (producer_flush, flow_resume, handled_offsets, commit_guard, producer_lookup, recovery_end, fetch_wait,
           read_committed, seek_thread)


def install_all(*, fetch_max_wait_ms: int) -> None:
    """Install every patch, as the worker runs (idempotent); call before the faust app is created."""
    producer_flush.install()  # table changes must reach the changelog before commits
    flow_resume.install()  # recovery must not drop fetched input
    handled_offsets.install()  # no offset committed over an unhandled message
    commit_guard.install()  # no offset committed over an output that was never delivered
    producer_lookup.install()  # a send must not cost three event-loop turns
    recovery_end.install()  # tables recover the whole changelog, not up to a short end
    fetch_wait.install(fetch_max_wait_ms)  # new input must not wait behind an idle long-poll
    read_committed.install()  # an outside producer's aborted transaction must not be decided
    seek_thread.install()  # a seek must not delete fetched records under the consumer thread's feet


def installed() -> list[str]:
    """The names of the patches installed now."""
    return [patch.__name__ for patch in PATCHES if patch._patches.installed]


def uninstall_all() -> None:
    """Give the libraries their own code back (objects made while installed keep what they got)."""
    for patch in reversed(PATCHES):
        patch.uninstall()
