"""Per-key rpm/tpm counters in fixed one-minute windows: in memory for one process, in Redis when configured
(so several gateway processes share them). One Redis round trip per check (INCRBY + EXPIRE in a pipeline)."""

from __future__ import annotations

import time
from typing import Protocol

WINDOW_SECONDS = 60


def _window(now: float) -> tuple[int, int]:
    """(window number, seconds until it ends)."""
    window = int(now // WINDOW_SECONDS)
    return window, max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))


class Counters(Protocol):
    async def add(self, name: str, amount: int) -> tuple[int, int]:
        """Add ``amount`` to the counter in the current window; answers (new value, seconds left in window)."""
        ...

    async def aclose(self) -> None: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def add(self, name: str, amount: int) -> tuple[int, int]:
        window, left = _window(time.time())
        seen_window, value = self._counts.get(name, (window, 0))
        value = (value if seen_window == window else 0) + amount
        self._counts[name] = (window, value)
        if len(self._counts) > 100_000:  # forget old windows rather than grow forever
            self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        return value, left

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
