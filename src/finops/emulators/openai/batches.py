"""Batch API routes: create, retrieve, list, cancel. The work itself happens in ``runner.py``."""

from __future__ import annotations

import asyncio
import time

import orjson
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.openai.chat import read_json
from finops.emulators.openai.errors import bad_request, not_found
from finops.emulators.openai.listing import page, parse_limit
from finops.emulators.openai.runner import run_batch
from finops.emulators.openai.state import BatchRecord, EmulatorState, new_batch_id

# Every endpoint the real API accepts; the emulator can only run chat completions.
_KNOWN_ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/images/edits",
    "/v1/videos",
)
_SUPPORTED_ENDPOINTS = ("/v1/chat/completions",)
_WINDOW_SECONDS = {"24h": 24 * 3600}
_MAX_METADATA_PAIRS = 16


def _json(payload: object) -> Response:
    return Response(orjson.dumps(payload), media_type="application/json")


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def _get_batch(state: EmulatorState, batch_id: str) -> BatchRecord:
    batch = state.batches.get(batch_id)
    if batch is None:
        raise not_found("batch", batch_id, "batch_id")
    return batch


async def create_batch(request: Request) -> Response:
    state = _state(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    for name in ("input_file_id", "endpoint", "completion_window"):
        if not isinstance(body.get(name), str):
            raise bad_request(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    endpoint, window = body["endpoint"], body["completion_window"]
    if endpoint not in _KNOWN_ENDPOINTS:
        raise bad_request(
            f"Invalid value for 'endpoint': '{endpoint}'. Supported values are: {', '.join(_KNOWN_ENDPOINTS)}.",
            param="endpoint",
            code="invalid_value",
        )
    if endpoint not in _SUPPORTED_ENDPOINTS:
        raise bad_request(
            f"The emulator only runs batches for {', '.join(_SUPPORTED_ENDPOINTS)}, not '{endpoint}'.",
            param="endpoint",
            code="unsupported_value",
        )
    if window not in _WINDOW_SECONDS:
        raise bad_request(
            f"Invalid value for 'completion_window': '{window}'. Supported values are: '24h'.",
            param="completion_window",
            code="invalid_value",
        )
    metadata = _validate_metadata(body.get("metadata"))
    input_file = state.files.get(body["input_file_id"])
    if input_file is None:
        raise not_found("file", body["input_file_id"], "input_file_id")
    if input_file.purpose != "batch":
        raise bad_request(
            f"Invalid 'input_file_id': file '{input_file.id}' has purpose '{input_file.purpose}', "
            "but a batch input file must be uploaded with purpose 'batch'.",
            param="input_file_id",
        )
    created_at = int(time.time())
    batch = BatchRecord(
        id=new_batch_id(),
        endpoint=endpoint,
        input_file_id=input_file.id,
        completion_window=window,
        metadata=metadata,
        created_at=created_at,
        expires_at=created_at + _WINDOW_SECONDS[window],
    )
    state.batches[batch.id] = batch
    batch.task = asyncio.get_running_loop().create_task(run_batch(state, batch), name=f"openai-emulator {batch.id}")
    return _json(batch.to_object())


def _validate_metadata(metadata: object) -> dict[str, str] | None:
    if metadata is None:
        return None
    if (
        not isinstance(metadata, dict)
        or len(metadata) > _MAX_METADATA_PAIRS
        or not all(
            isinstance(k, str) and len(k) <= 64 and isinstance(v, str) and len(v) <= 512 for k, v in metadata.items()
        )
    ):
        raise bad_request(
            "Invalid 'metadata': expected at most 16 string pairs (keys up to 64, values up to 512 characters).",
            param="metadata",
        )
    return metadata


async def retrieve_batch(request: Request) -> Response:
    return _json(_get_batch(_state(request), request.path_params["batch_id"]).to_object())


async def list_batches(request: Request) -> Response:
    state = _state(request)
    limit = parse_limit(request.query_params.get("limit"), default=20, maximum=100)
    newest_first = list(reversed(state.batches.values()))
    return _json(page(newest_first, after=request.query_params.get("after"), limit=limit))


async def cancel_batch(request: Request) -> Response:
    batch = _get_batch(_state(request), request.path_params["batch_id"])
    if batch.status in ("validating", "in_progress", "finalizing"):
        batch.status, batch.cancelling_at = "cancelling", int(time.time())
        batch.cancel_requested.set()
    elif batch.status not in ("cancelling", "cancelled"):
        raise bad_request(
            f"Cannot cancel a batch with status '{batch.status}'.", param="batch_id", code="invalid_state"
        )
    return _json(batch.to_object())
