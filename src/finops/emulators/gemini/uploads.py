"""The resumable upload protocol of ``POST /upload/{ver}/files``.

1. ``start`` (authenticated with the API key) opens a session and answers its URL in ``X-Goog-Upload-URL``.
2. ``upload`` / ``upload, finalize`` chunks go to that URL with ``X-Goog-Upload-Offset``; the SDK sends no key
   there, so the unguessable session id in the URL is the credential.
Chunks stream straight to a file on disk, so a 500 MB upload never sits in memory.
"""

from __future__ import annotations

import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.gemini.errors import GoogleError, invalid
from finops.emulators.gemini.state import FileRecord, Store, UploadSession
from finops.emulators.gemini.wire import json_response, now, pick, read_json

_FILE_ID = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_CHUNK_GRANULARITY = str(256 * 1024)


def _upload_error(error: GoogleError) -> Response:
    # The SDK retries chunk requests whose answer lacks x-goog-upload-status, so errors say "final".
    response = json_response({"error": error.as_status()}, status_code=error.code)
    response.headers["x-goog-upload-status"] = "final"
    return response


async def handle(request: Request, store: Store, api_version: str) -> Response:
    upload_id = request.query_params.get("upload_id")
    if upload_id is None:
        return await _start(request, store, api_version)
    try:
        return await _chunk(request, store, upload_id)
    except GoogleError as error:
        return _upload_error(error)


async def _start(request: Request, store: Store, api_version: str) -> Response:
    protocol = request.headers.get("x-goog-upload-protocol", "").lower()
    command = request.headers.get("x-goog-upload-command", "").lower()
    if protocol != "resumable" or command != "start":
        raise invalid(
            "Only the resumable upload protocol is emulated: send X-Goog-Upload-Protocol: resumable and "
            "X-Goog-Upload-Command: start."
        )
    body = await read_json(request)
    meta = pick(body, "file") or {}
    declared_header = request.headers.get("x-goog-upload-header-content-length")
    declared = declared_header if declared_header is not None else pick(meta, "sizeBytes")
    try:
        declared_size = int(declared) if declared is not None else None
    except ValueError as exc:
        raise invalid(f"Invalid upload size: {declared!r}.") from exc
    if declared_size is not None and declared_size < 0:
        raise invalid("Upload size must not be negative.")

    file_id = None
    requested_name = pick(meta, "name")
    if requested_name:
        file_id = str(requested_name).removeprefix("files/")
        if not _FILE_ID.match(file_id):
            raise invalid(
                "The File id may contain up to 40 lowercase alphanumeric characters or dashes "
                "and cannot start or end with a dash."
            )
        if file_id in store.files:
            raise GoogleError(409, f"File files/{file_id} already exists.", "ALREADY_EXISTS")
    display_name = pick(meta, "displayName")
    if display_name is not None and len(str(display_name)) > 512:
        raise invalid("displayName must be at most 512 characters.")
    mime_type = (
        pick(meta, "mimeType") or request.headers.get("x-goog-upload-header-content-type") or "application/octet-stream"
    )

    session_id = secrets.token_urlsafe(32)
    path = store.root / "uploads" / session_id
    base_url = str(request.base_url).rstrip("/")
    store.uploads[session_id] = UploadSession(
        id=session_id,
        path=path,
        handle=path.open("wb"),
        mime_type=str(mime_type),
        declared_size=declared_size,
        base_url=base_url,
        api_version=api_version,
        display_name=str(display_name) if display_name else None,
        file_id=file_id,
    )
    upload_url = f"{base_url}/upload/{api_version}/files?upload_id={session_id}&upload_protocol=resumable"
    return Response(
        b"",
        status_code=200,
        headers={
            "X-Goog-Upload-URL": upload_url,
            "X-Goog-Upload-Status": "active",
            "X-Goog-Upload-Chunk-Granularity": _CHUNK_GRANULARITY,
            "X-GUploader-UploadID": session_id,
        },
    )


async def _chunk(request: Request, store: Store, upload_id: str) -> Response:
    session = store.uploads.get(upload_id)
    if session is None:
        raise GoogleError(404, "Upload session not found or already finished.", "NOT_FOUND")
    commands = {c.strip() for c in request.headers.get("x-goog-upload-command", "").lower().split(",") if c.strip()}
    if not commands or not commands <= {"upload", "finalize", "query", "cancel"}:
        raise invalid("X-Goog-Upload-Command must be upload, finalize, query or cancel.")
    async with session.lock:
        if "cancel" in commands:
            _discard(store, session)
            return Response(b"", headers={"X-Goog-Upload-Status": "cancelled"})
        if "query" in commands:
            return Response(
                b"",
                headers={
                    "X-Goog-Upload-Status": "active",
                    "X-Goog-Upload-Size-Received": str(session.received),
                },
            )
        if "upload" in commands:
            await _receive(request, session)
        if "finalize" in commands:
            record = _finalize(store, session)
            response = json_response({"file": record.resource()})
            response.headers["X-Goog-Upload-Status"] = "final"
            return response
    return Response(
        b"", headers={"X-Goog-Upload-Status": "active", "X-Goog-Upload-Size-Received": str(session.received)}
    )


async def _receive(request: Request, session: UploadSession) -> None:
    offset_header = request.headers.get("x-goog-upload-offset")
    try:
        offset = int(offset_header) if offset_header is not None else -1
    except ValueError:
        offset = -1
    if offset != session.received:
        raise invalid(
            f"Invalid X-Goog-Upload-Offset {offset_header!r}: {session.received} bytes have been received so far."
        )
    async for piece in request.stream():
        if not piece:
            continue
        if session.declared_size is not None and session.received + len(piece) > session.declared_size:
            raise invalid(f"The upload is larger than the declared {session.declared_size} bytes.")
        session.handle.write(piece)
        session.hasher.update(piece)
        session.received += len(piece)


def _finalize(store: Store, session: UploadSession) -> FileRecord:
    if session.declared_size is not None and session.received != session.declared_size:
        raise invalid(
            f"Upload finalized after {session.received} bytes but {session.declared_size} bytes were declared."
        )
    session.handle.close()
    del store.uploads[session.id]
    file_id = session.file_id or store.new_file_id()
    if file_id in store.files:
        session.path.unlink(missing_ok=True)
        raise GoogleError(409, f"File files/{file_id} already exists.", "ALREADY_EXISTS")
    target = store.blob_path(file_id)
    session.path.replace(target)
    return store.add_file(
        FileRecord(
            id=file_id,
            seq=store.next_seq(),
            mime_type=session.mime_type,
            size=session.received,
            sha256=session.hasher.digest(),
            path=target,
            created=now(),
            base_url=session.base_url,
            api_version=session.api_version,
            display_name=session.display_name,
        )
    )


def _discard(store: Store, session: UploadSession) -> None:
    session.handle.close()
    session.path.unlink(missing_ok=True)
    store.uploads.pop(session.id, None)
