"""``/v1/messages/batches``: inline batches on any provider, results as Anthropic JSONL."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from finops.core.release import release
from finops.core.types import Principal
from finops.store.records import BatchRecord

from .batch_body import parse_batch_body
from .full_collections import full_collections_postponed
from .render import batch_json, list_json
from .requests import call_context, list_params, parse_json, provider_of, read_body
from .responses import json_response, streamed
from .services import Services, authenticate, base_url, services_of

_LARGE_BODY_BYTES = 1024 * 1024
"""From here a body is parsed in pieces on a worker thread, with full garbage collections postponed."""


async def create_batch(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    root = base_url(request)  # a Host that may not shape results_url is refused before anything is created
    provider = provider_of(request)  # the default; ``provider/model`` names in the body may choose another
    services.batches.check_provider(provider)  # a header naming a provider without batches: refused before reading
    raw = await read_body(request, services.settings.server.max_batch_bytes)
    if len(raw) > _LARGE_BODY_BYTES:
        # A 100,000-request body is tens of MB. One parse of it, or one full collection of the objects it makes,
        # would hold the GIL (and so every other request) for a good part of a second: see batch_body and
        # full_collections. _create_large frees the batch's objects (see finops.core.release) before full
        # collections resume.
        with full_collections_postponed():
            record = await _create_large(services, principal, provider, raw, request)
    else:
        record = await services.batches.create(principal, provider, parse_json(raw), call_context(request))
    return json_response(batch_json(record, root))


async def _create_large(
    services: Services, principal: Principal, provider: str, raw: bytes, request: Request
) -> BatchRecord:
    body = await asyncio.to_thread(parse_batch_body, raw)
    try:
        return await services.batches.create(principal, provider, body, call_context(request))
    finally:
        if isinstance(body, dict) and isinstance(body.get("requests"), list):
            await release(body["requests"])  # freed in steps rather than in one pause when this frame ends


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
