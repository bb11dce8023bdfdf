"""The console's read model: spend over days (by provider, model or key), the batch discount and cache savings
beside it, requests and tokens, the top keys and models, unpriced usage, and each key's spend against its budget.

Everything is summed from the daily rollup (``finops.store.reports``), whose days are UTC days; budget periods
start at UTC midnight too, so a key's spend in its period is a sum of whole days.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from finops.governance.list_cost import list_cost
from finops.governance.spend import period_start
from finops.store.keys import VirtualKeyRecord
from finops.store.reports import ReportRepository, RequestFilter, RequestRow
from finops.store.rollups import SUMS

Dimension = Literal["provider", "model", "key"]
DIMENSIONS: tuple[Dimension, ...] = ("provider", "model", "key")
NO_KEY = "(no virtual key)"
OTHER = "other"
_MAX_SERIES = 8
_TOP = 10


@dataclass(frozen=True)
class Series:
    label: str
    values: list[Decimal]


@dataclass(frozen=True)
class Usage:
    """Sums for one key, model, day or the whole range."""

    label: str
    requests: int
    unpriced_requests: int
    tokens: int
    cache_tokens: int
    cost_usd: Decimal
    key_id: str | None = None


@dataclass(frozen=True)
class KeySpend:
    key: VirtualKeyRecord
    spent_usd: Decimal
    """Recorded cost in the key's budget period plus what its running batches have reserved: what budget checks
    compare with ``budget_usd``."""
    reserved_usd: Decimal = Decimal(0)
    """The part of ``spent_usd`` reserved by batches whose cost is not recorded yet."""

    @property
    def share_of_budget(self) -> float | None:
        if self.key.budget_usd is None:
            return None
        if self.key.budget_usd == 0:
            return 1.0
        return float(self.spent_usd / self.key.budget_usd)


@dataclass(frozen=True)
class Overview:
    days: list[date]
    by: Dimension
    today_usd: Decimal
    month_usd: Decimal
    spend: list[Series]
    batch_discount: list[Decimal]
    cache_savings: list[Decimal]
    requests: list[int]
    tokens: list[int]
    total: Usage
    top_keys: list[Usage]
    top_models: list[Usage]
    unpriced_models: list[Usage]
    budgets: list[KeySpend]


def _tokens(row: dict[str, Any]) -> int:
    return int(row["input_tokens"] + row["output_tokens"] + row["cache_read_tokens"] + row["cache_write_tokens"])


def _usage(label: str, row: dict[str, Any], key_id: str | None = None) -> Usage:
    return Usage(
        label=label,
        requests=row["requests"],
        unpriced_requests=row["unpriced_requests"],
        tokens=_tokens(row),
        cache_tokens=int(row["cache_read_tokens"] + row["cache_write_tokens"]),
        cost_usd=row["cost_usd"],
        key_id=key_id,
    )


def _key_label(row: dict[str, Any]) -> str:
    return str(row.get("key_name") or row["key_id"]) if row["key_id"] else NO_KEY


def _stack(rows: Iterable[dict[str, Any]], label_of: Callable[[dict[str, Any]], str], days: list[date]) -> list[Series]:
    """Daily cost per label; the biggest labels get their own series, the rest share ``other``."""
    index = {day: position for position, day in enumerate(days)}
    per_label: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(days))
    for row in rows:
        per_label[label_of(row)][index[row["day"]]] += row["cost_usd"]
    ranked = sorted(per_label, key=lambda label: (-sum(per_label[label]), label))
    kept = [Series(label, per_label[label]) for label in ranked[:_MAX_SERIES]]
    rest = ranked[_MAX_SERIES:]
    if rest:
        kept.append(Series(OTHER, [sum((per_label[label][i] for label in rest), Decimal(0)) for i in range(len(days))]))
    return kept


class ConsoleReports:
    """``flush`` writes this process's queued ledger rows first, so a request just answered is on the page."""

    def __init__(
        self,
        reports: ReportRepository,
        list_keys: Callable[[], Awaitable[list[VirtualKeyRecord]]],
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        self._reports = reports
        self._list_keys = list_keys
        self._flush = flush

    async def overview(self, *, only_key: str | None, by: Dimension, days: int, now: datetime) -> Overview:
        await self._flush()
        today = now.astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        day_list = [first + timedelta(days=offset) for offset in range(days)]
        end = today + timedelta(days=1)
        sums = self._reports.sums
        group = {"provider": ("day", "provider"), "model": ("day", "model"), "key": ("day", "key_id", "key_name")}
        labels: dict[Dimension, Callable[[dict[str, Any]], str]] = {
            "provider": lambda row: str(row["provider"]),
            "model": lambda row: str(row["model"]),
            "key": _key_label,
        }
        spend_rows = await sums(by=group[by], start=first, end=end, only_key=only_key, totals=("cost_usd",))
        per_day = {row["day"]: row for row in await sums(by=("day",), start=first, end=end, only_key=only_key)}
        batch_rows = await sums(
            by=("day", "provider", "model"), start=first, end=end, only_key=only_key, batch=True, totals=("cost_usd",)
        )
        models = await sums(by=("model",), start=first, end=end, only_key=only_key)
        keys = [] if only_key else await sums(by=("key_id", "key_name"), start=first, end=end, only_key=None)
        (total,) = await sums(by=(), start=first, end=end, only_key=only_key)
        (today_row,) = await sums(by=(), start=today, end=end, only_key=only_key)
        (month_row,) = await sums(by=(), start=today.replace(day=1), end=end, only_key=only_key)

        discount = [Decimal(0)] * days
        position = {day: index for index, day in enumerate(day_list)}
        for row in batch_rows:
            standard = list_cost(row["provider"], row["model"], row["cost_usd"], batch=True, day=row["day"])
            discount[position[row["day"]]] += standard - row["cost_usd"]
        empty: dict[str, Any] = {name: Decimal(0) if name.endswith("_usd") else 0 for name in SUMS}
        daily = [per_day.get(day, empty) for day in day_list]
        ranked_models = sorted(models, key=lambda row: (-row["cost_usd"], -row["requests"], row["model"]))
        ranked_keys = sorted(keys, key=lambda row: (-row["cost_usd"], -row["requests"], _key_label(row)))
        return Overview(
            days=day_list,
            by=by,
            today_usd=today_row["cost_usd"],
            month_usd=month_row["cost_usd"],
            spend=_stack(spend_rows, labels[by], day_list),
            batch_discount=discount,
            cache_savings=[row["saved_usd"] for row in daily],
            requests=[row["requests"] for row in daily],
            tokens=[_tokens(row) for row in daily],
            total=_usage("total", total),
            top_keys=[_usage(_key_label(row), row, row["key_id"] or None) for row in ranked_keys[:_TOP]],
            top_models=[_usage(row["model"], row) for row in ranked_models[:_TOP]],
            unpriced_models=[_usage(row["model"], row) for row in ranked_models if row["unpriced_requests"]],
            budgets=await self.key_spend(await self._keys(only_key), now, budgeted_only=True),
        )

    async def recent_requests(
        self, *, only_key: str | None, where: RequestFilter, before_seq: int | None, limit: int
    ) -> tuple[list[RequestRow], int | None]:
        """The newest ledger rows (``ReportRepository.recent_requests``), this process's queued ones included."""
        await self._flush()
        return await self._reports.recent_requests(only_key=only_key, where=where, before_seq=before_seq, limit=limit)

    async def _keys(self, only_key: str | None) -> list[VirtualKeyRecord]:
        keys = await self._list_keys()
        return [key for key in keys if key.id == only_key] if only_key else keys

    async def keys(self, *, only_key: str | None, now: datetime) -> list[KeySpend]:
        await self._flush()
        return await self.key_spend(await self._keys(only_key), now, budgeted_only=False)

    async def key_spend(
        self, keys: Sequence[VirtualKeyRecord], now: datetime, *, budgeted_only: bool
    ) -> list[KeySpend]:
        """Each key's spend in its own budget period (``total`` and no budget: all time)."""
        if budgeted_only:
            keys = [key for key in keys if key.budget_usd is not None and key.revoked_at is None]
        if not keys:
            return []
        starts = {key.budget_period or "total": period_start(key.budget_period, now) for key in keys}
        spent = await self._reports.key_spend_since(
            {name: start.date() if start else None for name, start in starts.items()}
        )
        reserved = await self._reports.reservations()
        return [
            KeySpend(
                key,
                spent[key.budget_period or "total"].get(key.id, Decimal(0)) + reserved.get(key.id, Decimal(0)),
                reserved.get(key.id, Decimal(0)),
            )
            for key in keys
        ]
