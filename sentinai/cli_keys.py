"""``sentinai keys create --tenant T --role R``: print a new API key on its own last line."""

from __future__ import annotations

import sys

from sentinai.settings import Settings, asyncpg_dsn
from sentinai.sinks.api_keys import create_api_key


async def create(settings: Settings, tenant: str, role: str) -> int:
    """Create a key; the plaintext is printed once, on the last line. Returns the exit code."""
    from sentinai.api.app import open_database

    try:
        url = settings.require_database()
    except Exception as err:  # SettingsError: one line, no traceback
        print(str(err), file=sys.stderr)
        return 2
    try:
        async with open_database(asyncpg_dsn(url)) as pool:
            token = await create_api_key(pool, tenant, role)
    except ValueError as err:
        print(f"sentinai keys create: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"sentinai keys create: cannot reach the database: {err}", file=sys.stderr)
        return 1
    print(f"created {role} key for tenant {tenant} (shown once; store it now):", file=sys.stderr)
    print(token, flush=True)
    return 0
