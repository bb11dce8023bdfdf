"""Builds the ASGI application. Nothing happens at import time: ``create_app(settings)`` wires everything and
the lifespan opens (and on shutdown closes) the store, the upstream HTTP clients and background workers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from finops.api.admin import ROUTES as ADMIN_ROUTES
from finops.api.anthropic.errors import (
    UNAVAILABLE_DEPENDENCY,
    dependency_error_handler,
    gateway_error_handler,
    http_error_handler,
    unexpected_error_handler,
)
from finops.api.anthropic.routes import ROUTES as ANTHROPIC_ROUTES
from finops.api.anthropic.services import Services
from finops.api.health import health, ready
from finops.api.metrics import metrics
from finops.api.middleware import GatewayMiddleware
from finops.api.ui import Console, console_app
from finops.cache.setup import build_cache
from finops.config import Settings
from finops.core.batch_parts import BatchParts
from finops.core.batches import BatchService
from finops.core.errors import GatewayError
from finops.core.files import FileService
from finops.core.messages import MessageService
from finops.core.processes import gone_from_this_machine, process_owner
from finops.core.recovery import Recovery, remove_dead_spools
from finops.governance.background import LeasedJobs
from finops.governance.focus import CostExport
from finops.governance.governor import Governance
from finops.governance.metrics import GatewayMetrics
from finops.governance.overview import ConsoleReports
from finops.providers.http import pool_waits
from finops.providers.registry import ProviderRegistry
from finops.store import Store
from finops.store.leases import LeaseRepository
from finops.store.reports import ReportRepository
from finops.store.sessions import SessionRepository


def create_app(settings: Settings, *, providers: ProviderRegistry | None = None) -> ASGIApp:
    """The gateway as an ASGI app. ``providers`` replaces the configured adapters (tests, demo)."""
    metrics_registry = CollectorRegistry()  # one per app: several gateways may live in one process (tests)
    gateway_metrics = GatewayMetrics(metrics_registry)
    gateway_metrics.count_pool_waits(pool_waits)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        registry = providers or ProviderRegistry.from_settings(settings.providers)
        store = await Store.open(settings.database.url, settings.database)
        app.state.store = store
        app.state.provider_names = registry.names()
        governance = Governance(settings, store.engine, gateway_metrics)
        app.state.governance = governance
        process = process_owner()  # names this process in its intents and its lease
        batches = BatchService(store, registry, governance, process=process)
        cache = build_cache(settings, store.engine, registry)
        gateway_metrics.count_cache(cache.stats)
        app.state.services = Services(
            settings=settings,
            authenticator=governance.authenticator,
            messages=MessageService(registry, store.files, governance, cache),
            files=FileService(store, registry, process=process),
            batches=batches,
        )
        reports = ReportRepository(store.engine)
        app.state.cost_export = CostExport(reports, flush=governance.ledger.flush)
        if settings.console.enabled:
            app.state.console = Console(
                settings=settings,
                governance=governance,
                sessions=SessionRepository(store.engine),
                reports=reports,
                overview=ConsoleReports(reports, governance.admin.list, flush=governance.ledger.flush),
                files=app.state.services.files,
                batches=app.state.services.batches,
                batch_parts=BatchParts(registry),
            )
        reconciler = await governance.start(batches)  # it reads ended batches' results through the batch service
        # One process among all sharing the database polls (workers, hosts): the jobs run under one lease.
        jobs = LeasedJobs(LeaseRepository(store.engine), owner=process)
        if reconciler is not None:
            jobs.add("batch-reconciler", reconciler.run_once, settings.governance.reconcile_interval_seconds)
        recovery = Recovery(store, registry, process_gone=gone_from_this_machine)
        jobs.add("intent-recovery", recovery.run_once, settings.governance.recovery_interval_seconds)
        remove_dead_spools()  # every process: spool files live on this machine, the lease holder may be elsewhere
        jobs.start()
        cache.start()  # every process keeps its own mirror in step, so this one is not leased
        try:
            yield
        finally:
            await cache.stop()  # writes the answers still being stored
            await jobs.stop()
            await governance.stop()  # drains the usage ledger: a clean shutdown loses no row
            await registry.aclose()
            await store.close()

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/health/ready", ready, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Mount("/anthropic", routes=ANTHROPIC_ROUTES),
            Mount("/admin", routes=ADMIN_ROUTES),
            *([Mount("/ui", app=console_app())] if settings.console.enabled else []),
        ],
        exception_handlers={
            GatewayError: gateway_error_handler,
            HTTPException: http_error_handler,
            **dict.fromkeys(UNAVAILABLE_DEPENDENCY, dependency_error_handler),
            Exception: unexpected_error_handler,
        },
        lifespan=lifespan,
    )
    app.state.metrics_registry = metrics_registry
    token = settings.governance.metrics_token
    app.state.metrics_token = token.get_secret_value() if token is not None and token.get_secret_value() else None
    return GatewayMiddleware(app, metrics_registry)
