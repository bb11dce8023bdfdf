"""``GET /health``: liveness (the process serves) plus the providers this gateway serves.
``GET /health/ready``: readiness, 503 while the store does not answer (a load balancer stops sending traffic
here; a liveness probe must not restart a process whose database is down)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from finops.api.anthropic.errors import UNAVAILABLE_DEPENDENCY, error_response, request_id_of
from finops.api.anthropic.responses import json_response
from finops.store import Store
from finops.store.db import ping


async def health(request: Request) -> Response:
    return json_response({"status": "ok", "providers": request.app.state.provider_names})


async def ready(request: Request) -> Response:
    store: Store = request.app.state.store
    limits = request.app.state.services.settings.database
    try:
        # The engine's own timeouts bound each step; this bounds the whole (a pool wait plus a connect plus a query).
        async with asyncio.timeout(limits.connect_timeout_seconds + limits.statement_timeout_seconds):
            await ping(store.engine)
    except UNAVAILABLE_DEPENDENCY:
        return error_response(
            503, "api_error", "the database does not answer", request_id_of(request), {"retry-after": "5"}
        )
    return json_response({"status": "ready", "database": "ok"})
