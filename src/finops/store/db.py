"""Engine creation and schema migration at start-up (Alembic, run in-process)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from finops.config import DatabaseSettings

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


def create_engine(url: str, limits: DatabaseSettings | None = None) -> AsyncEngine:
    """An engine whose every wait is bounded (``database.*_seconds``): a database that stops answering without
    closing the connection (a black hole) fails a request within those timeouts instead of hanging it; the API
    answers 503 with ``retry-after``."""
    limits = limits or DatabaseSettings()
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's rule; waiting (up to the statement timeout) beats failing at once
        # with "database is locked".
        engine = create_async_engine(
            url, connect_args={"timeout": limits.statement_timeout_seconds}, pool_timeout=limits.pool_timeout_seconds
        )
        if ":memory:" not in url:
            sa.event.listen(engine.sync_engine, "connect", _write_ahead_log)
        return engine
    connect_args: dict[str, Any] = {}
    if url.startswith("postgresql+asyncpg"):
        # asyncpg: ``timeout`` bounds connecting, ``command_timeout`` every statement (client side, so it also
        # fires when the server is unreachable rather than slow).
        connect_args = {"timeout": limits.connect_timeout_seconds, "command_timeout": limits.statement_timeout_seconds}
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=limits.pool_timeout_seconds,
        connect_args=connect_args,
    )


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database (readiness); raises what the driver raises when it cannot."""
    async with engine.connect() as connection:
        await connection.execute(sa.text("SELECT 1"))


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
