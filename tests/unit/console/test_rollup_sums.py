"""How ledger rows add up in the daily rollup before they are written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from finops.store.rollups import daily_sums, utc_day
from finops.store.usage import UsageRow


def _row(created_at: datetime, key: str | None, cost: str | None, batch: str | None = None) -> UsageRow:
    return UsageRow(
        created_at, key, key and key.upper(), "o", "openai", "gpt-4o-mini", 10, 5, 2, 1,
        None if cost is None else Decimal(cost), batch_id=batch,
    )  # fmt: skip


def test_rows_are_summed_per_utc_day_key_and_batch_in_key_order() -> None:
    late = datetime(2026, 11, 30, 23, 59, tzinfo=UTC)
    rows = [
        _row(late + timedelta(minutes=2), "vk_b", "0.5"),  # already December in UTC
        _row(late, "vk_b", "0.25"),
        _row(late, "vk_b", None),
        _row(late, None, "1"),
        _row(late, "vk_b", "2", batch="msgbatch_1"),
        _row(datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=2))), "vk_b", "0.125"),  # Nov 30 in UTC
    ]
    sums = daily_sums(rows)
    keys = [(item["day"], item["key_id"], item["batch"]) for item in sums]
    assert keys == [
        (date(2026, 11, 30), "", False),
        (date(2026, 11, 30), "vk_b", False),
        (date(2026, 11, 30), "vk_b", True),
        (date(2026, 12, 1), "vk_b", False),
    ]
    november_b = sums[1]
    assert (november_b["requests"], november_b["unpriced_requests"], november_b["cost_usd"]) == (3, 1, Decimal("0.375"))
    assert november_b["input_tokens"] == 30 and november_b["key_name"] == "VK_B"


def test_a_naive_time_is_utc() -> None:
    assert utc_day(datetime(2026, 11, 30, 23, 0)) == date(2026, 11, 30)
