"""Web view fixtures: a real aiohttp server on a free port over the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from sentinai.api.app import create_app
from sentinai.api.state import FEED
from sentinai.settings import Settings
from sentinai.sinks.api_keys import create_api_key
from sentinai.streams.topics import ensure_topics

TENANTS = ("acme", "globex")


@dataclass
class Web:
    app: web.Application
    client: TestClient
    settings: Settings
    pool: asyncpg.Pool
    keys: dict[str, str]
    bootstrap: str

    def auth(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys.get(key, key)}"}

    async def get(self, path: str, key: str | None = "acme-viewer", **kw: Any) -> tuple[int, Any]:
        headers = {**(self.auth(key) if key else {}), **kw.pop("headers", {})}
        async with self.client.get(path, headers=headers, **kw) as resp:
            return resp.status, await _body(resp)

    async def send(self, method: str, path: str, key: str | None = "acme-operator", **kw: Any) -> tuple[int, Any]:
        headers = {**(self.auth(key) if key else {}), **kw.pop("headers", {})}
        async with self.client.request(method, path, headers=headers, **kw) as resp:
            return resp.status, await _body(resp)


async def _body(resp: Any) -> Any:
    text = await resp.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


async def produce_json(bootstrap: str, topic: str, key: str, values: list[dict[str, Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, json.dumps(value).encode(), key=key.encode())
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, expect: int, timeout: float = 15.0) -> list[Any]:
    """Every message of ``topic`` from the beginning, until ``expect`` arrived or ``timeout``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        partitions = None
        while not partitions:
            await consumer.topics()
            partitions = consumer.partitions_for_topic(topic)
            if asyncio.get_running_loop().time() > deadline:
                return out
            if not partitions:
                await asyncio.sleep(0.2)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while len(out) < expect and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=300)
            for messages in batches.values():
                out.extend(messages)
    finally:
        await consumer.stop()
    return out


def decision(tenant: str, exception_id: str, *, decision: str = "classified", **extra: Any) -> dict[str, Any]:
    """A decision record as the worker publishes it, with one triage stage deciding ``decision``."""
    return {"event_id": str(uuid.uuid4()), "tenant_id": tenant, "exception_id": exception_id,
            "decided_at": "2026-11-24T09:30:00+00:00", "exception_type": "SETTLEMENT_FAIL", "severity": "HIGH",
            "status": "TRIAGED", "actionability": "ACTIONABLE", "approval_required": False, "playbook_id": None,
            "current_step": None, "source": "rules", "confidence": 0.9,
            "stages": [{"stage": "triage", "decision": decision, "confidence": 0.9, "evidence": ["rule r1"],
                        "next_step": "policy"}], **extra}


@pytest.fixture
async def web_env(make_settings: Callable[..., Settings], database_url: str, bootstrap: str) -> AsyncIterator[Web]:
    settings = make_settings(database_url=database_url, max_body_bytes=65536)
    await ensure_topics(settings)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    for tenant in TENANTS:
        await pool.execute("INSERT INTO tenants (tenant_id, domain_name) VALUES ($1, 'capital-markets')", tenant)
    keys = {}
    for tenant in TENANTS:
        for role in ("viewer", "operator", "admin"):
            keys[f"{tenant}-{role}"] = await create_api_key(pool, tenant, role)
    keys["root"] = await create_api_key(pool, "*", "admin")
    app = create_app(settings, heartbeat_seconds=1.0)
    client = TestClient(TestServer(app, host="127.0.0.1", port=settings.web_port))
    await client.start_server()
    try:
        await asyncio.wait_for(app[FEED].ready.wait(), 30)
        yield Web(app=app, client=client, settings=settings, pool=pool, keys=keys, bootstrap=bootstrap)
    finally:
        await client.close()
        await pool.close()
