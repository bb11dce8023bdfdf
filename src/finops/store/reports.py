"""Read-only queries for the console and the cost export: sums over the daily rollup, the newest ledger rows,
and every owner's batches and files (an admin's view).

Every query that can be narrowed to one virtual key takes ``only_key``: ``None`` means every key and is only ever
passed for an admin (``finops.api.ui.auth.Viewer.only_key`` is the single place that decides).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from finops.store.batches import _record as _batch_record  # the same row -> record mapping as the owner's view
from finops.store.files import _record as _file_record
from finops.store.records import BatchRecord, FileRecord, as_utc
from finops.store.rollups import ROLLUPS, SUMS
from finops.store.tables import batch_costs, batches, files, usage_daily, usage_daily_keys, usage_records

ROLLUP_KEY = ROLLUPS[0].key
GROUPABLE = (*ROLLUP_KEY, "key_name")
_MONEY = ("cost_usd", "saved_usd")


def _narrowest(needed: set[str]) -> sa.Table:
    """The smallest rollup that has every column a query needs (the models one is smallest, the full one largest)."""
    for rollup in (ROLLUPS[1], ROLLUPS[2], ROLLUPS[0]):
        if needed <= set(rollup.table.c.keys()):
            return rollup.table
    raise ValueError(f"no rollup has {sorted(needed)}")


def _money(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if value is not None else Decimal(0)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _sum_rows(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """Rollup rows as dicts, with money as Decimal and days as dates (SQLite answers floats and strings)."""
    names = list(result.keys())
    money = [index for index, name in enumerate(names) if name in _MONEY]
    counts = [index for index, name in enumerate(names) if name in SUMS and name not in _MONEY]
    day = names.index("day") if "day" in names else None
    batch = names.index("batch") if "batch" in names else None
    found = []
    for row in result.all():
        values = list(row)
        for index in money:
            values[index] = _money(values[index])
        for index in counts:
            values[index] = int(values[index] or 0)
        if day is not None:
            values[day] = _day(values[day])
        if batch is not None:
            values[batch] = bool(values[batch])
        found.append(dict(zip(names, values, strict=True)))
    return found


@dataclass(frozen=True)
class RequestRow:
    seq: int
    created_at: datetime
    key_id: str | None
    key_name: str | None
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: Decimal | None
    batch_id: str | None
    request_id: str | None
    latency_ms: int | None
    status: int | None


@dataclass(frozen=True)
class RequestFilter:
    provider: str | None = None
    model: str | None = None
    key_id: str | None = None
    unpriced: bool = False


@dataclass(frozen=True)
class BatchCost:
    key_id: str | None
    key_name: str | None
    reserved_usd: Decimal | None
    cost_usd: Decimal | None
    recorded_at: datetime | None


@dataclass(frozen=True)
class BatchView:
    batch: BatchRecord
    cost: BatchCost | None


def _batch_view(row: sa.Row[Any]) -> BatchView:
    cost = None
    if row.cost_batch_id is not None:
        cost = BatchCost(
            key_id=row.cost_key_id,
            key_name=row.cost_key_name,
            reserved_usd=_money(row.reserved_usd) if row.reserved_usd is not None else None,
            cost_usd=_money(row.recorded_cost_usd) if row.recorded_cost_usd is not None else None,
            recorded_at=as_utc(row.usage_recorded_at),
        )
    return BatchView(_batch_record(row), cost)


class ReportRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # The daily rollup ---------------------------------------------------------------------------------------

    async def sums(
        self,
        *,
        by: Sequence[str],
        start: date | None,
        end: date | None,
        only_key: str | None,
        batch: bool | None = None,
        totals: Sequence[str] = SUMS,
    ) -> list[dict[str, Any]]:
        """Rollup sums (``totals``, default all) over ``[start, end)`` grouped by ``by`` (rollup columns); ``by=()``
        gives one total row. ``batch`` keeps only batch (True) or only real-time (False) usage."""
        unknown = set(by) - set(GROUPABLE)
        if unknown:
            raise ValueError(f"cannot group the rollup by {sorted(unknown)}")
        needed = (
            {*by, "day"} | ({"key_id"} if only_key is not None else set()) | ({"batch"} if batch is not None else set())
        )
        table = _narrowest(needed)
        groups = [table.c[name] for name in by if name != "key_name"]
        columns: list[Any] = list(groups)
        if "key_name" in by:
            columns.append(sa.func.max(table.c.key_name).label("key_name"))
        columns += [sa.func.coalesce(sa.func.sum(table.c[name]), 0).label(name) for name in totals]
        query = sa.select(*columns)
        if start is not None:
            query = query.where(table.c.day >= start)
        if end is not None:
            query = query.where(table.c.day < end)
        if only_key is not None:
            query = query.where(table.c.key_id == only_key)
        if batch is not None:
            query = query.where(table.c.batch.is_(batch))
        if groups:
            query = query.group_by(*groups).order_by(*groups)
        async with self._engine.connect() as connection:
            return _sum_rows(await connection.execute(query))

    async def key_spend_since(self, starts: dict[str, date | None]) -> dict[str, dict[str, Decimal]]:
        """Cost per key since each named start (``None`` = all time): ``{name: {key_id: usd}}``."""
        spend: dict[str, dict[str, Decimal]] = {}
        async with self._engine.connect() as connection:
            for name, start in starts.items():
                table = usage_daily_keys
                query = sa.select(table.c.key_id, sa.func.sum(table.c.cost_usd)).where(table.c.key_id != "")
                if start is not None:
                    query = query.where(table.c.day >= start)
                rows = (await connection.execute(query.group_by(table.c.key_id))).all()
                spend[name] = {row[0]: _money(row[1]) for row in rows}
        return spend

    async def reservations(self) -> dict[str, Decimal]:
        """Per key, the reserved cost of its batches whose usage is not recorded yet (budgets count it)."""
        query = (
            sa.select(batch_costs.c.key_id, sa.func.sum(batch_costs.c.reserved_usd))
            .where(batch_costs.c.usage_recorded_at.is_(None), batch_costs.c.key_id.is_not(None))
            .group_by(batch_costs.c.key_id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {row[0]: _money(row[1]) for row in rows}

    async def rollup_pages(
        self, *, start: date | None, end: date | None, page_size: int = 1000
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Every rollup row in ``[start, end)`` in key order, a page at a time, each page read in its own short
        transaction (an export to a slow client never holds a lock the ledger writer waits for)."""
        key = sa.tuple_(*(usage_daily.c[name] for name in ROLLUP_KEY))
        after: tuple[Any, ...] | None = None
        while True:
            query = sa.select(usage_daily).order_by(*(usage_daily.c[name] for name in ROLLUP_KEY)).limit(page_size)
            if start is not None:
                query = query.where(usage_daily.c.day >= start)
            if end is not None:
                query = query.where(usage_daily.c.day < end)
            if after is not None:
                query = query.where(key > sa.tuple_(*(sa.literal(value) for value in after)))
            async with self._engine.connect() as connection:
                rows = _sum_rows(await connection.execute(query))
            if not rows:
                return
            yield rows
            if len(rows) < page_size:
                return
            last = rows[-1]
            after = tuple(last[name] for name in ROLLUP_KEY)

    # The ledger ---------------------------------------------------------------------------------------------

    async def recent_requests(
        self, *, only_key: str | None, where: RequestFilter, before_seq: int | None, limit: int
    ) -> tuple[list[RequestRow], int | None]:
        """The newest ledger rows (older than ``before_seq``), and the cursor of the next page (None: last page)."""
        table = usage_records
        query = sa.select(*(table.c[name] for name in RequestRow.__dataclass_fields__))
        if only_key is not None:
            query = query.where(table.c.key_id == only_key)
        if where.key_id is not None:
            query = query.where(table.c.key_id == where.key_id)
        if where.provider is not None:
            query = query.where(table.c.provider == where.provider)
        if where.model is not None:
            query = query.where(table.c.model == where.model)
        if where.unpriced:
            query = query.where(table.c.cost_usd.is_(None))
        if before_seq is not None:
            query = query.where(table.c.seq < before_seq)
        query = query.order_by(table.c.seq.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        found = [
            RequestRow(
                **{
                    **row._asdict(),
                    "created_at": as_utc(row.created_at),
                    "cost_usd": _money(row.cost_usd) if row.cost_usd is not None else None,
                }
            )
            for row in rows[:limit]
        ]
        return found, (found[-1].seq if len(rows) > limit else None)

    async def models(self, *, only_key: str | None) -> list[str]:
        """Every model in the rollup (for filter choices)."""
        table = _narrowest({"model", "key_id"} if only_key is not None else {"model"})
        query = sa.select(table.c.model).distinct().order_by(table.c.model)
        if only_key is not None:
            query = query.where(table.c.key_id == only_key)
        async with self._engine.connect() as connection:
            return [row[0] for row in (await connection.execute(query)).all()]

    # Batches and files of every owner (or one) ----------------------------------------------------------------

    def _batches_query(self) -> sa.Select[Any]:
        return sa.select(
            batches,
            batch_costs.c.batch_id.label("cost_batch_id"),
            batch_costs.c.key_id.label("cost_key_id"),
            batch_costs.c.key_name.label("cost_key_name"),
            batch_costs.c.reserved_usd,
            batch_costs.c.cost_usd.label("recorded_cost_usd"),
            batch_costs.c.usage_recorded_at,
        ).select_from(batches.outerjoin(batch_costs, batch_costs.c.batch_id == batches.c.id))

    async def batches(
        self, *, owner: str | None, before_seq: int | None, limit: int
    ) -> tuple[list[BatchView], int | None]:
        """Live batches newest first, of ``owner`` (None: every owner), with their reserved and recorded cost."""
        query = self._batches_query().where(batches.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(batches.c.owner == owner)
        if before_seq is not None:
            query = query.where(batches.c.seq < before_seq)
        query = query.order_by(batches.c.seq.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        found = [(row.seq, _batch_view(row)) for row in rows[:limit]]
        return [view for _, view in found], (found[-1][0] if len(rows) > limit else None)

    async def batch(self, batch_id: str, *, owner: str | None) -> BatchView | None:
        query = self._batches_query().where(batches.c.id == batch_id, batches.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(batches.c.owner == owner)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _batch_view(row) if row else None

    async def files(
        self, *, owner: str | None, before_seq: int | None, limit: int
    ) -> tuple[list[FileRecord], int | None]:
        """Live files newest first, of ``owner`` (None: every owner)."""
        query = sa.select(files).where(files.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(files.c.owner == owner)
        if before_seq is not None:
            query = query.where(files.c.seq < before_seq)
        query = query.order_by(files.c.seq.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        found = [(row.seq, _file_record(row)) for row in rows[:limit]]
        return [record for _, record in found], (found[-1][0] if len(rows) > limit else None)

    async def file(self, file_id: str, *, owner: str | None) -> FileRecord | None:
        query = sa.select(files).where(files.c.id == file_id, files.c.deleted_at.is_(None))
        if owner is not None:
            query = query.where(files.c.owner == owner)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _file_record(row) if row else None
