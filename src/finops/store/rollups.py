"""The daily usage rollup, kept by the ledger writer.

Every transaction that inserts usage rows adds their sums to ``usage_daily`` (one row per UTC day x key x
provider x model x batch) in the same transaction, so the rollup never disagrees with the ledger and reports
over days read a few thousand rows instead of millions.

Rows of one transaction are summed first and upserted in a fixed order: two processes writing at once then lock
the rollup rows they share in the same order, so they wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from finops.store.tables import usage_daily

_KEY = ("day", "key_id", "provider", "model", "batch")
_SUMS = (
    "requests",
    "unpriced_requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "saved_usd",
)
_PER_STATEMENT = 100  # 15 parameters a row: well under SQLite's and asyncpg's limits


class LedgerRow(Protocol):
    """What the rollup reads of a usage row (``finops.store.usage.UsageRow``)."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def key_id(self) -> str | None: ...
    @property
    def key_name(self) -> str | None: ...
    @property
    def provider(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cache_read_tokens(self) -> int: ...
    @property
    def cache_write_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> Decimal | None: ...
    @property
    def batch_id(self) -> str | None: ...


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of ``moment`` (a naive time is UTC, as everywhere in the store)."""
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def daily_sums(rows: Iterable[LedgerRow]) -> list[dict[str, Any]]:
    """The rollup increments for ``rows``, sorted by the rollup's key."""
    sums: dict[tuple[date, str, str, str, bool], dict[str, Any]] = {}
    for row in rows:
        key = (utc_day(row.created_at), row.key_id or "", row.provider, row.model, row.batch_id is not None)
        item = sums.get(key)
        if item is None:
            item = dict(zip(_KEY, key, strict=True))
            item.update({name: 0 for name in _SUMS})
            item["cost_usd"] = item["saved_usd"] = Decimal(0)
            sums[key] = item
        item["key_name"] = row.key_name
        item["requests"] += 1
        if row.cost_usd is None:
            item["unpriced_requests"] += 1
        else:
            item["cost_usd"] += Decimal(row.cost_usd)
        item["input_tokens"] += row.input_tokens
        item["output_tokens"] += row.output_tokens
        item["cache_read_tokens"] += row.cache_read_tokens
        item["cache_write_tokens"] += row.cache_write_tokens
    return [sums[key] for key in sorted(sums)]


def _upsert(dialect: str, values: list[dict[str, Any]]) -> sa.Insert:
    if dialect == "postgresql":
        insert: Any = postgresql.insert(usage_daily)
    elif dialect == "sqlite":
        insert = sqlite.insert(usage_daily)
    else:
        raise NotImplementedError(f"the usage rollup needs SQLite or PostgreSQL, not {dialect}")
    statement = insert.values(values)
    changes = {name: usage_daily.c[name] + statement.excluded[name] for name in _SUMS}
    changes["key_name"] = statement.excluded.key_name
    upsert: sa.Insert = statement.on_conflict_do_update(index_elements=list(_KEY), set_=changes)
    return upsert


async def add_to_daily(connection: AsyncConnection, rows: Sequence[LedgerRow]) -> None:
    """Add ``rows`` to the rollup, inside the caller's transaction (the one inserting them into the ledger)."""
    sums = daily_sums(rows)
    dialect = connection.dialect.name
    for start in range(0, len(sums), _PER_STATEMENT):
        await connection.execute(_upsert(dialect, sums[start : start + _PER_STATEMENT]))
