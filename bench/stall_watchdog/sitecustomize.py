"""A debug watchdog for ``finops serve``, loaded through PYTHONPATH by ``bench/batch_create.py --watchdog``.

Python imports ``sitecustomize`` at start-up; this one acts only in a ``serve`` process and only when
``FINOPS_STALL_LOG`` names a file. It writes there, each line after the wall-clock time (``time.time()``):

* ``LOOP`` lines: the event loop answered a 3 ms timer more than 40 ms late (the loop thread ran something long,
  or could not get the GIL, or the OS gave it no CPU), with the loop thread's stack at that moment;
* ``GIL`` lines: this watchdog thread itself woke more than 40 ms late from a 2 ms sleep (another thread held the
  GIL, or no CPU was free), with every thread's stack;
* ``GC`` lines: a garbage collection that took more than 20 ms.

``sys._current_frames()`` is fine here: a bench aid, never loaded by the product.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import threading
import time
import traceback
from typing import Any

_LOG = os.environ.get("FINOPS_STALL_LOG")
_LATE = 0.040


def _stack(frame: Any) -> str:
    entries = traceback.extract_stack(frame)[-7:]
    return " <- ".join(f"{os.path.basename(e.filename)}:{e.lineno}:{e.name}" for e in reversed(entries))


def _start(path: str) -> None:
    out = open(path, "w", buffering=1)  # noqa: SIM115 (open for the process's lifetime)
    started: dict[str, float] = {}
    beat: dict[str, Any] = {"at": None, "thread": None}

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started["at"] = time.perf_counter()
        elif (took := time.perf_counter() - started.get("at", time.perf_counter())) > 0.020:
            thread = threading.current_thread().name
            out.write(f"{time.time():.3f} GC gen{info['generation']} {took * 1000:.0f} ms on {thread}\n")

    def tick(loop: Any) -> None:
        beat["at"], beat["thread"] = time.perf_counter(), threading.get_ident()
        loop.call_later(0.003, tick, loop)

    running: list[Any] = []
    set_running_loop = asyncio.events._set_running_loop

    def noting_running_loop(loop: Any) -> None:
        # asyncio and uvloop both call this when a loop starts running: the way to learn the loop from outside
        # (scanning gc.get_objects() for it crashed start-ups: it can hand out tuples still being built).
        if loop is not None:
            running.append(loop)
        set_running_loop(loop)

    asyncio.events._set_running_loop = noting_running_loop
    asyncio._set_running_loop = noting_running_loop  # uvloop takes it from here when it is imported

    def find_loop() -> Any:
        while True:
            time.sleep(0.2)
            for candidate in reversed(running):
                if candidate.is_running():
                    return candidate

    def watch() -> None:
        try:
            follow(find_loop())
        except BaseException:
            out.write(traceback.format_exc())
            raise

    def follow(loop: Any) -> None:
        loop.call_soon_threadsafe(tick, loop)
        last, reported = time.perf_counter(), 0.0
        while True:
            time.sleep(0.002)
            now = time.perf_counter()
            frames = sys._current_frames()
            if now - last > _LATE:
                out.write(f"{time.time():.3f} GIL {(now - last) * 1000:.0f} ms late\n")
                for ident, frame in frames.items():
                    if ident != threading.get_ident():
                        out.write(f"    {_stack(frame)}\n")
            if beat["at"] is not None and now - beat["at"] > _LATE and now - reported > 0.020:
                loop_frame = frames.get(beat["thread"])
                out.write(f"{time.time():.3f} LOOP {(now - beat['at']) * 1000:.0f} ms late: {_stack(loop_frame)}\n")
                reported = now
            last = time.perf_counter()

    gc.callbacks.append(on_gc)
    threading.Thread(target=watch, daemon=True, name="stall-watchdog").start()


if _LOG and "serve" in sys.argv:
    _start(_LOG)
