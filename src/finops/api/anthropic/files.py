"""``/v1/files``: multipart upload spooled to disk and streamed upstream; downloads streamed back."""

from __future__ import annotations

import mimetypes

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from finops.core.errors import InvalidRequestError
from finops.core.types import FileUpload

from .render import file_json, list_json
from .requests import call_context, headers_of, limited, list_params, provider_of
from .responses import json_response, streamed
from .services import authenticate, services_of

# Multipart framing around a file at the size limit is a few hundred bytes; allow a generous margin.
_MULTIPART_OVERHEAD = 64 * 1024
_GENERIC_TYPES = {"", "application/octet-stream"}


def _content_type(upload: UploadFile, filename: str) -> str:
    declared = (upload.content_type or "").split(";")[0].strip()
    if declared not in _GENERIC_TYPES:
        return declared
    guessed, _ = mimetypes.guess_type(filename)
    if filename.endswith(".jsonl"):
        guessed = "application/jsonl"
    return guessed or declared or "application/octet-stream"


async def upload_file(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    provider = provider_of(request)
    services.files.check_provider(provider)
    limit = services.settings.server.max_file_bytes
    form = await limited(request, limit + _MULTIPART_OVERHEAD).form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidRequestError("file: Field required (send the file as multipart/form-data field 'file')")
        size = upload.size if upload.size is not None else upload.file.seek(0, 2)
        if size > limit:
            raise InvalidRequestError(f"file: larger than the {limit:,}-byte limit")
        upload.file.seek(0)
        filename = upload.filename or "upload"
        purpose = form.get("purpose")
        spooled = FileUpload(
            file=upload.file,
            filename=filename,
            content_type=_content_type(upload, filename),
            size_bytes=size,
            purpose=purpose if isinstance(purpose, str) and purpose else None,
        )
        record = await services.files.upload(principal, provider, spooled, call_context(request))
    finally:
        await form.close()
    return json_response(file_json(record))


async def list_files(request: Request) -> Response:
    services = services_of(request)
    principal = await authenticate(request)
    params = list_params(request)
    page = await services.files.list(
        principal,
        provider_of(request),
        limit=params.limit,
        after_id=params.after_id,
        before_id=params.before_id,
    )
    return json_response(list_json(page, file_json))


def _refuse_if_header_provider_has_no_files(request: Request) -> None:
    """A files call on an ID that names a provider in ``x-model-provider`` is refused when that provider has no
    Files API (Bedrock's refusal, whatever the ID), so every files call to it is refused the same way."""
    if headers_of(request).get("x-model-provider"):
        services_of(request).files.check_provider(provider_of(request))


async def get_file(request: Request) -> Response:
    principal = await authenticate(request)
    _refuse_if_header_provider_has_no_files(request)
    record = await services_of(request).files.get(principal, request.path_params["file_id"])
    return json_response(file_json(record))


async def delete_file(request: Request) -> Response:
    principal = await authenticate(request)
    _refuse_if_header_provider_has_no_files(request)
    record = await services_of(request).files.delete(principal, request.path_params["file_id"], call_context(request))
    return json_response({"id": record.id, "type": "file_deleted"})


async def download_file(request: Request) -> Response:
    principal = await authenticate(request)
    _refuse_if_header_provider_has_no_files(request)
    download = await services_of(request).files.download(
        principal, request.path_params["file_id"], call_context(request)
    )
    headers = {"content-length": str(download.size_bytes)} if download.size_bytes is not None else None
    return await streamed(download.chunks, download.content_type, headers)
