"""``POST /v1/chat/completions``: JSON reply or an SSE stream of ``chat.completion.chunk`` objects."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators._common.tokens import tokenize
from finops.emulators.openai.completion import SYSTEM_FINGERPRINT, Completion, complete, to_response, usage
from finops.emulators.openai.errors import bad_request

_TOKENS_PER_CHUNK = 1  # like the real API: roughly one token per content delta
_ARGUMENT_TOKENS_PER_CHUNK = 3


async def create_chat_completion(request: Request) -> Response:
    body = await read_json(request)
    completion = complete(body, now=int(time.time()), cache=request.app.state.emulator.prompt_cache)
    if not body.get("stream"):
        return Response(orjson.dumps(to_response(completion)), media_type="application/json")
    options = body.get("stream_options") or {}
    include_usage = bool(options.get("include_usage")) if isinstance(options, dict) else False
    return StreamingResponse(
        _sse(stream_chunks(completion, include_usage=include_usage)),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache"},
    )


async def read_json(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise bad_request(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was "
            "not valid JSON.)"
        ) from None


async def _sse(chunks: Iterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield b"data: " + orjson.dumps(chunk) + b"\n\n"
    yield b"data: [DONE]\n\n"


def stream_chunks(completion: Completion, *, include_usage: bool) -> Iterator[dict[str, Any]]:
    """The chunk sequence the real API sends: role first, then deltas, then the finish reason, then usage."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": completion.id,
            "object": "chat.completion.chunk",
            "created": completion.created,
            "model": completion.model,
            "service_tier": "default",
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        if include_usage:
            payload["usage"] = None  # present but null on every chunk except the last one
        return payload

    if completion.tool_calls:
        for index, call in enumerate(completion.tool_calls):
            head = {
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            first = {"role": "assistant", "content": None, "tool_calls": [head], "refusal": None}
            yield chunk(first) if index == 0 else chunk({"tool_calls": [head]})
            for fragment in _fragments(call.arguments, _ARGUMENT_TOKENS_PER_CHUNK):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    else:
        yield chunk({"role": "assistant", "content": "", "refusal": None})
        for fragment in _fragments(completion.content or "", _TOKENS_PER_CHUNK):
            yield chunk({"content": fragment})
        if completion.annotations:
            # Search models send their citations once the text is complete.
            yield chunk({"annotations": completion.annotations})
    yield chunk({}, completion.finish_reason)
    if include_usage:
        final = chunk({})
        final["choices"] = []
        final["usage"] = usage(completion)
        yield final


def _fragments(text: str, tokens_per_fragment: int) -> Iterator[str]:
    tokens = tokenize(text)
    if not tokens and text:
        tokens = [text]
    for start in range(0, len(tokens), tokens_per_fragment):
        yield "".join(tokens[start : start + tokens_per_fragment])
