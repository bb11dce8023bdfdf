"""Presented API key -> Principal, with an in-process cache so the hot path never waits on the database.

Cache entries live ``ttl`` seconds (changes made by another process show up within that time); the process that
changes or revokes a key drops it at once. Unknown keys are cached too (as ``None``), so open mode with dummy
keys costs no query per request either. Both tables are bounded (least recently used entries go first).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from cachetools import LRUCache, TTLCache

from finops.core.errors import AuthenticationError
from finops.core.types import Principal
from finops.governance.keys import hash_key, owner_of
from finops.governance.principals import OpenModeAuthenticator
from finops.store.keys import KeyRepository, VirtualKeyRecord

_MAX_ENTRIES = 50_000


class KeyCache:
    def __init__(
        self,
        repository: KeyRepository,
        ttl: float,
        *,
        max_entries: int = _MAX_ENTRIES,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._repository = repository
        self._by_hash: TTLCache[str, VirtualKeyRecord | None] = TTLCache(max_entries, ttl, timer)
        self._by_id: LRUCache[str, VirtualKeyRecord] = LRUCache(max_entries)
        self._loading: dict[str, asyncio.Future[VirtualKeyRecord | None]] = {}

    async def lookup(self, key_hash: str) -> VirtualKeyRecord | None:
        try:
            return self._by_hash[key_hash]  # indexing, not ``get``: ``get`` checks the expiry twice
        except KeyError:
            pass
        # One query per key however many requests miss at once: when a busy key's entry expires, thousands of
        # requests in flight (open streams arriving) would otherwise each query, queue for the database pool and
        # time out as 503s (seen at 5,000 streams).
        loading = self._loading.get(key_hash)
        if loading is None:
            loading = self._loading[key_hash] = asyncio.ensure_future(self._load(key_hash))
            loading.add_done_callback(lambda _: self._loading.pop(key_hash, None))
        return await asyncio.shield(loading)  # a caller that gives up does not cancel the others' query

    async def _load(self, key_hash: str) -> VirtualKeyRecord | None:
        record = await self._repository.by_hash(key_hash)
        self._by_hash[key_hash] = record
        if record is not None:
            self._by_id[record.id] = record
        return record

    async def by_id(self, key_id: str) -> VirtualKeyRecord | None:
        """The key behind an authenticated principal (normally cached by the lookup that authenticated it, and
        refreshed by every lookup; read again if an admin change dropped it in between, so no request slips
        through without its policy)."""
        record = self._by_id.get(key_id)
        if record is None:
            record = await self._repository.get(key_id)
            if record is not None:
                self._by_id[key_id] = record
        return record

    def invalidate(self, key_id: str) -> None:
        record = self._by_id.pop(key_id, None)
        if record is not None:
            self._by_hash.pop(record.key_hash, None)


def usable(record: VirtualKeyRecord, now: datetime) -> str | None:
    """Why the key cannot be used right now, or ``None``."""
    if record.revoked_at is not None:
        return "this API key has been revoked"
    if record.expires_at is not None and record.expires_at <= now:
        return "this API key has expired"
    return None


class VirtualKeyAuthenticator:
    """Known virtual keys act as themselves everywhere. Other keys: 401 when ``require`` is set, otherwise the
    open-mode principal (objects owned by a hash of the key). A revoked or expired virtual key is refused in both
    modes: revoking a key must stop it, not demote it to an anonymous caller."""

    def __init__(self, cache: KeyCache, *, require: bool) -> None:
        self._cache = cache
        self._require = require
        self._open = OpenModeAuthenticator()

    async def authenticate(self, api_key: str | None) -> Principal:
        if not api_key:
            raise AuthenticationError("x-api-key header is required")
        record = await self._cache.lookup(hash_key(api_key))
        if record is None:
            if self._require:
                raise AuthenticationError("invalid x-api-key: not a valid virtual key for this gateway")
            return await self._open.authenticate(api_key)
        problem = usable(record, datetime.now(UTC))
        if problem:
            raise AuthenticationError(problem)
        return Principal(owner=owner_of(record.id), key_id=record.id, key_name=record.name, cache=record.cache)
