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
import logging
import os
import sys
from typing import Any

import uvicorn

from finops import gc_policy
from finops.config import ServerSettings, Settings, load_settings
from finops.http_protocol import BoundedHeadHttpToolsProtocol
from finops.shutdown import DrainingApp

if sys.platform != "win32":
    import resource

logger = logging.getLogger(__name__)

WORKER_CONFIG_ENV = "FINOPS_WORKER_CONFIG"
WORKER_HOST_ENV = "FINOPS_WORKER_HOST"
"""The address the supervisor binds (``--host`` may differ from the file's ``server.host``)."""
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


def uvicorn_options(server: ServerSettings, host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
        "backlog": server.backlog,
        "loop": "auto",
        "http": BoundedHeadHttpToolsProtocol,
        "h11_max_incomplete_event_size": server.max_header_bytes,  # read by BoundedHeadHttpToolsProtocol
        # X-Forwarded-For/-Proto only from the proxies the operator named (uvicorn's default trusts loopback).
        "proxy_headers": bool(server.trusted_proxies),
        "forwarded_allow_ips": server.trusted_proxies or None,
    }


def with_bind_host(settings: Settings, host: str) -> Settings:
    """The settings as served: ``server.host`` is the address actually bound (``--host`` wins over the file), so
    the default ``server.allowed_hosts`` names it."""
    if settings.server.host == host:
        return settings
    return settings.model_copy(update={"server": settings.server.model_copy(update={"host": host})})


def build_app(settings: Settings) -> DrainingApp:
    from finops.app import create_app

    return DrainingApp(create_app(settings), settings.server.drain_seconds)


def settle_gc(app: DrainingApp) -> None:
    """Called once the application is built: the serving process's GC policy (``finops.gc_policy``), whose sweeps
    start with the event loop."""
    gc_policy.settle()
    app.on_started.append(gc_policy.Sweeper().start)


def serve_in_process(settings: Settings, host: str, port: int) -> None:
    app = build_app(with_bind_host(settings, host))
    settle_gc(app)
    raise_open_file_limit()
    uvicorn.run(app, **uvicorn_options(settings.server, host, port))


def serve_workers(settings: Settings, config_path: str | None, host: str, port: int, workers: int) -> None:
    asyncio.run(_migrate_once(settings.database.url))
    raise_open_file_limit()
    os.environ[WORKER_CONFIG_ENV] = config_path or ""
    os.environ[WORKER_HOST_ENV] = host
    uvicorn.run(
        "finops.serving:worker_app", factory=True, workers=workers, **uvicorn_options(settings.server, host, port)
    )


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
    settings = with_bind_host(settings, os.environ.get(WORKER_HOST_ENV) or settings.server.host)
    app = build_app(settings)
    settle_gc(app)
    raise_open_file_limit()
    return app
