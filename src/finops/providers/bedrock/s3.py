"""The S3 calls the gateway makes for Bedrock files and batch jobs, on its own upstream client, signed SigV4 ``s3``.

PutObject, a streamed multipart upload (parts read from disk one at a time, never the whole file in memory),
GetObject (streamed), HeadObject, ListObjectsV2 and DeleteObject. Bodies are sent as ``UNSIGNED-PAYLOAD`` (see
``auth``): hashing a 1 GB upload before sending it would read it twice.

Addressing: virtual-hosted (``https://<bucket>.s3.<region>.amazonaws.com/<key>``) on AWS; path style
(``<s3_url>/<bucket>/<key>``) when an endpoint is configured (an emulator, MinIO, a VPC endpoint).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import IO
from urllib.parse import quote
from xml.etree import ElementTree

import httpx

from finops.config import ProviderSettings
from finops.core.errors import (
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    error_for_status,
)
from finops.providers.bedrock.auth import SigV4Signer
from finops.providers.http import build_client, iter_body, iter_lines, send
from finops.providers.upstream_errors import ErrorPolicy, UpstreamFault

PART_SIZE = 8 * 1024 * 1024
"""Multipart part size: above S3's 5 MiB minimum, small enough that one part in flight stays cheap."""
MULTIPART_THRESHOLD = PART_SIZE
_READ_CHUNK = 256 * 1024
_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_UNSIGNED = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}

_S3_ERRORS: dict[str, type[GatewayError]] = {
    "NoSuchKey": NotFoundError,
    "NoSuchBucket": NotFoundError,
    "NoSuchUpload": NotFoundError,
    "SlowDown": RateLimitError,
    "ServiceUnavailable": OverloadedError,
    "EntityTooSmall": InvalidRequestError,
    "EntityTooLarge": InvalidRequestError,
}
_CREDENTIAL_CODES = frozenset(
    {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "ExpiredToken", "InvalidToken", "AllAccessDisabled"}
)
_XML_FIELD = re.compile(rb"<(Code|Message)>([^<]*)</\1>")


def s3_fault(status: int, body: bytes) -> UpstreamFault:
    """What a failed S3 call says (its XML ``Code`` and ``Message``); a refused signature or key means S3
    refused the gateway's own credentials."""
    fields = {name.decode(): value.decode("utf-8", "replace") for name, value in _XML_FIELD.findall(body[:8192])}
    code = fields.get("Code")
    credentials = code in _CREDENTIAL_CODES or (code is None and status in (401, 403))
    error_class = _S3_ERRORS.get(code or "") or (PermissionDeniedError if credentials else error_for_status(status))
    label = code or f"HTTP {status}"
    upstream = fields.get("Message", "").strip()
    return UpstreamFault(error_class, f"S3 {label}: {upstream}" if upstream else f"S3 {label}", credentials)


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int
    content_type: str = "application/octet-stream"
    modified: datetime | None = None


