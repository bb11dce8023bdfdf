"""``GET /health``: liveness plus the providers this gateway serves."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from finops.api.anthropic.responses import json_response


async def health(request: Request) -> Response:
    return json_response({"status": "ok", "providers": request.app.state.provider_names})
