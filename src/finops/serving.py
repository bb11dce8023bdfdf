"""How ``finops serve`` runs: one serving process, or N workers sharing the port; and what each serving process
needs beyond uvicorn's options (room for thousands of open sockets, the drain on SIGTERM).

**Workers.** ``workers == 1`` serves in this process, as before. ``workers > 1`` hands the app to uvicorn's own
multiprocess supervisor (``uvicorn.run(..., workers=N)``, its public API): the supervisor binds the port once and
spawns N workers that accept from the same socket; a worker that dies is replaced, SIGTERM/SIGINT to the
supervisor reaches every worker (each drains, see ``finops.shutdown``), SIGHUP replaces them one by one. Workers
are fresh interpreters (uvicorn spawns them), so each builds its app from ``worker_app`` with the settings read
from the config file named in ``FINOPS_WORKER_CONFIG``. The supervisor migrates the database once before any worker
starts, so N workers never race on the schema (SQLite has no advisory lock for that). What must be exact across
workers already is: rate limits in Redis (or per process without it), budgets and the ledger in the shared store,
background jobs under one lease (``finops.governance.background``).

**Open files.** Each open stream holds two sockets (the caller's and the upstream's), and a common soft limit on
open files is 1,024: the gateway would start refusing connections near 500 streams, far below its upstream
``max_connections``. Lifting the soft limit to the hard one is what Go's runtime has done for every program since
Go 1.19; workers inherit the lifted limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys
from typing import Any

import uvicorn

from finops.config import Settings, load_settings
from finops.shutdown import DrainingApp

if sys.platform != "win32":
    import resource

logger = logging.getLogger(__name__)

WORKER_CONFIG_ENV = "FINOPS_WORKER_CONFIG"
"""The config file path the supervisor hands its workers (empty: defaults, as ``finops serve`` with no file)."""
SHUTDOWN_GRACE_SECONDS = 5
"""After the drain: how long uvicorn lets connections still open finish before it cancels them."""
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CEILING = 1_048_576
"""Used when the hard limit is "unlimited": the kernel still caps a process (Linux's default ``nr_open``)."""
_WARN_BELOW = 4_096
"""Below this many open files (about 2,000 streams) the operator hears about the limit at start-up."""


def raise_open_file_limit() -> int | None:
    """Lift this process's soft limit on open files to its hard limit; returns the limit now in force (``None``:
    the platform has no such limit, or it is unlimited)."""
    if sys.platform == "win32":
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    wanted = _CEILING if hard == resource.RLIM_INFINITY else hard
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):  # macOS refuses more than its OPEN_MAX: keep what we have
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < _WARN_BELOW:
        logger.warning("open-file limit %d: room for about %d open streams (raise it: ulimit -n)", soft, soft // 2)
    return soft


def worker_count(value: int | str) -> int:
    """``auto`` is one worker per CPU this process may run on."""
    if value == "auto":
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return max(1, os.cpu_count() or 1)
    try:
        count = int(value)
    except ValueError:
        raise ValueError(f"workers: must be a number or auto, not {value!r}") from None
    if count < 1:
        raise ValueError("workers: must be at least 1 (or auto)")
    return count


def uvicorn_options(host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
        "loop": "auto",
        "http": "httptools",
    }


def build_app(settings: Settings) -> DrainingApp:
    from finops.app import create_app

    return DrainingApp(create_app(settings), settings.server.drain_seconds)


_GC_THRESHOLDS = (20_000, 5, 1_000)
"""The cyclic GC while serving (CPython's default is 700, 10, 10). Every open stream keeps a few hundred
container objects alive for its whole answer, and each collection of a generation walks all of them: with the
defaults, thousands of open streams made collections cost 20-30 us of CPU per relayed event and full passes
stall the loop for hundreds of ms (docs/benchmarks.md, issue 17). Young collections after 20,000 net new
objects instead of 700, survivors promoted after 5 of them, and a full pass only after 1,000 middle ones (and
CPython's own rule: only once the old generation grew by a quarter). Garbage without cycles is freed by
reference counting as always; cyclic garbage that grew old waits longer for its full pass."""


def settle_gc() -> None:
    """Called once the application is built. Everything imported and built so far lives for the whole process:
    ``gc.freeze`` keeps it out of every collection, whose full passes would otherwise walk those ~100k objects."""
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


def serve_in_process(settings: Settings, host: str, port: int) -> None:
    app = build_app(settings)
    settle_gc()
    raise_open_file_limit()
    uvicorn.run(app, **uvicorn_options(host, port))


def serve_workers(settings: Settings, config_path: str | None, host: str, port: int, workers: int) -> None:
    asyncio.run(_migrate_once(settings.database.url))
    raise_open_file_limit()
    os.environ[WORKER_CONFIG_ENV] = config_path or ""
    uvicorn.run("finops.serving:worker_app", factory=True, workers=workers, **uvicorn_options(host, port))


async def _migrate_once(url: str) -> None:
    from finops.store.db import create_engine, migrate

    engine = create_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def worker_app() -> DrainingApp:
    """The factory each worker process calls (``uvicorn --factory``)."""
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    settings = load_settings(os.environ.get(WORKER_CONFIG_ENV) or None)
    app = build_app(settings)
    settle_gc()
    raise_open_file_limit()
    return app
