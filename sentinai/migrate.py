"""Schema migrations (Alembic), run by ``sentinai migrate`` and by ``sentinai dev`` at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from sentinai.settings import Settings

_ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str) -> Config:
    config = Config(str(_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(_ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


def _in_thread(fn, *args: object) -> None:  # type: ignore[no-untyped-def]
    """Alembic's env.py runs its own event loop; keep it off any loop already running here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        fn(*args)
        return
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(fn, *args).result()


def import_packs(database_url: str, packs_dir: Path, *, created_by: str = "migrate",
                 settings: Settings | None = None) -> list[dict]:
    """Activate the packs found in ``packs_dir`` whose content differs from the active versions.

    With ``settings``, the packs are checked against the deployment's secret grants and size
    limits, as an upload through the API is. The documents are stored as written, not as the
    validated models (with every default filled in): the same file sent later by PUT is then the
    same version, and a diff between versions shows what the admin changed.
    """
    from pydantic_core import to_jsonable_python

    from sentinai.core.packs import load_pack_dir
    from sentinai.core.packs.loader import read_pack_documents
    from sentinai.sinks.pack_store import store_packs
    from sentinai.sinks.pool import open_pool

    if settings is None:
        load_pack_dir(packs_dir)
        domains, tenants = read_pack_documents(packs_dir)
    else:
        from sentinai.tools.secrets import SecretStore

        limits = settings.pack_limits()
        load_pack_dir(packs_dir, granted_secrets=SecretStore.from_settings(settings).granted, limits=limits)
        domains, tenants = read_pack_documents(packs_dir, limits=limits)

    async def store() -> list[dict]:
        async with open_pool(database_url, min_size=1, max_size=2) as pool:  # YAML dates as the API's strings
            return await store_packs(pool, to_jsonable_python(domains), to_jsonable_python(tenants),
                                     created_by=created_by)

    return asyncio.run(store())


def upgrade(database_url: str, revision: str = "head") -> None:
    _in_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    _in_thread(command.downgrade, alembic_config(database_url), revision)
