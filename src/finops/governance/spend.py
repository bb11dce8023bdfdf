"""Spend so far per key and budget period.

The value is the ledger total for the period plus the key's outstanding batch reservations, plus what this process
recorded and has not committed yet. ``exact`` reads the database every time: budget checks use it, so that two
processes on one database see each other's spend (issue 13; two small indexed reads of the daily rollup).
``spent`` trusts a read for ``ttl`` seconds per key, for displays (console, admin) that need no precision.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from cachetools import TTLCache

from finops.store.usage import UsageRepository

_MAX_KEYS = 50_000


def period_start(period: str | None, now: datetime) -> datetime | None:
    """Start (UTC) of the budget period containing ``now``; ``None`` for ``total``."""
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "daily":
        return midnight
    if period == "weekly":
        return midnight - timedelta(days=midnight.weekday())
    if period == "monthly":
        return midnight.replace(day=1)
    return None


@dataclass
class _Entry:
    start: datetime | None
    value: Decimal


class SpendTracker:
    def __init__(
        self,
        usage: UsageRepository,
        ttl: float = 2.0,
        *,
        max_keys: int = _MAX_KEYS,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._usage = usage
        # Entries are changed in place by ``add``, which keeps their expiry: a read from the database is trusted
        # ``ttl`` seconds, whatever was added since.
        self._entries: TTLCache[str, _Entry] = TTLCache(max_keys, ttl, timer)
        self._unflushed: defaultdict[str, Decimal] = defaultdict(Decimal)

    def _cached(self, key_id: str) -> _Entry | None:
        try:
            return self._entries[key_id]  # indexing, not ``get``: ``get`` checks the expiry twice
        except KeyError:
            return None

    async def spent(self, key_id: str, period: str | None) -> Decimal:
        start = period_start(period, datetime.now(UTC))
        entry = self._cached(key_id)
        if entry is None or entry.start != start:
            total = await self._usage.key_spend(key_id, start)
            entry = self._entries[key_id] = _Entry(start, total + self._unflushed.get(key_id, Decimal(0)))
        return entry.value

    async def exact(self, key_id: str, period: str | None) -> Decimal:
        """For a budget check: the database's total now (every process's committed rows and reservations), plus
        this process's rows not committed yet. Refreshes the cached value on the way."""
        start = period_start(period, datetime.now(UTC))
        total = await self._usage.key_spend(key_id, start) + self._unflushed.get(key_id, Decimal(0))
        self._entries[key_id] = _Entry(start, total)
        return total

    def add(self, key_id: str, amount: Decimal, *, queued: bool) -> None:
        """Count ``amount`` at once; ``queued`` means its ledger row is not in the database yet."""
        entry = self._cached(key_id)
        if entry is not None:
            entry.value += amount
        if queued:
            self._unflushed[key_id] += amount

    def flushed(self, key_id: str, amount: Decimal) -> None:
        left = self._unflushed.get(key_id, Decimal(0)) - amount
        if left <= 0:
            self._unflushed.pop(key_id, None)
        else:
            self._unflushed[key_id] = left

    def forget(self, key_id: str) -> None:
        self._entries.pop(key_id, None)
