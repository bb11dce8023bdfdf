"""Per-key rpm/tpm counters in fixed one-minute windows: in memory for one process, in Redis when configured
(so several gateway processes share them). One Redis round trip per check (INCRBY + EXPIRE in a pipeline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

WINDOW_SECONDS = 60
_MAX_COUNTERS = 100_000


def _window(now: float) -> tuple[int, int]:
    """(window number, seconds until it ends)."""
    window = int(now // WINDOW_SECONDS)
    return window, max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))


class Counters(Protocol):
    async def add(self, name: str, amount: int) -> tuple[int, int]:
        """Add ``amount`` to the counter in the current window; answers (new value, seconds left in window)."""
        ...

    async def aclose(self) -> None: ...


@dataclass
class _Count:
    value: int = 0


class MemoryCounters:
    def __init__(self, *, max_counters: int = _MAX_COUNTERS, timer: Callable[[], float] = time.time) -> None:
        self._timer = timer
        # Keyed by (name, window): a counter is never read after its window ends, and it expires at the latest one
        # window after it was created (the clock is the windows' own, wall time, as Redis's are).
        self._counts: TTLCache[tuple[str, int], _Count] = TTLCache(max_counters, WINDOW_SECONDS + 1, timer)

    async def add(self, name: str, amount: int) -> tuple[int, int]:
        window, left = _window(self._timer())
        key = (name, window)
        try:
            count = self._counts[key]  # changed in place: re-inserting would cost an expiry pass per request
        except KeyError:
            count = self._counts[key] = _Count()
        count.value += amount
        return count.value, left

    async def aclose(self) -> None:
        return None


class RedisCounters:
    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url)

    async def add(self, name: str, amount: int) -> tuple[int, int]:
        window, left = _window(time.time())
        key = f"finops:rl:{name}:{window}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, amount)
            pipe.expire(key, WINDOW_SECONDS * 2)
            value, _ = await pipe.execute()
        return int(value), left

    async def aclose(self) -> None:
        await self._redis.aclose()


def counters_for(redis_url: str | None) -> Counters:
    return RedisCounters(redis_url) if redis_url else MemoryCounters()
