"""Named leases in the shared database: at most one live holder per name, whatever the number of gateway
processes (workers of one ``finops serve``, or several hosts on one PostgreSQL).

A lease is one row (name, owner, expiry). Taking or renewing it is one conditional UPDATE ("mine already, or
expired"), and the first take of a name is an INSERT that the primary key lets only one process win, so it works
the same on SQLite and PostgreSQL with no lock held between statements. Expiries are written with the gateway's
own clock: hosts sharing a database need clocks that agree to well within a lease's length.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.records import as_utc
from finops.store.tables import leases


@dataclass(frozen=True)
class LeaseHolder:
    owner: str
    expires_at: datetime


class LeaseRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def acquire(self, name: str, owner: str, seconds: float) -> bool:
        """Take or renew ``name`` for ``seconds``; False while another owner's lease is live."""
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=seconds)
        renew = (
            leases.update()
            .where(leases.c.name == name, sa.or_(leases.c.owner == owner, leases.c.expires_at < now))
            .values(owner=owner, expires_at=expires, renewed_at=now)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(renew)).rowcount == 1:
                return True
            exists = await connection.execute(sa.select(leases.c.name).where(leases.c.name == name))
            if exists.first() is not None:
                return False
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    leases.insert().values(name=name, owner=owner, expires_at=expires, renewed_at=now)
                )
        except IntegrityError:
            return False  # another process created it between our two statements: theirs
        return True

    async def take_over(self, name: str, owner: str, from_owner: str, seconds: float) -> bool:
        """Take ``name`` from ``from_owner`` whatever its expiry (the caller knows that owner is gone); False if
        someone else got there first."""
        now = datetime.now(UTC)
        statement = (
            leases.update()
            .where(leases.c.name == name, leases.c.owner == from_owner)
            .values(owner=owner, expires_at=now + timedelta(seconds=seconds), renewed_at=now)
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def release(self, name: str, owner: str) -> None:
        """Give ``name`` up now (if ``owner`` still holds it), so another process need not wait for the expiry."""
        now = datetime.now(UTC)
        statement = leases.update().where(leases.c.name == name, leases.c.owner == owner).values(expires_at=now)
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def holder(self, name: str) -> LeaseHolder | None:
        """The live holder of ``name``, if any."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(sa.select(leases).where(leases.c.name == name))).first()
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        if expires is None or expires <= datetime.now(UTC):
            return None
        return LeaseHolder(owner=row.owner, expires_at=expires)
