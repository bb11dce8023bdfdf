"""Files API: upload (streamed to disk), list, retrieve, delete, download (streamed from disk)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators.openai import jsonl
from finops.emulators.openai.errors import OpenAIError, bad_request, not_found
from finops.emulators.openai.listing import page, parse_limit
from finops.emulators.openai.state import EmulatorState, StoredFile, new_file_id
from finops.emulators.openai.upload import receive_upload

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
DOWNLOADABLE_PURPOSES = frozenset({"batch", "batch_output", "vision", "assistants_output", "fine-tune-results"})
"""Purposes whose content OpenAI serves (uploads of the other purposes are answered 400)."""
_BATCH_FILE_TTL = 30 * 24 * 3600  # batch input files expire after 30 days unless told otherwise
_MIN_EXPIRY, _MAX_EXPIRY = 3600, 30 * 24 * 3600
_CHUNK = 256 * 1024


def _json(payload: object, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _state(request: Request) -> EmulatorState:
    state: EmulatorState = request.app.state.emulator
    return state


def get_file(state: EmulatorState, file_id: str) -> StoredFile:
    stored = state.files.get(file_id)
    if stored is None:
        raise not_found("file", file_id, "file_id")
    return stored


async def create_file(request: Request) -> Response:
    state = _state(request)
    # An oversized upload is read to the end (and dropped) rather than cut off, so the client receives the
    # 413 instead of a connection reset half-way through its upload.
    path = state.new_blob_path()
    upload = await receive_upload(request, path, state.max_file_bytes)
    try:
        if upload.too_large:
            raise _too_large(state)
        if upload.filename is None:
            raise bad_request("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
        purpose = upload.fields.get("purpose")
        if purpose is None:
            raise bad_request(
                "Missing required parameter: 'purpose'.", param="purpose", code="missing_required_parameter"
            )
        if purpose not in UPLOAD_PURPOSES:
            raise bad_request(
                f"Invalid value for purpose: '{purpose}'. Supported values are: "
                + ", ".join(f"'{p}'" for p in UPLOAD_PURPOSES)
                + ".",
                param="purpose",
                code="invalid_value",
            )
        created_at = int(time.time())
        expires_at = _expires_at(upload.fields, created_at, purpose)
        if purpose == "batch":
            problem = await asyncio.to_thread(jsonl.check_upload, path)
            if problem is not None:
                raise bad_request(
                    f"Invalid batch input file, line {problem.line}: {problem.message}",
                    param="file",
                    code=problem.code,
                )
    except OpenAIError:
        path.unlink(missing_ok=True)
        raise
    stored = state.add_file(
        StoredFile(
            id=new_file_id(),
            filename=upload.filename,
            purpose=purpose,
            bytes=upload.size,
            created_at=created_at,
            expires_at=expires_at,
            path=path,
        )
    )
    return _json(stored.to_object())


def _too_large(state: EmulatorState) -> OpenAIError:
    return OpenAIError(
        413,
        f"File is too large: the maximum size is {state.max_file_bytes} bytes.",
        param="file",
        code="file_too_large",
    )


def _expires_at(fields: dict[str, str], created_at: int, purpose: str) -> int | None:
    anchor = fields.get("expires_after[anchor]")
    seconds = fields.get("expires_after[seconds]")
    if anchor is None and seconds is None:
        return created_at + _BATCH_FILE_TTL if purpose == "batch" else None
    if anchor != "created_at":
        raise bad_request(
            "Invalid value for 'expires_after[anchor]': the only supported anchor is 'created_at'.",
            param="expires_after.anchor",
            code="invalid_value",
        )
    if seconds is None or not seconds.strip().isdigit() or not _MIN_EXPIRY <= int(seconds) <= _MAX_EXPIRY:
        raise bad_request(
            f"Invalid value for 'expires_after[seconds]': expected an integer between {_MIN_EXPIRY} and {_MAX_EXPIRY}.",
            param="expires_after.seconds",
            code="invalid_value",
        )
    return created_at + int(seconds)


async def list_files(request: Request) -> Response:
    state = _state(request)
    query = request.query_params
    order = query.get("order", "desc")
    if order not in ("asc", "desc"):
        raise bad_request("Invalid 'order': expected 'asc' or 'desc'.", param="order", code="invalid_value")
    limit = parse_limit(query.get("limit"), default=10_000, maximum=10_000)
    purpose = query.get("purpose")
    items = [f for f in state.files.values() if purpose is None or f.purpose == purpose]
    if order == "desc":
        items.reverse()  # dicts keep insertion order, which is creation order
    return _json(page(items, after=query.get("after"), limit=limit))


async def retrieve_file(request: Request) -> Response:
    return _json(get_file(_state(request), request.path_params["file_id"]).to_object())


async def delete_file(request: Request) -> Response:
    state = _state(request)
    file_id = request.path_params["file_id"]
    get_file(state, file_id)
    state.remove_file(file_id)
    return _json({"id": file_id, "object": "file", "deleted": True})


async def file_content(request: Request) -> Response:
    stored = get_file(_state(request), request.path_params["file_id"])
    if stored.purpose not in DOWNLOADABLE_PURPOSES:
        # OpenAI serves batch files and what its tools produced, never what users uploaded as data.
        raise bad_request(f"Not allowed to download files of purpose: {stored.purpose}")
    return StreamingResponse(
        _read_chunks(stored.path),
        media_type="application/octet-stream",
        headers={"content-length": str(stored.bytes)},
    )


async def _read_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk
