"""``sentinai demo``: a steady, realistic mix of exceptions for the sample tenants.

Every type of every sample tenant, some re-sent duplicates, some malformed messages (which the
pipeline dead-letters) and one noisy tenant, so a newcomer sees the whole system at work.
"""

from __future__ import annotations

import asyncio
import random

from aiokafka import AIOKafkaProducer

from sentinai.core.packs import load_pack_dir
from sentinai.samples import sample_exception
from sentinai.settings import Settings, bootstrap_servers
from sentinai.streams import codec

NOISY_SHARE = 0.4
DUPLICATE_SHARE = 0.05
MALFORMED_SHARE = 0.03


async def run_demo(settings: Settings, *, rate: float, count: int = 0, seed: int | None = None) -> int:
    packs = load_pack_dir(settings.packs_dir)
    tenants = sorted(packs.tenants)
    noisy = tenants[0]
    rng = random.Random(seed)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(settings.require_broker()))
    await producer.start()
    sent: list[dict] = []
    produced = 0
    try:
        while count <= 0 or produced < count:
            roll = rng.random()
            if roll < MALFORMED_SHARE:
                value = sample_exception(rng, packs, malformed=True)
                data = value if isinstance(value, bytes) else codec.dumps(value)
                key = b"demo"
            elif roll < MALFORMED_SHARE + DUPLICATE_SHARE and sent:
                exc = rng.choice(sent)
                data, key = codec.dumps(exc), exc["tenant_id"].encode()
            else:
                tenant = noisy if rng.random() < NOISY_SHARE else rng.choice(tenants)
                exc = sample_exception(rng, packs, tenant)
                assert isinstance(exc, dict)
                sent = (sent + [exc])[-200:]
                data, key = codec.dumps(exc), tenant.encode()
            await producer.send(settings.topic_exceptions, data, key=key)
            produced += 1
            await asyncio.sleep(1.0 / rate)
    finally:
        await producer.stop()
    return 0
