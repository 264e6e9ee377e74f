"""`sentinai whatif`: re-decide a tenant's stored exceptions with candidate packs, print the report."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

from sentinai.core.packs import PackValidationError, read_pack_documents
from sentinai.core.whatif import render_report
from sentinai.settings import Settings

EXIT_OK = 0
EXIT_INVALID_PACKS = 1
EXIT_BAD_INPUT = 2


def period(settings: Settings, since: datetime | None,
           until: datetime | None) -> tuple[datetime, datetime]:
    """``[since, until)``; by default the last ``SENTINAI_WHATIF_WINDOW_DAYS`` up to now."""
    end = until or datetime.now(UTC)
    return since or end - timedelta(days=settings.whatif_window_days), end


async def whatif(settings: Settings, tenant: str, candidate: str, since: datetime | None,
                 until: datetime | None, *, as_json: bool, max_changed: int) -> int:
    from sentinai.sinks.pool import open_pool
    from sentinai.whatif import active_and_candidate, run_whatif

    try:
        domains, tenants = read_pack_documents(candidate)
    except PackValidationError as err:
        return _invalid(err)
    start, end = period(settings, since, until)
    if start >= end:
        print(f"error: --since {start.isoformat()} is not before --until {end.isoformat()}",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    async with open_pool(settings.require_database(), max_size=2) as pool:
        try:
            active, proposed = await active_and_candidate(pool, tenant, domains, tenants)
        except PackValidationError as err:
            return _invalid(err)
        report = await run_whatif(pool, tenant, active, proposed, start, end,
                                  max_changed=max_changed)
    body = {"tenant_id": tenant, "since": start.isoformat(), "until": end.isoformat(),
            **report.as_json()}
    if as_json:
        print(json.dumps(body, indent=2))
    else:
        print(f"what-if for {tenant}, exceptions stored {start.isoformat()} .. {end.isoformat()}")
        print(render_report(body))
    return EXIT_OK


def _invalid(err: PackValidationError) -> int:
    for issue in err.issues:
        print(issue, file=sys.stderr)
    return EXIT_INVALID_PACKS
