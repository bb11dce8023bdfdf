"""The serving process's GC policy (``finops.gc_policy``): survivors are frozen out of the automatic collections,
and cyclic garbage among them is still freed by a full pass once the frozen set has grown enough."""

from __future__ import annotations

import asyncio
import gc
import signal
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from finops.gc_policy import Sweeper
from finops.shutdown import DrainingApp


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def frozen_start() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()  # leave the test process as it was
        gc.collect()


@pytest.mark.usefixtures("frozen_start")
def test_a_sweep_takes_the_survivors_out_of_the_automatic_collections() -> None:
    sweeper = Sweeper(min_full_interval=3600)
    before = gc.get_freeze_count()
    survivors = [[n] for n in range(10_000)]
    assert all(gc.is_tracked(item) for item in survivors)
    sweeper.sweep()
    assert gc.get_freeze_count() >= before + len(survivors)
    assert not any(item is survivors[0] for item in gc.get_objects(generation=0))
    assert sweeper.full_passes == 0


@pytest.mark.usefixtures("frozen_start")
def test_cyclic_garbage_frozen_by_a_sweep_is_freed_by_a_full_pass_once_the_frozen_set_grew() -> None:
    now = [0.0]
    sweeper = Sweeper(growth=0.5, min_full_interval=60, clock=lambda: now[0])
    node = _Node()
    gone = weakref.ref(node)
    sweeper.sweep()
    del node
    gc.collect()
    assert gone() is not None  # frozen: the automatic collections no longer look at it

    # Grown by more than half, but too soon after the last full pass: nothing yet.
    growth = [[] for _ in range(gc.get_freeze_count() // 2 + 1000)]
    sweeper.sweep()
    assert sweeper.full_passes == 0 and gone() is not None

    now[0] = 61.0
    sweeper.sweep()
    assert sweeper.full_passes == 1
    assert gone() is None
    assert len(growth) > 0  # still alive, and frozen again


def test_the_sweeps_start_when_the_served_application_has_started() -> None:
    started: list[bool] = []

    async def lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.complete"})

    app = DrainingApp(lifespan_app, drain_seconds=1)
    app.on_started.append(lambda: started.append(True))

    async def receive() -> dict[str, Any]:
        return {"type": "lifespan.startup"}

    async def send(message: dict[str, Any]) -> None:
        assert started == [True]  # before the server hears that start-up is complete

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        asyncio.run(app({"type": "lifespan"}, receive, send))
    finally:
        for sig, handler in previous.items():  # the app takes these over on start-up
            signal.signal(sig, handler)
    assert started == [True]
