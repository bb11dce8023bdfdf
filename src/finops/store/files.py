"""File records: the gateway's ID, where the bytes really live, and who owns them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from finops.store.owned import OwnedRepository
from finops.store.records import FileRecord, as_utc
from finops.store.tables import files


def _record(row: sa.Row[Any]) -> FileRecord:
    return FileRecord(
        id=row.id,
        provider=row.provider,
        upstream_id=row.upstream_id,
        owner=row.owner,
        filename=row.filename,
        mime_type=row.mime_type,
        size_bytes=row.size_bytes,
        downloadable=bool(row.downloadable),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
    )


async def insert_file(connection: AsyncConnection, record: FileRecord) -> None:
    """The file's row, in the caller's transaction (``finops.store.intents`` completes an intent with it)."""
    await connection.execute(
        files.insert().values(
            id=record.id,
            provider=record.provider,
            upstream_id=record.upstream_id,
            owner=record.owner,
            filename=record.filename,
            mime_type=record.mime_type,
            size_bytes=record.size_bytes,
            downloadable=record.downloadable,
            created_at=record.created_at,
        )
    )


class FileRepository(OwnedRepository[FileRecord]):
    table = files
    _record = staticmethod(_record)

    async def upstream_ids_since(self, provider: str, since: datetime) -> frozenset[str]:
        """Upstream IDs of ``provider``'s files recorded since ``since`` (the intent log's recovery excludes them)."""
        query = sa.select(files.c.upstream_id).where(files.c.provider == provider, files.c.created_at >= since)
        async with self._engine.connect() as connection:
            return frozenset(row[0] for row in (await connection.execute(query)).all())

    async def add(self, record: FileRecord) -> None:
        async with self._engine.begin() as connection:
            await insert_file(connection, record)
