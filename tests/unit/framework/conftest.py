"""Each correction installed for one test and removed after it."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from sentinai.framework import (
    commit_guard,
    fetch_wait,
    flow_resume,
    handled_offsets,
    producer_flush,
    producer_lookup,
    read_committed,
    seek_thread,
)


def installed(correction: ModuleType, *args: object) -> Iterator[ModuleType]:
    correction.install(*args)
    try:
        yield correction
    finally:
        correction.uninstall()


@pytest.fixture
def reliable_flush() -> Iterator[ModuleType]:
    yield from installed(producer_flush)


@pytest.fixture
def queues_kept_on_resume() -> Iterator[ModuleType]:
    yield from installed(flow_resume)


@pytest.fixture
def handled_offsets_only() -> Iterator[ModuleType]:
    yield from installed(handled_offsets)


@pytest.fixture
def direct_producer_lookup() -> Iterator[ModuleType]:
    yield from installed(producer_lookup)


@pytest.fixture
def fetch_wait_40ms() -> Iterator[ModuleType]:
    yield from installed(fetch_wait, 40)


@pytest.fixture
def committed_reads() -> Iterator[ModuleType]:
    yield from installed(read_committed)


@pytest.fixture
def guarded_commits() -> Iterator[ModuleType]:
    yield from installed(commit_guard)


@pytest.fixture
def seeks_in_consumer_thread() -> Iterator[ModuleType]:
    yield from installed(seek_thread)
