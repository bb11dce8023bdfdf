"""``GET /metrics`` in the Prometheus text format, and a tiny ASGI middleware counting HTTP answers."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from finops.governance.metrics import GatewayMetrics


async def metrics(request: Request) -> Response:
    registry = request.app.state.governance.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class HttpMetricsMiddleware:
    """Counts responses by status class (2xx, 4xx, ...): one dict lookup and an increment per request."""

    def __init__(self, app: Any, gateway_metrics: GatewayMetrics) -> None:
        self.app = app
        self._metrics = gateway_metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self._metrics.http.labels(f"{message['status'] // 100}xx").inc()
            await send(message)

        await self.app(scope, receive, counting_send)
