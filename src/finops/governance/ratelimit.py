"""Per-key rpm/tpm counters in fixed one-minute windows: in memory for one process, in Redis when configured
(so several gateway processes share them). One Redis round trip per check (INCRBY + EXPIRE in a pipeline).

**Redis down.** Rate limits protect the upstream quota; money is guarded by budgets in the store, not here. So a
Redis that refuses, resets or does not answer within ``redis.timeout_seconds`` does not fail requests: the check
falls back to this process's in-memory counters (each process then enforces the full limit on its own: with N
processes the shared limit is exceeded by at most N times), logs a warning, counts
``finops_redis_failures_total{use="ratelimit"}``, and tries Redis again after ``RETRY_REDIS_SECONDS``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cachetools import TTLCache

from finops.config import RedisSettings

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
RETRY_REDIS_SECONDS = 5.0
"""After a Redis failure, how long the per-process counters are used before Redis is asked again (a black-holed
Redis would otherwise cost every request its full timeout)."""
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
    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 1.0,
        timeout: float = 1.0,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        from redis import asyncio as aioredis

        self._redis = aioredis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)
        self._fallback = MemoryCounters()
        self._on_failure = on_failure
        self._skip_until = 0.0

    async def add(self, name: str, amount: int) -> tuple[int, int]:
        from redis.exceptions import RedisError

        if time.monotonic() < self._skip_until:
            return await self._fallback.add(name, amount)
        try:
            return await self._shared_add(name, amount)
        except (RedisError, OSError) as exc:
            self._skip_until = time.monotonic() + RETRY_REDIS_SECONDS
            self._on_failure()
            logger.warning("rate limits: Redis failed (%s); per-process counters for now", type(exc).__name__)
            return await self._fallback.add(name, amount)

    async def _shared_add(self, name: str, amount: int) -> tuple[int, int]:
        window, left = _window(time.time())
        key = f"finops:rl:{name}:{window}"
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incrby(key, amount)
            pipe.expire(key, WINDOW_SECONDS * 2)
            value, _ = await pipe.execute()
        return int(value), left

    async def aclose(self) -> None:
        await self._redis.aclose()


def counters_for(redis: RedisSettings, on_failure: Callable[[], None] = lambda: None) -> Counters:
    if not redis.url:
        return MemoryCounters()
    return RedisCounters(
        redis.url, connect_timeout=redis.connect_timeout_seconds, timeout=redis.timeout_seconds, on_failure=on_failure
    )
