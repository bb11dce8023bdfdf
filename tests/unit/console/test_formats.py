"""What the console prints: money, counts, sizes and times, formatted on the server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from finops.api.ui.render import compact, count, duration, percent, size, usd, when


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal(0), "$0.00"),
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("1"), "$1.00"),
        (Decimal("0.1234"), "$0.1234"),
        (Decimal("0.01"), "$0.0100"),
        (Decimal("0.000123"), "$0.000123"),
        (Decimal("0.0000001"), "<$0.000001"),
        (Decimal("-2.5"), "-$2.50"),
        (0.5, "$0.5000"),
        (None, "unpriced"),
    ],
    ids=lambda value: str(value),
)
def test_usd(amount: Decimal | float | None, shown: str) -> None:
    assert usd(amount) == shown


def test_counts_sizes_and_durations() -> None:
    assert count(1234567) == "1,234,567" and count(None) == "\N{EN DASH}"
    assert [compact(n) for n in (999, 1_500, 2_000_000, 3_100_000_000)] == ["999", "1.5k", "2.0M", "3.1B"]
    assert [size(n) for n in (512, 2048, 5 * 1024**2, 3 * 1024**3)] == ["512 B", "2.0 KB", "5.0 MB", "3.0 GB"]
    assert [duration(n) for n in (None, 87, 1500)] == ["\N{EN DASH}", "87 ms", "1.5 s"]
    assert percent(0.456) == "46 %" and percent(None) == "\N{EN DASH}"


def test_times_are_shown_in_utc() -> None:
    moment = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-2)))
    assert when(moment) == "2026-12-01 01:30:00 UTC"
    assert when(date(2026, 11, 30)) == "2026-11-30"
    assert when(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05 UTC"