class S3Client:
    """One bucket, one client. Keys are given whole (the caller owns the prefix layout)."""

    def __init__(
        self, settings: ProviderSettings, signer: SigV4Signer, *, bucket: str, region: str, endpoint: str | None
    ) -> None:
        self.bucket = bucket
        base = f"{endpoint}/{bucket}" if endpoint else f"https://{bucket}.s3.{region}.amazonaws.com"
        self._base = base
        self._signer = signer
        self._client = build_client(settings, base)
        self._errors = ErrorPolicy("bedrock", signer.secrets)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _url(self, key: str = "", query: str = "") -> str:
        path = "/" + quote(key, safe="/-_.~") if key else "/"
        return f"{self._base}{path}{'?' + query if query else ''}"

    def _on_error(self, response: httpx.Response, body: bytes) -> GatewayError:
        return self._errors.error(s3_fault(response.status_code, body), response.headers)

    async def _send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | AsyncIterator[bytes] = b"",
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        signed = await self._signer.sign(method, url, b"", {**_UNSIGNED, **(headers or {})})
        request = self._client.build_request(method, url, content=content, headers=signed)
        return await send(self._client, request, provider="bedrock", on_error=self._on_error, stream=stream)

    # -- objects ----------------------------------------------------------------------------------------

    async def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        headers = {"content-type": content_type, "content-length": str(len(body))}
        await self._send("PUT", self._url(key), content=body, headers=headers)

    async def upload(self, key: str, file: IO[bytes], size: int, content_type: str) -> None:
        """Upload ``size`` bytes of ``file`` from its current position: one PutObject when small, else a
        multipart upload of ``PART_SIZE`` parts, each streamed from the file (aborted if anything fails)."""
        if size <= MULTIPART_THRESHOLD:
            headers = {"content-type": content_type, "content-length": str(size)}
            await self._send("PUT", self._url(key), content=_read(file, size), headers=headers)
            return
        created = await self._send("POST", self._url(key, "uploads"), headers={"content-type": content_type})
        upload_id = _xml_text(created.content, "UploadId")
        try:
            etags: list[str] = []
            remaining = size
            while remaining > 0:
                length = min(PART_SIZE, remaining)
                query = f"partNumber={len(etags) + 1}&uploadId={quote(upload_id, safe='')}"
                answer = await self._send(
                    "PUT", self._url(key, query), content=_read(file, length), headers={"content-length": str(length)}
                )
                etags.append(answer.headers.get("etag", ""))
                remaining -= length
            await self._complete(key, upload_id, etags)
        except BaseException:
            await self._quiet("DELETE", self._url(key, f"uploadId={quote(upload_id, safe='')}"))
            raise

    async def upload_stream(self, key: str, chunks: AsyncIterator[bytes], content_type: str) -> int:
        """Upload what ``chunks`` yields, of unknown length, as a multipart upload (one PutObject when it fits
        in one part); at most one part is held in memory. Answers the size."""
        buffer = bytearray()
        upload_id: str | None = None
        etags: list[str] = []
        size = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART_SIZE:
                    if upload_id is None:
                        created = await self._send(
                            "POST", self._url(key, "uploads"), headers={"content-type": content_type}
                        )
                        upload_id = _xml_text(created.content, "UploadId")
                    part = bytes(buffer[:PART_SIZE])
                    del buffer[:PART_SIZE]
                    etags.append(await self._put_part(key, upload_id, len(etags) + 1, part))
            if upload_id is None:
                await self.put(key, bytes(buffer), content_type)
                return size
            if buffer:
                etags.append(await self._put_part(key, upload_id, len(etags) + 1, bytes(buffer)))
            await self._complete(key, upload_id, etags)
        except BaseException:
            if upload_id is not None:
                await self._quiet("DELETE", self._url(key, f"uploadId={quote(upload_id, safe='')}"))
            raise
        return size

    async def _put_part(self, key: str, upload_id: str, number: int, body: bytes) -> str:
        query = f"partNumber={number}&uploadId={quote(upload_id, safe='')}"
        answer = await self._send(
            "PUT", self._url(key, query), content=body, headers={"content-length": str(len(body))}
        )
        return str(answer.headers.get("etag", ""))

    async def _complete(self, key: str, upload_id: str, etags: list[str]) -> None:
        parts = "".join(
            f"<Part><PartNumber>{number}</PartNumber><ETag>{etag}</ETag></Part>"
            for number, etag in enumerate(etags, start=1)
        )
        body = f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        completed = await self._send(
            "POST",
            self._url(key, f"uploadId={quote(upload_id, safe='')}"),
            content=body,
            headers={"content-type": "application/xml", "content-length": str(len(body))},
        )
        if b"<Error>" in completed.content:  # S3 may fail a CompleteMultipartUpload inside a 200
            raise self._on_error(completed, completed.content)

    async def head(self, key: str) -> S3Object | None:
        """The object's size and type, or ``None`` when there is no such object."""
        try:
            answer = await self._send("HEAD", self._url(key))
        except NotFoundError:
            return None
        modified = answer.headers.get("last-modified")
        return S3Object(
            key,
            int(answer.headers.get("content-length") or 0),
            answer.headers.get("content-type", "application/octet-stream"),
            modified=parsedate_to_datetime(modified) if modified else None,
        )

    async def open(self, key: str) -> tuple[S3Object, AsyncIterator[bytes]]:
        """GetObject, streamed: the object's facts and its bytes as they arrive."""
        answer = await self._send("GET", self._url(key), stream=True)
        length = answer.headers.get("content-length")
        found = S3Object(
            key,
            int(length) if length and length.isdigit() else -1,
            answer.headers.get("content-type", "application/octet-stream"),
        )
        return found, iter_body(answer, "bedrock")

    async def read(self, key: str, limit: int) -> bytes:
        """A small object's bytes; larger than ``limit`` is a 400 (it would not fit in a request anyway)."""
        found, chunks = await self.open(key)
        if found.size > limit:
            await chunks.aclose()  # type: ignore[attr-defined]
            raise InvalidRequestError(f"the file is {found.size} bytes; at most {limit} can be sent inline to Bedrock")
        return b"".join([chunk async for chunk in chunks])

    async def lines(self, key: str) -> AsyncIterator[str]:
        """The object's lines (JSONL), streamed."""
        answer = await self._send("GET", self._url(key), stream=True)
        async for line in iter_lines(answer, "bedrock"):
            yield line

    async def list(self, prefix: str) -> AsyncIterator[S3Object]:
        """Every object under ``prefix`` (ListObjectsV2, page by page)."""
        token: str | None = None
        while True:
            query = f"list-type=2&prefix={quote(prefix, safe='')}"
            if token:
                query += f"&continuation-token={quote(token, safe='')}"
            answer = await self._send("GET", self._url("", query))
            root = ElementTree.fromstring(answer.content)
            for item in root.iter(f"{_NS}Contents"):
                modified = item.findtext(f"{_NS}LastModified")
                yield S3Object(
                    item.findtext(f"{_NS}Key") or "",
                    int(item.findtext(f"{_NS}Size") or 0),
                    modified=datetime.fromisoformat(modified.replace("Z", "+00:00")) if modified else None,
                )
            token = root.findtext(f"{_NS}NextContinuationToken")
            if root.findtext(f"{_NS}IsTruncated") != "true" or not token:
                return

    async def delete(self, key: str) -> None:
        await self._send("DELETE", self._url(key))

    async def delete_prefix(self, prefix: str) -> None:
        keys = [found.key async for found in self.list(prefix)]
        await self.delete_all(keys)

    async def delete_all(self, keys: Iterable[str]) -> None:
        for key in keys:
            await self._quiet("DELETE", self._url(key))

    async def _quiet(self, method: str, url: str) -> None:
        with contextlib.suppress(GatewayError):
            await self._send(method, url)


def _xml_text(body: bytes, name: str) -> str:
    found = ElementTree.fromstring(body).findtext(f"{_NS}{name}")
    if not found:
        raise OverloadedError(f"S3 answered without {name}")
    return found


async def _read(file: IO[bytes], length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of ``file`` in small chunks (a spooled upload: disk reads, not worth a thread each)."""
    remaining = length
    while remaining > 0:
        chunk = file.read(min(_READ_CHUNK, remaining))
        if not chunk:
            raise InvalidRequestError("the upload ended before its declared size")
        remaining -= len(chunk)
        yield chunk
