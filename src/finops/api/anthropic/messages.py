"""``/v1/messages``, ``/v1/messages/count_tokens`` and ``/v1/models``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from finops.cache.controls import SIMILARITY_HEADER, controls_from_headers
from finops.core.types import CacheStatus

from .render import list_json
from .requests import call_context, headers_of, list_params, parse_json, provider_of, read_body
from .responses import json_response, streamed
from .services import authenticate, services_of

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def create_message(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    provider = provider_of(request)
    raw = await read_body(request, services.settings.server.max_message_bytes)
    body = parse_json(raw)
    ctx = call_context(request, raw_body=raw)
    cache = controls_from_headers(headers_of(request))
    if isinstance(body, dict) and body.get("stream"):
        frames = services.messages.stream(principal, provider, body, ctx, cache)
        response = await streamed(frames, "text/event-stream", _SSE_HEADERS, rest=frames.rest)
        return _with_cache_headers(response, frames.cache)  # known once the first frame was pulled
    result = await services.messages.create(principal, provider, body, ctx, cache)
    return _with_cache_headers(json_response(result.message), result.cache)


def _with_cache_headers(response: Response, status: CacheStatus | None) -> Response:
    """``x-finops-cache: hit|miss|bypass`` when the cache was in play; the similarity of a semantic hit."""
    if status is not None:
        response.headers["x-finops-cache"] = status.result
        if status.similarity is not None:
            response.headers[SIMILARITY_HEADER] = f"{status.similarity:.4f}"
    return response


async def count_tokens(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    provider = provider_of(request)
    body = parse_json(await read_body(request, services.settings.server.max_message_bytes))
    return json_response(await services.messages.count_tokens(principal, provider, body, call_context(request)))


async def list_models(request: Request) -> Response:
    await authenticate(request)
    params = list_params(request)
    page = await services_of(request).messages.list_models(
        provider_of(request),
        call_context(request),
        limit=params.limit,
        after_id=params.after_id,
        before_id=params.before_id,
    )
    return json_response(list_json(page, dict))


async def get_model(request: Request) -> Response:
    await authenticate(request)
    model_id = request.path_params["model_id"]
    model = await services_of(request).messages.retrieve_model(provider_of(request), model_id, call_context(request))
    return json_response(model)
