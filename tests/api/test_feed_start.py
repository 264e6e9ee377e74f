"""The decision feed in any start order: a topic created after the web view started goes live
within seconds and is read from its first record; a web view started late opens on recent history."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from sentinai.api.feed import DecisionFeed
from sentinai.settings import Settings
from tests.api.conftest import decision, produce_json


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_a_topic_created_after_the_feed_started_is_live_within_seconds_from_its_first_record(
        make_settings: Callable[..., Settings], bootstrap: str) -> None:
    topic = make_settings().topic_decisions
    feed = DecisionFeed(bootstrap, topic)
    await feed.start()
    try:
        await _until(lambda: feed._from_start, timeout=10)  # it looked for the topic and found none
        assert not feed.ready.is_set()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 4, 1)])
        finally:
            await admin.close()
        first = [decision("acme", f"E-{n}") for n in range(5)]
        created = time.monotonic()
        await produce_json(bootstrap, topic, "acme", first)  # before the feed can have noticed
        await _until(feed.ready.is_set, timeout=10)
        went_live = time.monotonic() - created
        await _until(lambda: len(feed.ring) == len(first), timeout=10)
        assert [r.event_id for r in feed.ring] == [d["event_id"] for d in first]
        print(f"feed live {went_live:.2f}s after the topic's creation")  # noqa: T201
        assert went_live < 5
    finally:
        await feed.stop()


async def test_a_feed_started_late_opens_on_the_latest_records(make_settings: Callable[..., Settings],
                                                                bootstrap: str) -> None:
    topic = make_settings().topic_decisions
    earlier = [decision("acme", f"E-{n}") for n in range(8)]
    await produce_json(bootstrap, topic, "acme", earlier)
    feed = DecisionFeed(bootstrap, topic, history=5)
    await feed.start()
    try:
        await _until(feed.ready.is_set, timeout=15)
        await _until(lambda: len(feed.ring) >= 5, timeout=10)
        assert [r.event_id for r in feed.ring] == [d["event_id"] for d in earlier[-5:]]
        sub, backlog, _ = feed.subscribe("acme", history=3)
        assert [r.event_id for r in backlog] == [d["event_id"] for d in earlier[-3:]]
        feed.unsubscribe(sub)
    finally:
        await feed.stop()
