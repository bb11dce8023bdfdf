"""The usage ledger (one row per priced request) and per-batch cost bookkeeping.

Batch costs are recorded exactly once across gateway processes: a process first takes a lease on the batch with
a conditional UPDATE, and writes the usage rows in the same transaction that marks the batch recorded (guarded
by its lease), so a crash anywhere leaves either nothing or everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from finops.store.rollups import add_to_daily
from finops.store.tables import batch_costs, usage_daily_keys, usage_records


@dataclass(frozen=True)
class UsageRow:
    created_at: datetime
    key_id: str | None
    key_name: str | None
    owner: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal | None
    batch_id: str | None = None
    request_id: str | None = None
    latency_ms: int | None = None
    status: int | None = None  # the HTTP status answered; None for a batch's results
    cache_hit: bool = False
    """Answered by the response cache: ``cost_usd`` is 0, ``saved_usd`` what the live request cost."""
    saved_usd: Decimal | None = None
    entry_id: str | None = None
    """The row's journal entry (``finops.governance.journal``); ``None`` when it was never journaled."""


@dataclass(frozen=True)
class PendingBatch:
    batch_id: str
    key_id: str | None
    key_name: str | None
    owner: str
    provider: str
    reserved_usd: Decimal | None


GROUPS = ("key", "provider", "model", "day")

# Rows per INSERT statement. Preparing a statement's parameters runs on the event loop (about 5 µs a row), so a
# long batch written as one statement stalls every request for its whole length; in chunks, requests get a turn
# between statements, in the same transaction.
_ROWS_PER_STATEMENT = 25
_IDS_PER_QUERY = 500  # entry ids per SELECT … IN (…) when a journal is replayed


async def _insert_rows(connection: AsyncConnection, rows: Sequence[UsageRow]) -> None:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        await connection.execute(usage_records.insert(), [row.__dict__ for row in chunk])
    await add_to_daily(connection, rows)  # same transaction: the rollup always equals the ledger


def _dec(value: Any) -> Decimal:
    return Decimal(value) if value is not None else Decimal(0)


async def spend_since(connection: AsyncConnection, key_id: str, since: datetime | None) -> Decimal:
    """The key's recorded cost since ``since`` (a UTC midnight: budget periods start on one) plus the reservations
    of its batches not recorded yet. Read from the daily rollup, kept in the ledger's own transactions: a budget
    check costs two indexed reads of a few rows, whatever the ledger holds, so it can afford to ask every time."""
    spent = sa.select(sa.func.sum(usage_daily_keys.c.cost_usd)).where(usage_daily_keys.c.key_id == key_id)
    if since is not None:
        spent = spent.where(usage_daily_keys.c.day >= since.astimezone(UTC).date())
    reserved = sa.select(sa.func.sum(batch_costs.c.reserved_usd)).where(
        batch_costs.c.key_id == key_id, batch_costs.c.usage_recorded_at.is_(None)
    )
    # One statement, one round trip (on SQLite each is a hop to aiosqlite's thread): it runs on every request.
    row = (await connection.execute(sa.select(spent.scalar_subquery(), reserved.scalar_subquery()))).one()
    return _dec(row[0]) + _dec(row[1])


async def insert_pending_batch(connection: AsyncConnection, pending: PendingBatch, created_at: datetime) -> None:
    await connection.execute(batch_costs.insert().values(**pending.__dict__, created_at=created_at))


def _pending(row: sa.Row[Any]) -> PendingBatch:
    return PendingBatch(
        batch_id=row.batch_id,
        key_id=row.key_id,
        key_name=row.key_name,
        owner=row.owner,
        provider=row.provider,
        reserved_usd=Decimal(row.reserved_usd) if row.reserved_usd is not None else None,
    )


class UsageRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_many(self, rows: Sequence[UsageRow]) -> None:
        if not rows:
            return
        async with self._engine.begin() as connection:
            await _insert_rows(connection, rows)

    async def add_missing(self, rows: Sequence[UsageRow]) -> int:
        """Insert the journaled ``rows`` whose ``entry_id`` is not in the ledger yet (replaying a dead process's
        journal: it may have committed some of them before it died); returns how many were inserted."""
        async with self._engine.begin() as connection:
            present: set[str] = set()
            ids = [row.entry_id for row in rows if row.entry_id is not None]
            for start in range(0, len(ids), _IDS_PER_QUERY):
                chunk = ids[start : start + _IDS_PER_QUERY]
                found = await connection.execute(
                    sa.select(usage_records.c.entry_id).where(usage_records.c.entry_id.in_(chunk))
                )
                present.update(entry_id for (entry_id,) in found)
            missing = [row for row in rows if row.entry_id is None or row.entry_id not in present]
            if missing:
                await _insert_rows(connection, missing)
            return len(missing)

    async def key_spend(self, key_id: str, since: datetime | None) -> Decimal:
        """Recorded cost since ``since`` plus the reservations of the key's batches not recorded yet."""
        async with self._engine.connect() as connection:
            return await spend_since(connection, key_id, since)

    async def report(self, group_by: str, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        if group_by not in GROUPS:
            raise ValueError(group_by)
        columns: list[sa.ColumnElement[Any]]
        if group_by == "key":
            columns = [usage_records.c.key_id, usage_records.c.key_name]
        elif group_by == "day":
            columns = [sa.func.date(usage_records.c.created_at).label("day")]
        else:
            columns = [usage_records.c[group_by]]
        query = sa.select(
            *columns,
            sa.func.count().label("requests"),
            sa.func.sum(usage_records.c.input_tokens).label("input_tokens"),
            sa.func.sum(usage_records.c.output_tokens).label("output_tokens"),
            sa.func.sum(usage_records.c.cache_read_tokens).label("cache_read_tokens"),
            sa.func.sum(usage_records.c.cache_write_tokens).label("cache_write_tokens"),
            sa.func.sum(usage_records.c.cost_usd).label("cost_usd"),
            sa.func.count(usage_records.c.cost_usd).label("priced_requests"),
            sa.func.sum(sa.case((usage_records.c.cache_hit, 1), else_=0)).label("cache_hits"),
            sa.func.sum(usage_records.c.saved_usd).label("saved_usd"),
        ).group_by(*columns)
        if start is not None:
            query = query.where(usage_records.c.created_at >= start)
        if end is not None:
            query = query.where(usage_records.c.created_at < end)
        query = query.order_by(*columns)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        result = []
        for row in rows:
            item = {str(name): value for name, value in row.items()}
            if "day" in item:
                item["day"] = str(item["day"])
            for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
                item[name] = int(item[name] or 0)
            item["cost_usd"] = _dec(item["cost_usd"])
            item["saved_usd"] = _dec(item["saved_usd"])
            item["cache_hits"] = int(item["cache_hits"] or 0)
            item["unpriced_requests"] = item["requests"] - item.pop("priced_requests")
            result.append(item)
        return result

    # Batches --------------------------------------------------------------------------------------------------

    async def add_batch(self, pending: PendingBatch, created_at: datetime) -> None:
        async with self._engine.begin() as connection:
            await insert_pending_batch(connection, pending, created_at)

    async def unrecorded_batches(self, now: datetime, limit: int) -> list[PendingBatch]:
        query = (
            sa.select(batch_costs)
            .where(
                batch_costs.c.usage_recorded_at.is_(None),
                sa.or_(batch_costs.c.lease_expires_at.is_(None), batch_costs.c.lease_expires_at < now),
            )
            .order_by(batch_costs.c.lease_expires_at.nulls_first(), batch_costs.c.created_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [_pending(row) for row in rows]

    async def pending_batch(self, batch_id: str) -> PendingBatch | None:
        query = sa.select(batch_costs).where(
            batch_costs.c.batch_id == batch_id, batch_costs.c.usage_recorded_at.is_(None)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _pending(row) if row else None

    async def lease(self, batch_id: str, owner: str, seconds: float) -> bool:
        """Take the batch for ``seconds`` unless another process holds a live lease or it is recorded already."""
        now = datetime.now(UTC)
        statement = (
            batch_costs.update()
            .where(
                batch_costs.c.batch_id == batch_id,
                batch_costs.c.usage_recorded_at.is_(None),
                sa.or_(
                    batch_costs.c.lease_expires_at.is_(None),
                    batch_costs.c.lease_expires_at < now,
                    batch_costs.c.lease_owner == owner,
                ),
            )
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=seconds))
        )
        async with self._engine.begin() as connection:
            return (await connection.execute(statement)).rowcount == 1

    async def postpone(self, batch_id: str, owner: str, seconds: float) -> None:
        """Keep the batch leased (by nobody in particular) until it is worth looking again."""
        statement = (
            batch_costs.update()
            .where(batch_costs.c.batch_id == batch_id, batch_costs.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=datetime.now(UTC) + timedelta(seconds=seconds))
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def record_batch(self, batch_id: str, owner: str, rows: Sequence[UsageRow], cost: Decimal | None) -> bool:
        """Write the batch's usage rows and mark it recorded, atomically and only while ``owner`` holds it."""
        async with self._engine.begin() as connection:
            marked = await connection.execute(
                batch_costs.update()
                .where(
                    batch_costs.c.batch_id == batch_id,
                    batch_costs.c.lease_owner == owner,
                    batch_costs.c.usage_recorded_at.is_(None),
                )
                .values(usage_recorded_at=datetime.now(UTC), cost_usd=cost, lease_expires_at=None)
            )
            if marked.rowcount != 1:
                return False
            await _insert_rows(connection, rows)
        return True
