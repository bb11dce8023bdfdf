"""Per-request cost of the governance caches on the hot path (cache hits): key lookup, spend-so-far, rate counter,
metric children. ``.venv/bin/python bench/governance_caches.py [--src DIR]``

``--src`` imports ``finops`` from another checkout's ``src/`` (e.g. a ``git worktree`` of an older commit), so
two versions are compared in one run on one machine. Single-threaded, a few seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def _record() -> Any:
    from finops.store.keys import VirtualKeyRecord

    now = datetime.now(UTC)
    return VirtualKeyRecord(
        id="vk_bench",
        name="bench",
        key_hash="hash-bench",
        key_prefix="sk-fo-bench",
        budget_usd=Decimal(100),
        budget_period="monthly",
        rpm=1_000_000,
        tpm=None,
        providers=None,
        models=None,
        expires_at=None,
        created_at=now,
        updated_at=now,
        revoked_at=None,
    )


class Keys:
    async def by_hash(self, key_hash: str) -> Any:
        return _record()

    async def get(self, key_id: str) -> Any:
        return _record()


class Usage:
    async def key_spend(self, key_id: str, since: datetime | None) -> Decimal:
        return Decimal(1)


async def _per_call(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    await call()  # fills the cache
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            await call()
        best = min(best, (time.perf_counter() - started) / rounds)
    return best * 1e9


async def main(rounds: int) -> dict[str, float]:
    from finops.governance.auth import KeyCache
    from finops.governance.metrics import GatewayMetrics
    from finops.governance.pricing import TokenUsage
    from finops.governance.ratelimit import MemoryCounters
    from finops.governance.spend import SpendTracker

    cache = KeyCache(Keys(), ttl=3600)  # type: ignore[arg-type]
    spend = SpendTracker(Usage(), ttl=3600)  # type: ignore[arg-type]
    counters = MemoryCounters()
    metrics = GatewayMetrics()
    usage = TokenUsage(input_tokens=100, output_tokens=20, cache_read_tokens=5)

    async def observe() -> None:
        metrics.observe_usage("anthropic", "claude-bench", "bench", usage, Decimal("0.001"), 0.01)

    async def baseline() -> None:
        return None

    return {
        "empty await (baseline)": await _per_call(baseline, rounds),
        "KeyCache.lookup (hit)": await _per_call(lambda: cache.lookup("hash-bench"), rounds),
        "KeyCache.by_id (hit)": await _per_call(lambda: cache.by_id("vk_bench"), rounds),
        "SpendTracker.spent (hit)": await _per_call(lambda: spend.spent("vk_bench", "monthly"), rounds),
        "MemoryCounters.add": await _per_call(lambda: counters.add("vk_bench:rpm", 1), rounds),
        "GatewayMetrics.observe_usage": await _per_call(observe, rounds),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", help="import finops from this src/ directory")
    parser.add_argument("--rounds", type=int, default=200_000)
    args = parser.parse_args()
    if args.src:
        sys.path.insert(0, args.src)
    import finops

    print(f"finops from {finops.__file__}")
    for name, nanoseconds in asyncio.run(main(args.rounds)).items():
        print(f"{name:32} {nanoseconds:8.0f} ns")
