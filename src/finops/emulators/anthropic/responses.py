"""Small response helpers shared by the route modules."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.anthropic.errors import invalid_request


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or the 400 Anthropic gives for anything else."""
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"There was an issue with your request body: invalid JSON ({exc.msg})") from None
    if not isinstance(body, dict):
        raise invalid_request("Request body must be a JSON object")
    return body


def state_of(request: Request) -> Any:
    return request.app.state.emulator
