"""The demo feed produces a realistic mix for the sample tenants: every tenant, duplicates, malformed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable

import pytest

from sentinai.demo import run_demo
from sentinai.settings import Settings
from sentinai.streams.topics import ensure_topics
from tests.support.kafka import read_all
from tests.support.pipeline import PACKS

pytestmark = pytest.mark.integration


def test_demo_feed_mixes_tenants_duplicates_and_malformed(make_settings: Callable[..., Settings],
                                                          bootstrap: str) -> None:
    settings = make_settings(packs_dir=PACKS)
    asyncio.run(ensure_topics(settings))
    assert asyncio.run(run_demo(settings, rate=2000, count=600, seed=3)) == 0
    messages = read_all(bootstrap, settings.topic_exceptions)
    assert len(messages) == 600
    valid, malformed = [], 0
    for message in messages:
        try:
            value = json.loads(message.value())
        except ValueError:
            malformed += 1
            continue
        if isinstance(value, dict) and value.get("tenant_id") and isinstance(value.get("payload"), dict):
            valid.append(value)
        else:
            malformed += 1
    tenants = Counter(v["tenant_id"] for v in valid)
    ids = Counter((v["tenant_id"], v["exception_id"]) for v in valid)
    print(f"demo: {len(valid)} valid over {dict(tenants)}; {malformed} malformed; "
          f"{sum(n - 1 for n in ids.values())} re-sent duplicates")
    assert {"acme-capital", "globex-markets", "mercy-health", "paystream"} <= set(tenants)
    assert tenants.most_common(1)[0][1] > 2 * min(tenants.values())  # one noisy tenant
    assert malformed > 0
    assert any(n > 1 for n in ids.values())
