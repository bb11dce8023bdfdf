"""The daily usage rollups, kept by the ledger writer.

Every transaction that inserts usage rows adds their sums, in the same transaction, to three rollups of UTC days:
``usage_daily`` (day x key x provider x model x batch, for one key's views and the export), ``usage_daily_models``
(day x provider x model x batch) and ``usage_daily_keys`` (day x key), for an admin's views over every key. They
never disagree with the ledger, and a report over 90 days reads a few thousand rows whatever the ledger holds.

Rows of one transaction are summed first and upserted table by table, each in key order: two processes writing at
once then lock the rollup rows they share in the same order, so they wait for each other instead of deadlocking.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from finops.store.tables import usage_daily, usage_daily_keys, usage_daily_models

SUMS = (
    "requests",
    "unpriced_requests",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
    "saved_usd",
)


@dataclass(frozen=True)
class Rollup:
    table: sa.Table
    key: tuple[str, ...]

    @property
    def named(self) -> bool:
        return "key_id" in self.key


# The order in which every writer locks them.
ROLLUPS = (
    Rollup(usage_daily, ("day", "key_id", "provider", "model", "batch")),
    Rollup(usage_daily_models, ("day", "provider", "model", "batch")),
    Rollup(usage_daily_keys, ("day", "key_id")),
)
_FULL = ROLLUPS[0]


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
    @property
    def saved_usd(self) -> Decimal | None: ...


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of ``moment`` (a naive time is UTC, as everywhere in the store)."""
    return (moment if moment.tzinfo is None else moment.astimezone(UTC)).date()


def daily_sums(rows: Iterable[LedgerRow]) -> list[dict[str, Any]]:
    """The full-grain rollup increments for ``rows`` (``usage_daily``), sorted by its key."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (utc_day(row.created_at), row.key_id or "", row.provider, row.model, row.batch_id is not None)
        item = sums.get(key)
        if item is None:
            item = dict(zip(_FULL.key, key, strict=True))
            item.update({name: 0 for name in SUMS})
            item["cost_usd"] = item["saved_usd"] = Decimal(0)
            sums[key] = item
        item["key_name"] = row.key_name
        item["requests"] += 1
        if row.cost_usd is None:
            item["unpriced_requests"] += 1
        else:
            item["cost_usd"] += Decimal(row.cost_usd)
        if row.saved_usd is not None:  # a response-cache hit: what the live request would have cost
            item["saved_usd"] += Decimal(row.saved_usd)
        item["input_tokens"] += row.input_tokens
        item["output_tokens"] += row.output_tokens
        item["cache_read_tokens"] += row.cache_read_tokens
        item["cache_write_tokens"] += row.cache_write_tokens
    return [sums[key] for key in sorted(sums)]


def coarser(full: Sequence[dict[str, Any]], rollup: Rollup) -> list[dict[str, Any]]:
    """Full-grain increments summed again for a narrower rollup, sorted by its key."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in full:
        key = tuple(item[name] for name in rollup.key)
        target = sums.get(key)
        if target is None:
            target = dict(zip(rollup.key, key, strict=True))
            target.update({name: item[name] for name in SUMS})
            sums[key] = target
        else:
            for name in SUMS:
                target[name] += item[name]
        if rollup.named:
            target["key_name"] = item["key_name"]
    return [sums[key] for key in sorted(sums)]


@functools.cache
def _upsert(dialect: str, rollup: Rollup) -> sa.Insert:
    """``INSERT ... ON CONFLICT DO UPDATE`` adding to the sums: one statement, run once per row (executemany), so
    SQLAlchemy compiles it once per process."""
    if dialect == "postgresql":
        insert: Any = postgresql.insert(rollup.table)
    elif dialect == "sqlite":
        insert = sqlite.insert(rollup.table)
    else:
        raise NotImplementedError(f"the usage rollups need SQLite or PostgreSQL, not {dialect}")
    changes = {name: rollup.table.c[name] + insert.excluded[name] for name in SUMS}
    if rollup.named:
        changes["key_name"] = insert.excluded.key_name
    upsert: sa.Insert = insert.on_conflict_do_update(index_elements=list(rollup.key), set_=changes)
    return upsert


async def add_to_daily(connection: AsyncConnection, rows: Sequence[LedgerRow]) -> None:
    """Add ``rows`` to the rollups, inside the caller's transaction (the one inserting them into the ledger)."""
    full = daily_sums(rows)
    dialect = connection.dialect.name
    for rollup in ROLLUPS:
        values = full if rollup is _FULL else coarser(full, rollup)
        if values:
            await connection.execute(_upsert(dialect, rollup), values)
