"""``/v1/messages/batches``: inline batches on any provider, results as Anthropic JSONL."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from .render import batch_json, list_json
from .requests import call_context, list_params, parse_json, provider_of, read_body
from .responses import json_response, streamed
from .services import authenticate, base_url, services_of

_PARSE_IN_THREAD_BYTES = 1024 * 1024


async def create_batch(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    root = base_url(request)  # a Host that may not shape results_url is refused before anything is created
    provider = provider_of(request)  # the default; ``provider/model`` names in the body may choose another
    services.batches.check_provider(provider)  # a header naming a provider without batches: refused before reading
    raw = await read_body(request, services.settings.server.max_batch_bytes)
    # A 100,000-request body is tens of MB: parsing it would hold the loop for a good part of a second.
    body = await asyncio.to_thread(parse_json, raw) if len(raw) > _PARSE_IN_THREAD_BYTES else parse_json(raw)
    record = await services.batches.create(principal, provider, body, call_context(request))
    return json_response(batch_json(record, root))


async def list_batches(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    root = base_url(request)
    params = list_params(request)
    page = await services.batches.list(
        principal,
        provider_of(request),
        call_context(request),
        limit=params.limit,
        after_id=params.after_id,
        before_id=params.before_id,
    )
    return json_response(list_json(page, lambda record: batch_json(record, root)))


async def get_batch(request: Request) -> Response:
    principal = await authenticate(request)
    root = base_url(request)
    batch_id = request.path_params["batch_id"]
    record = await services_of(request).batches.retrieve(principal, batch_id, call_context(request))
    return json_response(batch_json(record, root))


async def cancel_batch(request: Request) -> Response:
    principal = await authenticate(request)
    root = base_url(request)
    batch_id = request.path_params["batch_id"]
    record = await services_of(request).batches.cancel(principal, batch_id, call_context(request))
    return json_response(batch_json(record, root))


async def delete_batch(request: Request) -> Response:
    principal = await authenticate(request)
    batch_id = request.path_params["batch_id"]
    record = await services_of(request).batches.delete(principal, batch_id, call_context(request))
    return json_response({"id": record.id, "type": "message_batch_deleted"})


async def batch_results(request: Request) -> Response:
    principal = await authenticate(request)
    batch_id = request.path_params["batch_id"]
    lines = await services_of(request).batches.results(principal, batch_id, call_context(request))
    return await streamed(lines, "application/x-jsonl")
