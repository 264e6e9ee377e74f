"""How often a tenant's admins may change its packs through the API (PUT, proposals, rollback).

Every change is a stored version (up to `SENTINAI_MAX_PACK_BYTES` each) and makes every worker and
web view reload; a loop of uploads from one tenant admin grew the database without bound and kept
every process busy. A token bucket per tenant and web process: ``SENTINAI_PACK_CHANGES_PER_HOUR``
changes, refilled evenly over the hour; beyond, a 429 with ``Retry-After``. Admin keys for ``*``
(the deployment) are not counted.
"""

from __future__ import annotations

import math
import time

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.state import PACK_CHANGES, SETTINGS
from sentinai.sinks.api_keys import Principal
from sentinai.tables.tenant_state import take_token


def charge_pack_change(request: web.Request, who: Principal, tenant: str) -> None:
    """Take one change from the tenant's bucket, or refuse with 429 ``too_many_changes``."""
    if who.all_tenants:
        return
    per_hour = request.app[SETTINGS].pack_changes_per_hour
    rate = per_hour / 3600.0
    buckets = request.app[PACK_CHANGES]
    allowed, bucket, _ = take_token(buckets.get(tenant), rate=rate, burst=float(per_hour),
                                    now_epoch=time.time(), max_debt=0.0)
    buckets[tenant] = bucket
    if not allowed:
        retry = math.ceil((1.0 - bucket["tokens"]) / rate)
        raise ApiError(429, "too_many_changes",
                       f"tenant {tenant!r} changed its packs {per_hour} times within the hour "
                       f"(SENTINAI_PACK_CHANGES_PER_HOUR); try again in {retry} s",
                       extra={"retry_after_seconds": retry})
