"""The daily rollup the console and the export read: always equal to the ledger, whoever writes it (the ledger
writer, a batch's recorded usage, concurrent writers, the migration that backfills an existing ledger)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig

from finops.store.db import MIGRATIONS_DIR, create_engine, migrate
from finops.store.reports import ReportRepository
from finops.store.rollups import SUMS
from finops.store.tables import usage_records
from finops.store.usage import PendingBatch, UsageRepository, UsageRow
from tests.conftest import POSTGRES_URL, _database_params
from tests.support.databases import scratch_postgres_database

START = datetime(2026, 10, 30, 22, 0, tzinfo=UTC)  # rows cross midnight and a month end


def _rows(count: int, seed: int) -> list[UsageRow]:
    chooser = random.Random(seed)
    rows = []
    for index in range(count):
        key = chooser.choice([None, "vk_a", "vk_b", "vk_c"])
        cost = None if index % 17 == 0 else Decimal(chooser.randint(1, 10_000)) / Decimal(1_000_000)
        rows.append(
            UsageRow(
                created_at=START + timedelta(minutes=37 * index),
                key_id=key,
                key_name=key and key.upper(),
                owner=f"key:{key}" if key else "anon:x",
                provider=chooser.choice(["anthropic", "openai"]),
                model=chooser.choice(["m-1", "m-2", "m-3"]),
                input_tokens=chooser.randint(0, 5000),
                output_tokens=chooser.randint(0, 900),
                cache_read_tokens=chooser.randint(0, 300),
                cache_write_tokens=chooser.randint(0, 30),
                cost_usd=cost,
                batch_id="msgbatch_x" if index % 5 == 0 else None,
            )
        )
    return rows


def _by(rows: list[dict[str, Any]], *names: str) -> dict[tuple[Any, ...], tuple[int, int, int, float]]:
    return {
        tuple(str(row[name] or "") for name in names): (
            row["requests"],
            row["unpriced_requests"],
            row["input_tokens"] + row["output_tokens"] + row["cache_read_tokens"] + row["cache_write_tokens"],
            round(float(row["cost_usd"]), 9),
        )
        for row in rows
    }


async def _compare(engine: Any) -> None:
    """Each of the three rollups against the ledger's own report."""
    ledger = UsageRepository(engine)
    rollup = ReportRepository(engine)
    for group in ("day", "key", "provider", "model"):
        expected = await ledger.report(group, None, None)
        columns = {"day": ("day",), "key": ("key_id",), "provider": ("provider",), "model": ("model",)}[group]
        found = await rollup.sums(by=columns, start=None, end=None, only_key=None)  # the narrow rollups
        name = "key_id" if group == "key" else group
        assert _by(found, name) == _by(expected, name), group
        full: dict[str, dict[str, Any]] = {}  # the full grain, summed here
        async for page in rollup.rollup_pages(start=None, end=None, page_size=97):
            for row in page:
                label = str(row[name] or "")
                item = full.setdefault(label, {**{total: 0 for total in SUMS}, name: label})
                for total in SUMS:
                    item[total] += row[total]
        assert _by(list(full.values()), name) == _by(expected, name), f"{group} (full grain)"
    for key_id in ("vk_a", "vk_b"):  # one key's view reads the full grain
        expected_key = next(row for row in await ledger.report("key", None, None) if row["key_id"] == key_id)
        by_model = await rollup.sums(by=("model",), start=None, end=None, only_key=key_id)
        assert sum(row["requests"] for row in by_model) == expected_key["requests"]


@pytest.fixture(params=_database_params())
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own (these tests count every row, and one starts before migration 0003)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'rollup.db'}"
        return
    with scratch_postgres_database(POSTGRES_URL or "", "finops_rollup") as url:
        yield url


def test_the_rollup_equals_the_ledger_for_every_writer(engine_url: str) -> None:
    async def run() -> None:
        engine = create_engine(engine_url)
        await migrate(engine)
        ledger = UsageRepository(engine)
        try:
            rows = _rows(400, seed=1)
            for start in range(0, 300, 37):
                await ledger.add_many(rows[start : min(start + 37, 300)])
            # A batch's usage is recorded in one transaction with its lease, through the same writer.
            pending = PendingBatch("msgbatch_x", "vk_a", "VK_A", "key:vk_a", "anthropic", Decimal("1"))
            await ledger.add_batch(pending, START)
            assert await ledger.lease("msgbatch_x", "proc", 60)
            assert await ledger.record_batch("msgbatch_x", "proc", rows[300:], Decimal("0.5"))
            await _compare(engine)
            days = await ReportRepository(engine).sums(by=("day",), start=None, end=None, only_key=None)
            assert [row["day"] for row in days][:3] == [date(2026, 10, 30), date(2026, 10, 31), date(2026, 11, 1)]
            only_b = await ReportRepository(engine).sums(by=(), start=None, end=None, only_key="vk_b")
            expected_b = [row for row in await ledger.report("key", None, None) if row["key_id"] == "vk_b"]
            assert only_b[0]["requests"] == expected_b[0]["requests"]
        finally:
            await engine.dispose()

    asyncio.run(run())


def test_concurrent_writers_on_the_same_rollup_rows_neither_deadlock_nor_lose_counts(engine_url: str) -> None:
    async def run() -> None:
        engines = [create_engine(engine_url) for _ in range(4)]
        await migrate(engines[0])
        try:
            batches = [_rows(300, seed=10 + n) for n in range(4)]
            # Each writer sees its rows in a different order; they share every rollup row.
            for number, rows in enumerate(batches):
                random.Random(number).shuffle(rows)

            async def write(engine: Any, rows: list[UsageRow]) -> None:
                ledger = UsageRepository(engine)
                for start in range(0, len(rows), 60):
                    await ledger.add_many(rows[start : start + 60])

            await asyncio.wait_for(
                asyncio.gather(*(write(engine, rows) for engine, rows in zip(engines, batches, strict=True))), 60
            )
            await _compare(engines[0])
            (total,) = await ReportRepository(engines[0]).sums(by=(), start=None, end=None, only_key=None)
            assert total["requests"] == 1200
        finally:
            for engine in engines:
                await engine.dispose()

    asyncio.run(run())


def test_the_migration_backfills_the_rollup_from_an_existing_ledger(engine_url: str) -> None:
    def upgrade(connection: sa.Connection, revision: str) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async def run() -> None:
        engine = create_engine(engine_url)
        try:
            async with engine.begin() as connection:
                await connection.run_sync(upgrade, "0002")
                later = ("latency_ms", "status", "cache_hit", "saved_usd", "entry_id")  # columns added after 0002
                columns = [column.name for column in usage_records.columns if column.name not in later]
                values = [{name: row.__dict__[name] for name in columns if name != "seq"} for row in _rows(250, seed=3)]
                legacy = sa.table("usage_records", *(sa.column(name, usage_records.c[name].type) for name in columns))
                await connection.execute(legacy.insert(), values)
            await migrate(engine)  # 0002 -> head
            await _compare(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
