"""File records: the gateway's ID, where the bytes really live, and who owns them."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.paging import page_rows
from finops.store.records import FileRecord, Page, as_utc
from finops.store.tables import files


def _record(row: sa.Row) -> FileRecord:
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


class FileRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, record: FileRecord) -> None:
        async with self._engine.begin() as connection:
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

    async def get(self, file_id: str, owner: str) -> FileRecord | None:
        query = sa.select(files).where(files.c.id == file_id, files.c.owner == owner, files.c.deleted_at.is_(None))
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _record(row) if row else None

    async def mark_deleted(self, file_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(files.update().where(files.c.id == file_id).values(deleted_at=datetime.now(UTC)))

    async def list(
        self, owner: str, provider: str | None, *, limit: int, after_id: str | None, before_id: str | None
    ) -> Page[FileRecord]:
        async with self._engine.connect() as connection:
            rows, has_more = await page_rows(
                connection,
                files,
                owner=owner,
                provider=provider,
                limit=limit,
                after_id=after_id,
                before_id=before_id,
            )
        return Page([_record(row) for row in rows], has_more)
