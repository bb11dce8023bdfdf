"""Console sessions: only the sha256 of the cookie's secret is stored, so reading the table logs nobody in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.records import as_utc
from finops.store.tables import console_sessions


@dataclass(frozen=True)
class ConsoleSession:
    id: str
    kind: str
    key_id: str | None
    admin_fingerprint: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime


class SessionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, session: ConsoleSession) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(console_sessions.insert().values(**session.__dict__))

    async def get(self, session_id: str, now: datetime) -> ConsoleSession | None:
        """The live session with this id (an expired one is as absent as an unknown one)."""
        query = sa.select(console_sessions).where(
            console_sessions.c.id == session_id, console_sessions.c.expires_at > now
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        return ConsoleSession(
            id=row.id,
            kind=row.kind,
            key_id=row.key_id,
            admin_fingerprint=row.admin_fingerprint,
            csrf_token=row.csrf_token,
            created_at=as_utc(row.created_at),  # type: ignore[arg-type]
            expires_at=as_utc(row.expires_at),  # type: ignore[arg-type]
        )

    async def delete(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(console_sessions.delete().where(console_sessions.c.id == session_id))

    async def delete_expired(self, now: datetime) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(console_sessions.delete().where(console_sessions.c.expires_at <= now))
