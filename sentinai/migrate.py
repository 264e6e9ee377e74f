"""Schema migrations (Alembic), run by ``sentinai migrate`` and by ``sentinai dev`` at start."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

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


def upgrade(database_url: str, revision: str = "head") -> None:
    _in_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    _in_thread(command.downgrade, alembic_config(database_url), revision)
