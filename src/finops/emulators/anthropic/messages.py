"""``POST /v1/messages`` (JSON or SSE) and ``POST /v1/messages/count_tokens``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators.anthropic import generation, wire
from finops.emulators.anthropic.conversation import input_tokens
from finops.emulators.anthropic.errors import not_found
from finops.emulators.anthropic.ids import new_id
from finops.emulators.anthropic.responses import json_body, json_response, state_of
from finops.emulators.anthropic.validation import betas_of, validate_params


def _referenced_file_ids(content: Any) -> Iterator[str]:
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "file":
            yield str(source.get("file_id"))
        if block.get("type") == "tool_result":
            yield from _referenced_file_ids(block.get("content"))


def check_file_sources(request: Request, params: dict[str, Any]) -> None:
    """A ``{"type": "file", "file_id"}`` source must name a file this organisation uploaded."""
    files = state_of(request).files
    for message in params.get("messages") or []:
        for file_id in _referenced_file_ids(message.get("content") if isinstance(message, dict) else None):
            if file_id not in files:
                raise not_found(f"File not found: {file_id}")


async def create_message(request: Request) -> Response:
    params = await json_body(request)
    validate_params(params, betas=betas_of(request.headers.get("anthropic-beta")))
    check_file_sources(request, params)
    reply = generation.plan_reply(params, tool_use_id=new_id("toolu"), cache=state_of(request).prompt_cache)
    message_id = new_id("msg")
    if not params.get("stream"):
        return json_response(wire.message_object(reply, message_id=message_id, model=params["model"]))

    async def frames() -> AsyncIterator[bytes]:
        for event, data in wire.stream_events(reply, message_id=message_id, model=params["model"]):
            yield wire.sse_frame(event, data)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream; charset=utf-8",
        headers={"cache-control": "no-cache"},
    )


async def count_tokens(request: Request) -> Response:
    params = await json_body(request)
    validate_params(params, require_max_tokens=False, betas=betas_of(request.headers.get("anthropic-beta")))
    check_file_sources(request, params)
    return json_response({"input_tokens": input_tokens(params)})
