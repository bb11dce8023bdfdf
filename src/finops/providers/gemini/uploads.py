"""Gemini's resumable upload protocol (``POST /upload/{ver}/files``), streamed from disk in 8 MiB chunks.

1. ``start`` (with the API key) declares size and type and answers the session URL in ``X-Goog-Upload-URL``.
2. ``upload`` chunks, then ``upload, finalize`` on the last, each at its ``X-Goog-Upload-Offset``; the final
   answer is ``{"file": File}``.

Each chunk streams from disk 256 KiB at a time, so memory stays flat whatever the size. The session URL is the
credential (Google's SDK sends no key to it), so the key is not sent there either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import orjson

from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.client import UpstreamClient
from finops.providers.http import UpstreamErrorMapper, send

CHUNK_BYTES = 8 * 1024 * 1024
"""Google's SDK chunk size; a multiple of the 256 KiB granularity the protocol asks for."""
READ_BYTES = 256 * 1024
"""How much of a chunk is read from disk (and held) at a time."""


def _same_host(upload_url: str, base_url: str) -> str:
    """The session URL on the configured upstream's scheme and host (as Google's SDK does when a base URL is
    set): an upstream answer must not be able to point the gateway at another host."""
    upload, base = urlsplit(upload_url), urlsplit(base_url)
    return urlunsplit((base.scheme, base.netloc, upload.path, upload.query, ""))


async def _chunk_body(file: BinaryIO, count: int) -> AsyncIterator[bytes]:
    """``count`` bytes of ``file`` as a request body, read off the event loop in small pieces.

    A body streamed this way holds one piece at a time. Handing httpx the whole 8 MiB chunk as ``bytes``
    kept every sent chunk alive until the next cyclic GC (httpx's request/response objects form a cycle), so
    a 500 MB upload peaked ~200 MB above the baseline."""
    remaining = count
    while remaining:
        piece = await asyncio.to_thread(file.read, min(READ_BYTES, remaining))
        if not piece:
            raise UpstreamError("the upload's spooled file ended before its declared size")
        remaining -= len(piece)
        yield piece


async def upload_resumable(
    client: UpstreamClient,
    *,
    base_url: str,
    start_path: str,
    auth_headers: dict[str, str],
    file: BinaryIO,
    size: int,
    mime_type: str,
    display_name: str,
    provider: str,
    on_error: UpstreamErrorMapper,
) -> JSON:
    """Upload ``size`` bytes of ``file`` (from its current position); returns the Gemini File resource."""
    start = client.build_request(
        "POST",
        start_path,
        headers={
            **auth_headers,
            "X-Goog-Upload-Protocol": "resumable",
            "X-Goog-Upload-Command": "start",
            "X-Goog-Upload-Header-Content-Length": str(size),
            "X-Goog-Upload-Header-Content-Type": mime_type,
            "Content-Type": "application/json",
        },
        content=orjson.dumps({"file": {"displayName": display_name[:512]}}),
    )
    started = await send(client, start, provider=provider, on_error=on_error)
    session_url = started.headers.get("x-goog-upload-url")
    if not session_url:
        raise UpstreamError(f"the {provider} upstream did not open an upload session")
    session_url = _same_host(session_url, base_url)

    offset = 0
    while True:
        count = min(CHUNK_BYTES, size - offset)
        last = offset + count >= size
        request = client.build_request(
            "POST",
            session_url,
            headers={
                "X-Goog-Upload-Command": "upload, finalize" if last else "upload",
                "X-Goog-Upload-Offset": str(offset),
                "Content-Length": str(count),  # a known length, so httpx sends no chunked encoding
            },
            content=_chunk_body(file, count),
        )
        response = await send(client, request, provider=provider, on_error=on_error)
        offset += count
        status = response.headers.get("x-goog-upload-status", "").lower()
        if last:
            body = orjson.loads(response.content) if response.content else {}
            uploaded = body.get("file")
            if status not in ("", "final") or not isinstance(uploaded, dict):
                raise UpstreamError(f"the {provider} upstream did not finish the upload")
            return uploaded
        if status and status != "active":
            raise UpstreamError(f"the {provider} upstream ended the upload session early ({status})")
