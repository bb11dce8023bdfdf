"""The in-process caches on the request path (cachetools underneath), driven by a fake clock: how long a key
lookup and a key's spend are trusted, and what drops them at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from finops.governance.auth import KeyCache
from finops.governance.ratelimit import WINDOW_SECONDS, MemoryCounters
from finops.governance.spend import SpendTracker
from finops.store.keys import KeyRepository, VirtualKeyRecord
from finops.store.usage import UsageRepository


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _key(key_id: str, name: str = "team") -> VirtualKeyRecord:
    now = datetime.now(UTC)
    return VirtualKeyRecord(
        id=key_id,
        name=name,
        key_hash=f"hash-{key_id}",
        key_prefix="sk-fo-abcd",
        budget_usd=None,
        budget_period=None,
        rpm=None,
        tpm=None,
        providers=None,
        models=None,
        expires_at=None,
        created_at=now,
        updated_at=now,
        revoked_at=None,
    )


class Keys:
    """A key table that counts its reads."""

    def __init__(self, *records: VirtualKeyRecord) -> None:
        self.records = {record.key_hash: record for record in records}
        self.reads = 0

    async def by_hash(self, key_hash: str) -> VirtualKeyRecord | None:
        self.reads += 1
        return self.records.get(key_hash)

    async def get(self, key_id: str) -> VirtualKeyRecord | None:
        self.reads += 1
        return next((record for record in self.records.values() if record.id == key_id), None)


def _key_cache(keys: Keys, clock: Clock, ttl: float = 5.0, **options: Any) -> KeyCache:
    return KeyCache(cast(KeyRepository, keys), ttl, timer=clock, **options)


def test_a_key_lookup_is_trusted_for_the_ttl_then_read_again() -> None:
    async def run() -> list[tuple[str | None, int]]:
        keys, clock = Keys(_key("vk_a")), Clock()
        cache = _key_cache(keys, clock)
        seen = []
        for advance in (0, 4.9, 0.1, 1.0):
            clock.now += advance
            record = await cache.lookup("hash-vk_a")
            seen.append((record.name if record else None, keys.reads))
            keys.records["hash-vk_a"] = _key("vk_a", name="renamed")  # a change made by another process
        return seen

    # Read once, trusted until 5 s have passed, then read again (and the other process's change shows).
    assert asyncio.run(run()) == [("team", 1), ("team", 1), ("renamed", 2), ("renamed", 2)]


def test_requests_that_miss_at_once_share_one_read() -> None:
    """When a busy key's entry expires, the thousands of requests in flight ask the database once, not each."""

    class SlowKeys(Keys):
        async def by_hash(self, key_hash: str) -> VirtualKeyRecord | None:
            await asyncio.sleep(0.01)
            return await super().by_hash(key_hash)

    async def run() -> tuple[set[str | None], int]:
        keys, clock = SlowKeys(_key("vk_a")), Clock()
        cache = _key_cache(keys, clock)
        found = await asyncio.gather(*(cache.lookup("hash-vk_a") for _ in range(500)))
        return {record.name if record else None for record in found}, keys.reads

    assert asyncio.run(run()) == ({"team"}, 1)


def test_unknown_keys_are_cached_too() -> None:
    async def run() -> tuple[int, int]:
        keys, clock = Keys(), Clock()
        cache = _key_cache(keys, clock)
        for _ in range(3):
            assert await cache.lookup("hash-dummy") is None
        reads_within_ttl = keys.reads
        clock.now += 5
        await cache.lookup("hash-dummy")
        return reads_within_ttl, keys.reads

    assert asyncio.run(run()) == (1, 2)


def test_invalidate_drops_a_key_at_once() -> None:
    async def run() -> tuple[str | None, str | None]:
        keys, clock = Keys(_key("vk_a")), Clock()
        cache = _key_cache(keys, clock)
        await cache.lookup("hash-vk_a")
        keys.records["hash-vk_a"] = _key("vk_a", name="renamed")
        cache.invalidate("vk_a")  # this process changed it: no waiting for the TTL
        by_id = await cache.by_id("vk_a")
        by_hash = await cache.lookup("hash-vk_a")
        return (by_id.name if by_id else None), (by_hash.name if by_hash else None)

    assert asyncio.run(run()) == ("renamed", "renamed")


def test_a_key_with_no_ttl_is_read_every_time() -> None:
    async def run() -> int:
        keys = Keys(_key("vk_a"))
        cache = _key_cache(keys, Clock(), ttl=0)
        for _ in range(3):
            await cache.lookup("hash-vk_a")
        return keys.reads

    assert asyncio.run(run()) == 3


def test_the_key_cache_is_bounded() -> None:
    async def run() -> int:
        keys, clock = Keys(*(_key(f"vk_{i}") for i in range(3))), Clock()
        cache = _key_cache(keys, clock, max_entries=2)
        for i in range(3):
            await cache.lookup(f"hash-vk_{i}")
        await cache.lookup("hash-vk_0")  # pushed out by the third key: read again
        return keys.reads

    assert asyncio.run(run()) == 4


class Spend:
    """A ledger whose total can be changed behind the tracker's back, counting reads."""

    def __init__(self, total: str) -> None:
        self.total = Decimal(total)
        self.reads = 0

    async def key_spend(self, key_id: str, since: datetime | None) -> Decimal:
        self.reads += 1
        return self.total


def test_spend_is_read_once_per_ttl_and_counts_what_this_process_adds() -> None:
    async def run() -> list[tuple[Decimal, int]]:
        ledger, clock = Spend("1.00"), Clock()
        tracker = SpendTracker(cast(UsageRepository, ledger), ttl=2.0, timer=clock)
        seen = [(await tracker.spent("vk_a", "monthly"), ledger.reads)]
        tracker.add("vk_a", Decimal("0.25"), queued=True)  # a request priced here, its row not written yet
        ledger.total = Decimal("5.00")  # another process spent meanwhile
        seen.append((await tracker.spent("vk_a", "monthly"), ledger.reads))
        clock.now += 2.0
        seen.append((await tracker.spent("vk_a", "monthly"), ledger.reads))
        tracker.flushed("vk_a", Decimal("0.25"))  # the row is in the database: no longer added on top
        tracker.forget("vk_a")
        seen.append((await tracker.spent("vk_a", "monthly"), ledger.reads))
        return seen

    assert asyncio.run(run()) == [
        (Decimal("1.00"), 1),
        (Decimal("1.25"), 1),  # trusted for 2 s, plus this process's own spend at once
        (Decimal("5.25"), 2),  # re-read: the database total plus the row still queued
        (Decimal("5.00"), 3),
    ]


def test_rate_counters_restart_with_each_window() -> None:
    async def run() -> list[tuple[int, int]]:
        clock = Clock(now=WINDOW_SECONDS * 1000 + 10)
        counters = MemoryCounters(timer=clock)
        seen = [await counters.add("vk_a:rpm", 1), await counters.add("vk_a:rpm", 1)]
        seen.append(await counters.add("vk_b:rpm", 1))
        clock.now += WINDOW_SECONDS - 10  # the next window
        seen.append(await counters.add("vk_a:rpm", 1))
        return seen

    assert asyncio.run(run()) == [(1, 50), (2, 50), (1, 50), (1, 60)]
