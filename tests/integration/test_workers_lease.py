"""The background-jobs lease on a real database (SQLite and, when configured, PostgreSQL): one holder among
several processes' ``LeasedJobs``, a clean stop hands over at once, a holder that vanishes is replaced once its
lease expires. Short lease times here; the gateway uses 30 s, renewed every 10 s."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from finops.core.processes import process_owner
from finops.governance.background import LeasedJobs
from finops.store import Store
from finops.store.leases import LeaseRepository

LEASE, RENEW = 0.6, 0.1


@asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    store = await Store.open(url)
    try:
        yield store.engine
    finally:
        await store.close()


def _jobs(engine: AsyncEngine, name: str, runs: list[str], lease: float = LEASE) -> LeasedJobs:
    async def job() -> None:
        runs.append(name)

    jobs = LeasedJobs(LeaseRepository(engine), lease_name="test-jobs", lease_seconds=lease, renew_seconds=RENEW)
    jobs.add("count", job, 0.02)
    return jobs


async def _wait_until(predicate: object, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def test_one_holder_runs_the_jobs_and_a_clean_stop_hands_over(database_url: str) -> None:
    async def scenario() -> None:
        async with engine_for(database_url) as engine:
            runs: list[str] = []
            first, second = _jobs(engine, "first", runs), _jobs(engine, "second", runs)
            first.start()
            await _wait_until(lambda: first.holding)
            second.start()
            await asyncio.sleep(LEASE * 2)  # several renewals: the second never gets in
            assert first.holding and not second.holding
            assert set(runs) == {"first"} and len(runs) > 5
            holder = await LeaseRepository(engine).holder("test-jobs")
            assert holder is not None and holder.owner == first.owner

            await first.stop()  # releases: the second takes over at its next try, not after the expiry
            runs.clear()
            await _wait_until(lambda: second.holding, timeout=RENEW * 5)
            await _wait_until(lambda: "second" in runs)
            assert set(runs) == {"second"}
            await second.stop()

    asyncio.run(scenario())


def test_a_vanished_holder_is_replaced_after_its_lease_expires(database_url: str) -> None:
    async def scenario() -> None:
        async with engine_for(database_url) as engine:
            leases = LeaseRepository(engine)
            # A process that took the lease and died (kill -9): its row stays, nobody renews it.
            assert await leases.acquire("test-jobs", "gone:1:dead", LEASE)
            runs: list[str] = []
            survivor = _jobs(engine, "survivor", runs)
            survivor.start()
            await asyncio.sleep(LEASE / 2)
            assert not survivor.holding and runs == []
            await _wait_until(lambda: survivor.holding, timeout=LEASE + RENEW * 5)
            await _wait_until(lambda: runs)
            holder = await leases.holder("test-jobs")
            assert holder is not None and holder.owner == survivor.owner
            assert not await leases.acquire("test-jobs", "late:2:x", LEASE)
            await survivor.stop()
            assert await leases.holder("test-jobs") is None

    asyncio.run(scenario())


def test_a_dead_holder_on_this_machine_is_replaced_without_waiting_for_its_expiry(database_url: str) -> None:
    """A gateway restarted after kill -9 (or a worker replacing a crashed one) need not wait out the lease."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)  # a process of this machine that has exited
    machine = process_owner().split(":")[0]

    async def scenario() -> None:
        async with engine_for(database_url) as engine:
            leases = LeaseRepository(engine)
            assert await leases.acquire("test-jobs", f"{machine}:{dead_pid}:killed", 300)
            # A live holder elsewhere is left alone, even with a long lease...
            assert await leases.take_over("test-jobs", "x", "someone-else", 300) is False
            runs: list[str] = []
            restarted = _jobs(engine, "restarted", runs, lease=300)
            restarted.start()
            await _wait_until(lambda: restarted.holding, timeout=RENEW * 10)  # ...but not a dead one: no 300 s wait
            holder = await leases.holder("test-jobs")
            assert holder is not None and holder.owner == restarted.owner
            await restarted.stop()

    asyncio.run(scenario())


def test_a_live_holder_on_this_machine_keeps_its_lease(database_url: str) -> None:
    async def scenario() -> None:
        async with engine_for(database_url) as engine:
            leases = LeaseRepository(engine)
            with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
                try:
                    machine = process_owner().split(":")[0]
                    assert await leases.acquire("test-jobs", f"{machine}:{alive.pid}:alive", 300)
                    other = _jobs(engine, "other", [], lease=300)
                    other.start()
                    await asyncio.sleep(RENEW * 5)
                    assert not other.holding
                    await other.stop()
                finally:
                    alive.kill()

    asyncio.run(scenario())
