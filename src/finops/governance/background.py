"""Periodic background jobs that run in one gateway process only, among all those sharing the database.

``LeasedJobs`` holds one named lease (``finops.store.leases``) and runs its jobs while it holds it: with
``finops serve --workers 4`` (or four hosts on one PostgreSQL) the batch reconciler polls once, not four times.
Every process runs a ``LeasedJobs``; each tries the lease every ``renew_seconds``. The holder renews it on the same
beat; if a renewal fails (database error, or another process took an expired lease) it stops its jobs at once.
A holder that stops cleanly releases the lease, so another takes over at its next try. One that dies without
releasing (kill -9, a crashed worker) is replaced once its lease expires (``lease_seconds``), or at the next try
if it ran on this machine and its process is gone (a restarted gateway, the other workers of one supervisor):
owners are named ``<host>/<pid namespace>:<pid>:<random>``, and a pid that no longer exists in the same
namespace of the same host is a dead holder. (A reused pid only means waiting for the expiry.)

A lease bounds overlap; it does not make it impossible (a holder frozen longer than its lease may run one more
round after a successor started). Jobs must stay correct if two rounds overlap: the reconciler leases each batch
before recording it, and the intent-log recovery (``finops.core.recovery``) abandons an intent only while it is
still ``creating``. Add a job with
``add(name, run_once, interval)``; ``run_once`` is awaited every ``interval`` seconds while the lease is held.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from finops.core.processes import gone_from_this_machine, process_owner
from finops.store.leases import LeaseRepository

logger = logging.getLogger("finops.governance.background")

BACKGROUND_LEASE = "background-jobs"


@dataclass(frozen=True)
class Job:
    name: str
    run_once: Callable[[], Awaitable[object]]
    interval: float


class LeasedJobs:
    def __init__(
        self,
        leases: LeaseRepository,
        *,
        lease_name: str = BACKGROUND_LEASE,
        lease_seconds: float = 30.0,
        renew_seconds: float = 10.0,
        owner: str | None = None,
    ) -> None:
        if renew_seconds >= lease_seconds:
            raise ValueError("the lease must be renewed well before it expires")
        self._leases = leases
        self.lease_name = lease_name
        self.owner = owner or process_owner()
        self._lease_seconds = lease_seconds
        self._renew_seconds = renew_seconds
        self._jobs: list[Job] = []
        self._running: list[asyncio.Task[None]] = []
        self._held = False
        self._leader: asyncio.Task[None] | None = None

    @property
    def holding(self) -> bool:
        """True while this process holds the lease and runs the jobs."""
        return self._held

    def add(self, name: str, run_once: Callable[[], Awaitable[object]], interval: float) -> None:
        self._jobs.append(Job(name, run_once, interval))

    def start(self) -> None:
        self._leader = asyncio.create_task(self._lead(), name=f"finops-lease-{self.lease_name}")

    async def stop(self) -> None:
        if self._leader is not None:
            self._leader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._leader
            self._leader = None
        if self.holding:
            await self._stop_jobs()
            try:
                await self._leases.release(self.lease_name, self.owner)
            except Exception:
                logger.exception("could not release lease %s (it expires by itself)", self.lease_name)

    async def _lead(self) -> None:
        while True:
            try:
                held = await self._try_lease()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("could not take or renew lease %s", self.lease_name)
                held = False
            if held and not self._held:
                self._held = True
                logger.info("lease %s taken by %s: running %d job(s)", self.lease_name, self.owner, len(self._jobs))
                self._running = [
                    asyncio.create_task(self._repeat(job), name=f"finops-job-{job.name}") for job in self._jobs
                ]
            elif not held and self.holding:
                logger.warning("lease %s lost by %s: stopping its jobs", self.lease_name, self.owner)
                await self._stop_jobs()
            await asyncio.sleep(self._renew_seconds)

    async def _try_lease(self) -> bool:
        if await self._leases.acquire(self.lease_name, self.owner, self._lease_seconds):
            return True
        holder = await self._leases.holder(self.lease_name)
        if holder is not None and gone_from_this_machine(holder.owner):
            logger.warning("lease %s: holder %s is gone, taking over", self.lease_name, holder.owner)
            return await self._leases.take_over(self.lease_name, self.owner, holder.owner, self._lease_seconds)
        return False

    async def _stop_jobs(self) -> None:
        self._held = False
        running, self._running = self._running, []
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    @staticmethod
    async def _repeat(job: Job) -> None:
        while True:
            try:
                await job.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("background job %s failed", job.name)
            await asyncio.sleep(job.interval)
