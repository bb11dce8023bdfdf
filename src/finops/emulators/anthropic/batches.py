"""Message Batches: create, retrieve, list, cancel, delete and JSONL results.

Input is checked the way Anthropic checks it before accepting a batch (1..100,000 requests, unique
``custom_id`` matching ``^[a-zA-Z0-9_-]{1,64}$``, 256 MB body); invalid *params* of one request do not refuse
the batch but end that request ``errored``. ``results_url`` is absolute and names this emulator's own host,
because the SDKs GET it verbatim.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators.anthropic import batch_lifecycle as lifecycle
from finops.emulators.anthropic import generation, wire
from finops.emulators.anthropic.clock import now, rfc3339
from finops.emulators.anthropic.errors import ApiError, envelope, invalid_request, not_found
from finops.emulators.anthropic.ids import new_id, stable_id
from finops.emulators.anthropic.pagination import paginate, parse_list_query
from finops.emulators.anthropic.responses import json_body, json_response, state_of
from finops.emulators.anthropic.state import Batch, BatchRequest, EmulatorState
from finops.emulators.anthropic.validation import betas_of, validate_params

MAX_REQUESTS = 100_000
MAX_BODY_BYTES = 256 * 1024 * 1024
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_CANCEL_DELAY = 1.0
_LINES_PER_CHUNK = 500


def batch_object(request: Request, batch: Batch, at: float) -> dict[str, Any]:
    summary = lifecycle.summary(batch, at)
    ended = summary["status"] == "ended"
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": summary["status"],
        "request_counts": summary["request_counts"],
        "created_at": rfc3339(batch.created_at),
        "expires_at": rfc3339(summary["expires_at"]),
        "ended_at": rfc3339(summary["ended_at"]),
        "cancel_initiated_at": rfc3339(batch.cancel_initiated_at),
        "archived_at": None,
        "results_url": _results_url(request, batch.id) if ended else None,
    }


def _results_url(request: Request, batch_id: str) -> str:
    # base_url carries scheme, host, port and any root_path the emulator is mounted under.
    return f"{str(request.base_url).rstrip('/')}/v1/messages/batches/{batch_id}/results"


def _lookup(state: EmulatorState, batch_id: str) -> Batch:
    batch = state.batches.get(batch_id)
    if batch is None:
        raise not_found(f"Message batch not found: {batch_id}")
    return batch


def _parse_requests(body: dict[str, Any], betas: frozenset[str]) -> list[BatchRequest]:
    requests = body.get("requests")
    if requests is None:
        raise invalid_request("requests: Field required")
    if not isinstance(requests, list):
        raise invalid_request("requests: Input should be a valid list")
    if not 1 <= len(requests) <= MAX_REQUESTS:
        raise invalid_request(f"requests: List should have between 1 and {MAX_REQUESTS} items, not {len(requests)}")
    parsed: list[BatchRequest] = []
    seen: set[str] = set()
    for index, item in enumerate(requests):
        if not isinstance(item, dict):
            raise invalid_request(f"requests.{index}: Input should be a valid dictionary")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str):
            raise invalid_request(f"requests.{index}.custom_id: Field required")
        if not _CUSTOM_ID.match(custom_id):
            raise invalid_request(f"requests.{index}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
        if custom_id in seen:
            raise invalid_request(f"Duplicate custom_id '{custom_id}' in requests; each custom_id must be unique.")
        seen.add(custom_id)
        params = item.get("params")
        if not isinstance(params, dict):
            raise invalid_request(f"requests.{index}.params: Field required")
        parsed.append(_batch_request(custom_id, params, betas))
    return parsed


def _batch_request(custom_id: str, params: dict[str, Any], betas: frozenset[str]) -> BatchRequest:
    try:
        validate_params(params, in_batch=True, betas=betas)
    except ApiError as exc:
        return BatchRequest(custom_id, params, error=exc.message, error_type=exc.error_type)
    return BatchRequest(custom_id, params)


async def create_batch(request: Request) -> Response:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"Request body exceeds the Message Batches limit of {MAX_BODY_BYTES} bytes.")
    state: EmulatorState = state_of(request)
    requests = _parse_requests(await json_body(request), betas_of(request.headers.get("anthropic-beta")))
    batch_id = new_id("msgbatch")
    batch = Batch(
        id=batch_id,
        seq=state.next_seq(batch_id),
        created_at=now(),
        duration=state.batch_seconds,
        cancel_delay=min(_MAX_CANCEL_DELAY, state.batch_seconds),
        requests=requests,
    )
    state.batches[batch_id] = batch
    return json_response(batch_object(request, batch, batch.created_at))


async def get_batch(request: Request) -> Response:
    batch = _lookup(state_of(request), request.path_params["batch_id"])
    return json_response(batch_object(request, batch, now()))


async def list_batches(request: Request) -> Response:
    state: EmulatorState = state_of(request)
    query = parse_list_query(request.query_params, state.seq_of.get)
    batches = sorted(state.batches.values(), key=lambda b: b.seq, reverse=True)
    at = now()
    page = paginate(
        batches,
        query,
        seq=lambda b: b.seq,
        item_id=lambda b: b.id,
        render=lambda b: batch_object(request, b, at),
    )
    return json_response(page)


async def cancel_batch(request: Request) -> Response:
    batch = _lookup(state_of(request), request.path_params["batch_id"])
    at = now()
    # Cancelling a batch that is already canceling or ended changes nothing; the batch is returned as it is.
    if lifecycle.can_cancel(batch, at):
        batch.cancel_initiated_at = at
    return json_response(batch_object(request, batch, at))


async def delete_batch(request: Request) -> Response:
    state: EmulatorState = state_of(request)
    batch = _lookup(state, request.path_params["batch_id"])
    current = lifecycle.status(batch, now())
    if current != "ended":
        # 400, not 409: the SDKs retry 409s, and retrying cannot make an unfinished batch deletable.
        raise invalid_request(
            f"Message batch {batch.id} cannot be deleted while it is {current}; "
            "cancel it and wait until processing_status is 'ended'."
        )
    del state.batches[batch.id]
    return json_response({"id": batch.id, "type": "message_batch_deleted"})


async def batch_results(request: Request) -> Response:
    batch = _lookup(state_of(request), request.path_params["batch_id"])
    if lifecycle.status(batch, now()) != "ended":
        raise invalid_request(f"Message batch {batch.id} has not ended yet; results are available once it has.")
    return StreamingResponse(_result_lines(batch), media_type="application/x-jsonl")


async def _result_lines(batch: Batch) -> AsyncIterator[bytes]:
    # Real results are not in request order; a stable shuffle keeps clients from relying on it.
    order = sorted(range(len(batch.requests)), key=lambda i: stable_id("o", batch.id, batch.requests[i].custom_id))
    for start in range(0, len(order), _LINES_PER_CHUNK):
        chunk = [
            orjson.dumps({"custom_id": batch.requests[i].custom_id, "result": _result(batch, i)}) + b"\n"
            for i in order[start : start + _LINES_PER_CHUNK]
        ]
        yield b"".join(chunk)


def _result(batch: Batch, index: int) -> dict[str, Any]:
    item = batch.requests[index]
    kind = lifecycle.outcome(batch, index)
    if kind == "errored":
        request_id = stable_id("req", batch.id, item.custom_id)
        return {
            "type": "errored",
            "error": envelope(item.error_type, item.error or "Invalid request", request_id),
        }
    if kind != "succeeded":
        return {"type": kind}
    # No prompt cache here: results are computed when read, and must read the same every time.
    reply = generation.plan_reply(item.params, tool_use_id=stable_id("toolu", batch.id, item.custom_id))
    message = wire.message_object(
        reply,
        message_id=stable_id("msg", batch.id, item.custom_id),
        model=item.params["model"],
        service_tier="batch",
    )
    return {"type": "succeeded", "message": message}
