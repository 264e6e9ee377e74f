"""``sentinai keys create --tenant T --role R``: print a new API key on its own last line;
``sentinai keys revoke KEY_ID``: revoke one."""

from __future__ import annotations

import sys

from sentinai.settings import Settings, asyncpg_dsn
from sentinai.sinks.api_keys import create_api_key, revoke_api_key


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


async def revoke(settings: Settings, key_id: str) -> int:
    """Revoke the key whose id is ``key_id`` (the part after ``snt_`` in the key, ``api-key:<id>``
    in the records): every request with it is a 401 from now on. Returns the exit code."""
    from sentinai.api.app import open_database

    async with open_database(asyncpg_dsn(settings.require_database())) as pool:
        revoked = await revoke_api_key(pool, key_id)
    if not revoked:
        print(f"sentinai keys revoke: no live key with id {key_id!r}", file=sys.stderr)
        return 2
    print(f"revoked key {key_id}", file=sys.stderr)
    return 0
