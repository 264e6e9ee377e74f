"""Alembic environment: runs migrations over SQLAlchemy's asyncpg dialect."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from sentinai.settings import sqlalchemy_url

config = context.config

# Held for the whole run, so that processes migrating at once (an init container per replica) take
# turns: the next one finds the schema at head and has nothing to do.
_MIGRATE_LOCK = 0x53_4D_49_47_52_41_54  # "SMIGRAT"


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    connection.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATE_LOCK})")
    connection.commit()  # a session lock: it outlasts this transaction, until the connection closes
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(sqlalchemy_url(config.get_main_option("sqlalchemy.url")))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
