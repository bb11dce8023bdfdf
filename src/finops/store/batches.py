"""Batch records: the gateway's ID, the upstream batch(es) behind it, owner, and the last status seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from finops.store.owned import OwnedRepository
from finops.store.records import BatchRecord, as_utc
from finops.store.tables import batches


def _record(row: sa.Row[Any]) -> BatchRecord:
    return BatchRecord(
        id=row.id,
        provider=row.provider,
        upstream_id=row.upstream_id,
        owner=row.owner,
        request_count=row.request_count,
        upstream_state=orjson.loads(row.upstream_state),
        processing_status=row.processing_status,
        request_counts=orjson.loads(row.request_counts),
        created_at=as_utc(row.created_at),  # type: ignore[arg-type]
        expires_at=as_utc(row.expires_at),  # type: ignore[arg-type]
        ended_at=as_utc(row.ended_at),
        cancel_initiated_at=as_utc(row.cancel_initiated_at),
        archived_at=as_utc(row.archived_at),
    )


async def insert_batch(connection: AsyncConnection, record: BatchRecord) -> None:
    """The batch's row, in the caller's transaction (``finops.store.intents`` completes an intent with it)."""
    await connection.execute(
        batches.insert().values(
            id=record.id,
            provider=record.provider,
            upstream_id=record.upstream_id,
            owner=record.owner,
            request_count=record.request_count,
            upstream_state=orjson.dumps(record.upstream_state).decode(),
            processing_status=record.processing_status,
            request_counts=orjson.dumps(record.request_counts).decode(),
            created_at=record.created_at,
            expires_at=record.expires_at,
            ended_at=record.ended_at,
            cancel_initiated_at=record.cancel_initiated_at,
            archived_at=record.archived_at,
        )
    )


class BatchRepository(OwnedRepository[BatchRecord]):
    table = batches
    _record = staticmethod(_record)

    async def add(self, record: BatchRecord) -> None:
        async with self._engine.begin() as connection:
            await insert_batch(connection, record)

    async def upstream_ids_since(self, provider: str, since: datetime) -> frozenset[str]:
        """Upstream IDs of ``provider``'s batches recorded since ``since`` (the intent log's recovery excludes them)."""
        query = sa.select(batches.c.upstream_id).where(batches.c.provider == provider, batches.c.created_at >= since)
        async with self._engine.connect() as connection:
            return frozenset(row[0] for row in (await connection.execute(query)).all())

    async def get_any(self, batch_id: str) -> BatchRecord | None:
        """The batch whoever owns it, even once deleted (its results may still have to be read for its cost)."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(sa.select(batches).where(batches.c.id == batch_id))).first()
        return _record(row) if row else None

    async def update_status(
        self,
        batch_id: str,
        *,
        processing_status: str,
        request_counts: dict[str, int],
        ended_at: datetime | None,
        cancel_initiated_at: datetime | None,
    ) -> None:
        values: dict[str, Any] = {
            "processing_status": processing_status,
            "request_counts": orjson.dumps(dict(request_counts)).decode(),
            "ended_at": ended_at,
        }
        if cancel_initiated_at is not None:
            values["cancel_initiated_at"] = cancel_initiated_at
        async with self._engine.begin() as connection:
            await connection.execute(batches.update().where(batches.c.id == batch_id).values(**values))
