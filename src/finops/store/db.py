"""Engine creation and schema migration at start-up (Alembic, run in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every gateway process sharing one PostgreSQL.
_MIGRATION_LOCK_ID = 0x46494E4F5053  # "FINOPS"


def _write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never wait for the writer, and several gateway processes (``finops serve --workers N``) can
    # share one file, writing one at a time. The mode is stored in the file; setting it again is a no-op.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL still makes every commit survive the process (kill -9: the WAL is written before COMMIT
    # returns); only the OS or the machine failing can lose the last commits. FULL (the default) adds an fsync per
    # commit, which the ledger's commit-before-answer (issue 13) would pay on every request: ~5 ms here.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's rule; waiting beats failing with "database is locked".
        engine = create_async_engine(url, connect_args={"timeout": 30})
        if ":memory:" not in url:
            sa.event.listen(engine.sync_engine, "connect", _write_ahead_log)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _upgrade(connection: sa.Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several gateway processes may start at once against one database: migrate one at a time.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
