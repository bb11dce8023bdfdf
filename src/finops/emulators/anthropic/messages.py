"""``POST /v1/messages`` (JSON or SSE) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators.anthropic import generation
from finops.emulators.anthropic.ids import new_id
from finops.emulators.anthropic.responses import json_body, json_response


async def create_message(request: Request) -> Response:
    params = await json_body(request)
    generation.validate_params(params)
    reply = generation.plan_reply(params, tool_use_id=new_id("toolu"))
    message_id = new_id("msg")
    if not params.get("stream"):
        return json_response(generation.message_object(reply, message_id=message_id, model=params["model"]))

    async def frames() -> AsyncIterator[bytes]:
        for event, data in generation.stream_events(reply, message_id=message_id, model=params["model"]):
            yield generation.sse_frame(event, data)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache"},
    )


async def count_tokens(request: Request) -> Response:
    params = await json_body(request)
    generation.validate_params(params, require_max_tokens=False)
    return json_response({"input_tokens": generation.input_tokens(params)})
