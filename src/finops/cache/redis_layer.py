"""The exact layer's shared copy in Redis (when ``redis.url`` is set): one key per cached answer, expiring with
it, so a process that has not mirrored an entry yet finds it in one round trip instead of a database query.

Value: 8 bytes of seq, 8 bytes of expiry (epoch seconds, a double), then the answer's JSON.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

_HEADER = struct.Struct("<qd")
_PREFIX = "finops:cache:"
logger = logging.getLogger(__name__)


class RedisAnswers:
    def __init__(self, url: str, *, connect_timeout: float = 1.0, timeout: float = 1.0) -> None:
        from redis import asyncio as aioredis

        self._redis: Any = aioredis.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=timeout)

    async def get(self, exact_key: str) -> tuple[int, float, bytes] | None:
        """The shared copy, or None (also when Redis fails: the cache only saves work, a miss costs one call)."""
        from redis.exceptions import RedisError

        try:
            value = await self._redis.get(_PREFIX + exact_key)
        except (RedisError, OSError) as exc:
            logger.warning("cache: reading Redis failed (%s); treated as a miss", type(exc).__name__)
            return None
        if not value or len(value) < _HEADER.size:
            return None
        seq, expires_at = _HEADER.unpack_from(value)
        return int(seq), float(expires_at), bytes(value[_HEADER.size :])

    async def put(self, exact_key: str, seq: int, expires_at: float, answer: bytes, ttl_seconds: int) -> None:
        await self._redis.set(_PREFIX + exact_key, _HEADER.pack(seq, expires_at) + answer, ex=ttl_seconds)

    async def delete(self, exact_keys: Sequence[str]) -> None:
        if exact_keys:
            await self._redis.delete(*(_PREFIX + key for key in exact_keys))

    async def aclose(self) -> None:
        await self._redis.aclose()
