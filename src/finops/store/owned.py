"""What files and batches have in common: rows that belong to an owner, are soft-deleted, and list newest first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.paging import page_rows
from finops.store.records import Page

T = TypeVar("T")


class OwnedRepository(Generic[T]):
    table: ClassVar[sa.Table]

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @staticmethod
    def _record(row: sa.Row[Any]) -> T:
        raise NotImplementedError

    async def get(self, object_id: str, owner: str) -> T | None:
        """The owner's live object, or None (another owner's object is as absent as a deleted one)."""
        table = self.table
        query = sa.select(table).where(table.c.id == object_id, table.c.owner == owner, table.c.deleted_at.is_(None))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return self._record(row) if row else None

    async def mark_deleted(self, object_id: str) -> None:
        table = self.table
        async with self._engine.begin() as connection:
            await connection.execute(table.update().where(table.c.id == object_id).values(deleted_at=datetime.now(UTC)))

    async def list(
        self, owner: str, provider: str | None, *, limit: int, after_id: str | None, before_id: str | None
    ) -> Page[T]:
        async with self._engine.connect() as connection:
            rows, has_more = await page_rows(
                connection,
                self.table,
                owner=owner,
                provider=provider,
                limit=limit,
                after_id=after_id,
                before_id=before_id,
            )
        return Page([self._record(row) for row in rows], has_more)
