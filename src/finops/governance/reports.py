"""Spend reports, as ``GET /admin/usage`` and ``finops usage`` show them: one JSON shape for both."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from finops.core.errors import InvalidRequestError
from finops.store.usage import GROUPS, UsageRepository

_TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def parse_time(name: str, value: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 datetime (naive = UTC)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError(f"{name}: not an ISO date or datetime: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _report_json(group_by: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {
        "requests": 0,
        "cost_usd": Decimal(0),
        "unpriced_requests": 0,
        "cache_hits": 0,
        "saved_usd": Decimal(0),
    }
    for name in _TOKEN_COLUMNS:
        total[name] = 0
    for row in rows:
        for name in total:
            total[name] += row[name]
    money = ("cost_usd", "saved_usd")
    as_float = [{**row, **{name: float(row[name]) for name in money}} for row in rows]
    return {"group_by": group_by, "data": as_float, "total": {**total, **{name: float(total[name]) for name in money}}}


async def usage_report(
    usage: UsageRepository, group_by: str, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """Requests, tokens, cost, cache hits and what they saved per ``group_by`` (key, provider, model or day) in
    ``[start, end)``, and the total; money as floats (JSON numbers)."""
    if group_by not in GROUPS:
        raise InvalidRequestError(f"group_by: must be one of {', '.join(GROUPS)}")
    return _report_json(group_by, await usage.report(group_by, start, end))
