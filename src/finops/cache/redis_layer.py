"""The exact layer's shared copy in Redis (when ``redis.url`` is set): one key per cached answer, expiring with
it, so a process that has not mirrored an entry yet finds it in one round trip instead of a database query.

Value: 8 bytes of seq, 8 bytes of expiry (epoch seconds, a double), then the answer's JSON.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

_HEADER = struct.Struct("<qd")
_PREFIX = "finops:cache:"


class RedisAnswers:
    def __init__(self, url: str) -> None:
        from redis import asyncio as aioredis

        self._redis: Any = aioredis.from_url(url)

    async def get(self, exact_key: str) -> tuple[int, float, bytes] | None:
        value = await self._redis.get(_PREFIX + exact_key)
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
