"""``sentinai keys create --tenant T --role R``: print a new API key on its own last line;
``sentinai keys revoke KEY_ID``: revoke one.

A key is only made for a tenant the platform knows (a ``tenants`` row, written when its tenant
pack is activated) or for ``*`` (an admin key of every tenant): a key of any other tenant id (a
typo) would be refused on every request as an unknown tenant."""

from __future__ import annotations

import sys

from sentinai.settings import Settings, asyncpg_dsn
from sentinai.sinks.api_keys import ALL_TENANTS, create_api_key, revoke_api_key
from sentinai.sinks.pack_store import known_tenant_ids

_KNOWN_SHOWN = 10


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
            if tenant != ALL_TENANTS:
                known = await known_tenant_ids(pool)
                if tenant not in known:
                    print(f"sentinai keys create: {_unknown(tenant, known)}", file=sys.stderr)
                    return 2
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


def _unknown(tenant: str, known: list[str]) -> str:
    shown = ", ".join(known[:_KNOWN_SHOWN]) + (f", … ({len(known)} in all)" if len(known) > _KNOWN_SHOWN else "")
    return (f"unknown tenant {tenant[:100]!r} (known: {shown or 'none'}; a tenant is known once its "
            "tenant pack is activated)")


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
