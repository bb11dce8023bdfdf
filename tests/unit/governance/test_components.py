"""Small governance parts: budget periods, local rate counters, the write-behind ledger and
the batch lease."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from finops.governance.ledger import UsageLedger
from finops.governance.metrics import GatewayMetrics
from finops.governance.ratelimit import MemoryCounters
from finops.governance.spend import SpendTracker, period_start
from finops.store import Store
from finops.store.usage import PendingBatch, UsageRepository, UsageRow
from tests.support.usage import a_usage_row


def test_budget_periods() -> None:
    now = datetime(2026, 11, 25, 15, 30, tzinfo=UTC)  # a Wednesday
    assert period_start("daily", now) == datetime(2026, 11, 25, tzinfo=UTC)
    assert period_start("weekly", now) == datetime(2026, 11, 23, tzinfo=UTC)
    assert period_start("monthly", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert period_start("total", now) is None


def test_memory_counters_count_within_a_window() -> None:
    async def run() -> list[int]:
        counters = MemoryCounters()
        values = [(await counters.add("k:rpm", 1))[0] for _ in range(3)]
        values.append((await counters.add("other", 5))[0])
        return values

    assert asyncio.run(run()) == [1, 2, 3, 5]


def test_ledger_loses_nothing_on_a_clean_shutdown(tmp_path: Path) -> None:
    async def run() -> tuple[list[dict], Decimal]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'ledger.db'}")
        repository = UsageRepository(store.engine)
        spend = SpendTracker(repository, ttl=60)
        ledger = UsageLedger(repository, spend, GatewayMetrics(), batch_size=7)
        ledger.start()
        for index in range(1000):
            spend.add("vk_unit", Decimal("0.001"), queued=True)
            ledger.record(a_usage_row(index))
        await ledger.stop()
        rows = await repository.report("key", None, None)
        spent = await spend.spent("vk_unit", "total")
        await store.close()
        return rows, spent

    rows, spent = asyncio.run(run())
    assert rows[0]["requests"] == 1000 and rows[0]["input_tokens"] == sum(range(1000))
    assert spent == Decimal("1.000")  # flushed rows are no longer counted twice


def test_only_one_process_can_lease_and_record_a_batch(tmp_path: Path) -> None:
    async def run() -> tuple[bool, bool, bool, bool]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'lease.db'}")
        repository = UsageRepository(store.engine)
        pending = PendingBatch("msgbatch_unit", "vk_unit", "unit", "key:vk_unit", "anthropic", Decimal("1"))
        await repository.add_batch(pending, datetime.now(UTC))
        first = await repository.lease(pending.batch_id, "proc_a", 60)
        second = await repository.lease(pending.batch_id, "proc_b", 60)
        stolen = await repository.record_batch(pending.batch_id, "proc_b", [a_usage_row(1)], Decimal("0.5"))
        recorded = await repository.record_batch(pending.batch_id, "proc_a", [a_usage_row(1)], Decimal("0.5"))
        await store.close()
        return first, second, stolen, recorded

    assert asyncio.run(run()) == (True, False, False, True)


def test_ledger_writes_once_per_window_under_steady_traffic(tmp_path: Path) -> None:
    class CountingRepository(UsageRepository):
        writes = 0

        async def add_many(self, rows):  # type: ignore[no-untyped-def]
            CountingRepository.writes += 1
            await super().add_many(rows)

    async def run() -> tuple[int, float]:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'window.db'}")
        repository = CountingRepository(store.engine)
        ledger = UsageLedger(repository, SpendTracker(repository), GatewayMetrics(), linger_seconds=0.1)
        ledger.start()
        started = time.monotonic()
        for index in range(600):  # up to 1,000 requests/s: rows arrive during every write
            ledger.record(a_usage_row(index))
            await asyncio.sleep(0.001)
        writes_while_serving, elapsed = CountingRepository.writes, time.monotonic() - started
        await ledger.stop()
        rows = await repository.report("key", None, None)
        await store.close()
        assert rows[0]["requests"] == 600  # and nothing is lost
        return writes_while_serving, elapsed

    writes, elapsed = asyncio.run(run())
    assert writes <= elapsed / 0.1 + 2  # one write per 0.1 s window, not one per request or two


def test_flush_waits_for_the_batch_the_writer_is_writing(tmp_path: Path) -> None:
    """The console flushes before it reads: a row the background writer already took off the queue must be in the
    store when ``flush`` returns, not still in flight."""

    class SlowRepository(UsageRepository):
        started = asyncio.Event()

        async def add_many(self, rows: list[UsageRow]) -> None:
            SlowRepository.started.set()
            await asyncio.sleep(0.2)
            await super().add_many(rows)

    async def run() -> int:
        store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'flush.db'}")
        repository = SlowRepository(store.engine)
        ledger = UsageLedger(repository, SpendTracker(repository), GatewayMetrics(), linger_seconds=0)
        ledger.start()
        ledger.record(a_usage_row(1))
        await SlowRepository.started.wait()  # the writer holds the row now; the queue is empty
        await ledger.flush()
        rows = await repository.report("key", None, None)
        await ledger.stop()
        await store.close()
        return int(rows[0]["requests"]) if rows else 0

    assert asyncio.run(run()) == 1
