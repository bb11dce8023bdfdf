"""Files API: upload (multipart, streamed to disk), list (both pagination styles), retrieve, delete, download.

User uploads are not downloadable on the real API (only files a tool created are), so ``/content`` answers
the same 400 ``file_not_downloadable`` error for them.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from finops.emulators.anthropic.clock import now, rfc3339
from finops.emulators.anthropic.errors import ApiError, invalid_request, not_found
from finops.emulators.anthropic.ids import new_id
from finops.emulators.anthropic.pagination import paginate, parse_list_query
from finops.emulators.anthropic.responses import json_response, state_of
from finops.emulators.anthropic.state import EmulatorState, FileRecord
from finops.emulators.anthropic.uploads import receive_upload

_MIN_EXPIRY, _MAX_EXPIRY = 3600, 7776000
_MAX_IDS = 100


def file_object(record: FileRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": "file",
        "filename": record.filename,
        "mime_type": record.mime_type,
        "size_bytes": record.size_bytes,
        "created_at": rfc3339(record.created_at),
        "downloadable": record.downloadable,
        "expires_at": rfc3339(record.expires_at),
        "scope": None,
    }


def _lookup(state: EmulatorState, file_id: str) -> FileRecord:
    record = state.files.get(file_id)
    if record is None or (record.expires_at is not None and record.expires_at <= now()):
        raise not_found(f"File not found: {file_id}")
    return record


async def upload_file(request: Request) -> Response:
    state: EmulatorState = state_of(request)
    file_id = new_id("file")
    upload = await receive_upload(request, state.upload_dir / file_id)
    created = now()
    expires_at = None
    raw_expiry = upload.fields.get("expires_in_seconds")
    if raw_expiry:
        if not raw_expiry.isdigit() or not _MIN_EXPIRY <= int(raw_expiry) <= _MAX_EXPIRY:
            upload.path.unlink(missing_ok=True)
            raise invalid_request(f"expires_in_seconds: must be an integer between {_MIN_EXPIRY} and {_MAX_EXPIRY}")
        expires_at = created + int(raw_expiry)
    record = FileRecord(
        id=file_id,
        seq=state.next_seq(file_id),
        filename=upload.filename,
        mime_type=upload.mime_type,
        size_bytes=upload.size_bytes,
        created_at=created,
        path=upload.path,
        expires_at=expires_at,
    )
    state.files[file_id] = record
    return json_response(file_object(record))


async def list_files(request: Request) -> Response:
    state: EmulatorState = state_of(request)
    query_params = request.query_params
    current = now()
    records = [r for r in state.files.values() if r.expires_at is None or r.expires_at > current]
    records.sort(key=lambda r: r.seq, reverse=True)
    scope_id = query_params.get("scope_id")
    if scope_id is not None:
        records = []  # uploads carry no scope; only session-created files would match
    ids = _requested_ids(query_params.getlist("ids") + query_params.getlist("ids[]"))
    if ids is not None:
        wanted = set(ids)
        data = [file_object(r) for r in records if r.id in wanted]
        return json_response(
            {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "next_page": None,
            }
        )
    query = parse_list_query(query_params, state.seq_of.get)
    page = paginate(records, query, seq=lambda r: r.seq, item_id=lambda r: r.id, render=file_object)
    return json_response(page)


def _requested_ids(values: list[str]) -> list[str] | None:
    if not values:
        return None
    ids = list(dict.fromkeys(part for value in values for part in value.split(",") if part))
    if len(ids) > _MAX_IDS:
        raise invalid_request(f"ids: at most {_MAX_IDS} IDs may be given")
    return ids


async def get_file(request: Request) -> Response:
    record = _lookup(state_of(request), request.path_params["file_id"])
    return json_response(file_object(record))


async def delete_file(request: Request) -> Response:
    state: EmulatorState = state_of(request)
    record = _lookup(state, request.path_params["file_id"])
    del state.files[record.id]
    record.path.unlink(missing_ok=True)
    return json_response({"id": record.id, "type": "file_deleted"})


async def download_file(request: Request) -> Response:
    record = _lookup(state_of(request), request.path_params["file_id"])
    if not record.downloadable:
        raise ApiError(
            400,
            f"File {record.id} is not downloadable. Only files created by tools can be downloaded.",
            details={"error_code": "file_not_downloadable"},
        )
    # Streamed from disk in chunks, never loaded whole.
    return FileResponse(record.path, media_type=record.mime_type, filename=record.filename)
