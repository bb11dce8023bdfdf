"""The cyclic garbage collector while serving thousands of open streams.

Every open stream keeps ~200 container objects alive for its whole answer (frames of suspended coroutines, the
request's scope and headers, the upstream response, the translator). CPython's collector walks every object of a
generation each time it collects it, and decides when to collect the youngest one from allocations *minus
deallocations*: with streams ending and starting all the time, the old objects freed make room for new ones, so
the young generation grows to the objects of every stream started since the last collection (168,000 objects at
2,000 streams, measured) and each collection of it, or of the middle one, stopped the event loop for 50-360 ms
(``docs/benchmarks.md``, "Issue 17, streams step"): every stream open at that moment waited.

So the serving process never lets young objects pile up: every ``SWEEP_SECONDS`` it moves whatever is alive into
the permanent generation (``gc.freeze``, which costs no walk at all), where collections no longer look. Objects
there are still freed by reference counting the moment they are unused, which is how nearly everything on the
stream path goes (the gateway keeps its request path free of reference cycles; ``tests/unit/test_middleware.py``).
What reference counting cannot free — cycles that became garbage after a sweep froze them — waits for a full pass
(unfreeze, collect everything, freeze again), run when the permanent generation has grown by half since the last
one, looked at once a minute: the same rule as CPython's own for its oldest generation, measured against a base
that includes the objects of the open streams, so that a steady load of streams does not trigger it.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

THRESHOLDS = (20_000, 5, 1_000)
"""The automatic collections in between sweeps (CPython's default is 700, 10, 10). They only ever see what was
allocated since the last sweep, so they stay short; the full passes are the sweeper's."""

SWEEP_SECONDS = 0.1
"""How long new objects stay where automatic collections look: long enough that short-lived garbage (a request's
temporaries, an event's frames) is gone by refcount first, short enough that a collection walks only a tenth of a
second's worth of new streams."""

FULL_PASS_GROWTH = 0.5
"""A full pass once the frozen objects are this much more than right after the previous one."""

FULL_PASS_MIN_SECONDS = 60.0
"""...looked at this often: a full pass walks every object in the process (~0.5 µs each), and even counting the
frozen ones walks them."""


def settle() -> None:
    """Called once the application is built: everything imported and built so far lives for the whole process
    (``gc.freeze`` takes its ~100k objects out of every collection), and the automatic thresholds are set."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


class Sweeper:
    """Freezes surviving objects every ``period`` seconds on the running event loop, with a full pass now and
    then (see the module's docstring). ``start`` from inside the loop; ``stop`` to end it."""

    def __init__(
        self,
        period: float = SWEEP_SECONDS,
        *,
        growth: float = FULL_PASS_GROWTH,
        min_full_interval: float = FULL_PASS_MIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.period = period
        self.growth = growth
        self.min_full_interval = min_full_interval
        self.full_passes = 0
        self._clock = clock
        self._handle: asyncio.TimerHandle | None = None
        self._base = gc.get_freeze_count()
        self._last_check = clock()

    def start(self) -> None:
        self._schedule(asyncio.get_running_loop())

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        self._handle = loop.call_later(self.period, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.sweep()
        self._schedule(loop)

    def sweep(self) -> None:
        gc.freeze()  # a list splice: no walk
        now = self._clock()
        if now - self._last_check < self.min_full_interval:
            return
        # Counting the frozen objects walks them all (~7 ms at 500k objects): done at most this often.
        self._last_check = now
        if gc.get_freeze_count() > self._base * (1 + self.growth):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.full_passes += 1
            self._base = gc.get_freeze_count()
