"""Typed application keys: the resources every handler shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncpg
from aiohttp import web

from sentinai.settings import Settings

if TYPE_CHECKING:
    from sentinai.api.feed import DecisionFeed
    from sentinai.api.kafka import CommandProducer
    from sentinai.caches.packs import PackCache
    from sentinai.copilot.service import Copilot

SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
POOL: web.AppKey[asyncpg.Pool] = web.AppKey("pool", asyncpg.Pool)
PRODUCER: web.AppKey[CommandProducer] = web.AppKey("producer")
FEED: web.AppKey[DecisionFeed] = web.AppKey("feed")
COPILOT: web.AppKey[Copilot] = web.AppKey("copilot")
PACKS: web.AppKey[PackCache] = web.AppKey("packs")
WHATIFS: web.AppKey[set[str]] = web.AppKey("whatifs", set)
"""The tenants whose what-if replay runs now (one per tenant, a few in all: see routes_whatif)."""
VALIDATING: web.AppKey[set[str]] = web.AppKey("validating", set)
"""The tenants whose candidate packs are being validated now (one at a time per tenant: see
`sentinai.api.pack_documents`)."""
PACK_CHANGES: web.AppKey[dict[str, dict[str, float]]] = web.AppKey("pack_changes", dict)
"""Per tenant, the token bucket of its pack changes (`sentinai.api.pack_change_rate`)."""
