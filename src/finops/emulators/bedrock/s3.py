"""The S3 subset a gateway needs for Bedrock batch inference, on the emulator's port, proven with boto3.

Operations: CreateBucket, HeadBucket, DeleteBucket, ListBuckets, PutObject, GetObject (``Range``),
HeadObject, DeleteObject, DeleteObjects, ListObjectsV2, and multipart uploads (CreateMultipartUpload,
UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts, ListMultipartUploads).

Addressing: path style (``/bucket/key``, what boto3 sends to a custom ``endpoint_url`` by default and
always to an IP address) and virtual-host style (``Host: bucket.localhost:9000``, boto3 with
``s3={"addressing_style": "virtual"}``). The emulator does not know the host name clients use for it, so a
host is virtual-host style when it starts with ``<existing bucket>.``, or, for a request to ``/``, when it is
a dotted name that is not an IP address (so CreateBucket and ListObjectsV2 work on a bucket not yet made).

Bodies stream to and from disk (``s3_store``); nothing holds an object in memory. ETags are S3's: the MD5
of the bytes, or for a multipart object the MD5 of the parts' binary MD5s followed by ``-<part count>``.
Every part but the last must be at least 5 MiB, as on S3. Checksums (``x-amz-checksum-*``, as header or
aws-chunked trailer) are verified for CRC32, SHA1 and SHA256 and stored for CRC32C/CRC64NVME unverified;
multipart objects get S3's COMPOSITE checksum (checksum of the parts' checksums, ``-N``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import itertools
import re
import secrets
import zlib
from collections.abc import AsyncIterator, Iterator
from email.utils import format_datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, quote_plus

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from finops.emulators.bedrock import s3_xml
from finops.emulators.bedrock.s3_auth import PayloadReader, authenticate
from finops.emulators.bedrock.s3_store import BlobWriter, Checksum, ObjectStore, Part, StoredObject, Upload
from finops.emulators.bedrock.s3_xml import S3Error, XmlTree, invalid_argument
from finops.emulators.bedrock.sigv4 import SigningKey

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_NUMBER = 10_000
MAX_KEYS = 1000
DEFAULT_CONTENT_TYPE = "binary/octet-stream"
OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
_FLUSH_BYTES = 1024 * 1024
_MAX_XML_BODY = 2 * 1024 * 1024
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_CHECKSUM_ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME")
_COPIED_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires")


def iso8601(moment: Any) -> str:
    return f"{moment.strftime('%Y-%m-%dT%H:%M:%S')}.000Z"


# --- checksums ------------------------------------------------------------------------------------------


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


def _new_digest(algorithm: str) -> _Digest | None:
    """A running checksum for ``algorithm``, or None where the emulator cannot compute it (CRC32C...)."""
    if algorithm == "CRC32":
        return _Crc32()
    if algorithm == "SHA1":
        return hashlib.sha1(usedforsecurity=False)
    if algorithm == "SHA256":
        return hashlib.sha256()
    return None


def _bad_digest(algorithm: str) -> S3Error:
    return S3Error(400, "BadDigest", f"The {algorithm} you specified did not match the calculated checksum.")


class Ingest:
    """Writes a body to a blob file while computing its MD5 and checksums, off the event loop in 1 MiB steps."""

    def __init__(self, writer: BlobWriter, algorithms: set[str]) -> None:
        self.writer = writer
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.digests = {name: digest for name in algorithms if (digest := _new_digest(name)) is not None}
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def add(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= _FLUSH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            await anyio.to_thread.run_sync(self._consume, data)

    def _consume(self, data: bytes) -> None:
        self.md5.update(data)
        for digest in self.digests.values():
            digest.update(data)
        self.writer.write(data)

    def checksum(self, algorithm: str) -> str | None:
        digest = self.digests.get(algorithm)
        return base64.b64encode(digest.digest()).decode() if digest is not None else None


def _requested_algorithms(headers: dict[str, str], default: str | None = None) -> set[str]:
    """Checksum algorithms a write names: ``x-amz-checksum-<alg>`` headers, the SDK's choice, a trailer."""
    names = {default} if default else set()
    for algorithm in _CHECKSUM_ALGORITHMS:
        if f"x-amz-checksum-{algorithm.lower()}" in headers:
            names.add(algorithm)
    sdk = headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if sdk in _CHECKSUM_ALGORITHMS:
        names.add(sdk)
    trailer = headers.get("x-amz-trailer", "").strip().lower()
    if trailer.startswith("x-amz-checksum-"):
        names.add(trailer.removeprefix("x-amz-checksum-").upper())
    return names


def _verified_checksums(ingest: Ingest, headers: dict[str, str], trailers: dict[str, str]) -> dict[str, str]:
    """Algorithm -> value for every checksum the client sent (verified where computable) or asked for."""
    provided = {**headers, **trailers}
    result: dict[str, str] = {}
    for algorithm in _CHECKSUM_ALGORITHMS:
        sent = provided.get(f"x-amz-checksum-{algorithm.lower()}")
        computed = ingest.checksum(algorithm)
        if sent is not None and computed is not None and not hmac.compare_digest(sent.strip(), computed):
            raise _bad_digest(algorithm)
        value = sent.strip() if sent is not None else computed
        if value is not None:
            result[algorithm] = value
    content_md5 = headers.get("content-md5")
    if content_md5 is not None:
        try:
            expected = base64.b64decode(content_md5, validate=True)
        except binascii.Error:
            raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.") from None
        if expected != ingest.md5.digest():
            raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    return result


# --- requests -------------------------------------------------------------------------------------------


def _headers(request: Request) -> dict[str, str]:
    return {name.lower(): value for name, value in request.headers.items()}


def _metadata(headers: dict[str, str]) -> dict[str, str]:
    return {
        name.removeprefix("x-amz-meta-"): value for name, value in headers.items() if name.startswith("x-amz-meta-")
    }


def _object_headers(stored: StoredObject) -> dict[str, str]:
    headers = {
        "ETag": stored.etag,
        "Last-Modified": format_datetime(stored.last_modified, usegmt=True),
        "Content-Type": stored.content_type,
        "Accept-Ranges": "bytes",
        "x-amz-server-side-encryption": "AES256",
    }
    headers.update({f"x-amz-meta-{name}": value for name, value in stored.metadata.items()})
    return headers


def _parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a ``Range`` header asks for; None for the whole object.

    Like S3: a header that is not one well-formed ``bytes=`` range is ignored; a well-formed one that starts
    past the end (or any range of an empty object) is ``InvalidRange``; an end past the object is clipped.
    """
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", value)
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise _invalid_range(value, size)
        return max(0, size - length), size - 1
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        raise _invalid_range(value, size)
    return start, size - 1 if last == "" else min(int(last), size - 1)


def _invalid_range(value: str, size: int) -> S3Error:
    return S3Error(
        416,
        "InvalidRange",
        "The requested range is not satisfiable",
        [("RangeRequested", value), ("ActualObjectSize", size)],
        {"Content-Range": f"bytes */{size}"},
    )


def _may_have_body(scope: dict[str, Any]) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _xml(root: str, tree: XmlTree, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    return Response(s3_xml.document(root, tree), status_code=status, media_type="application/xml", headers=headers)


class S3Service:
    """ASGI app for the S3 operations; ``key`` is the key pair requests must be signed with."""

    def __init__(self, store: ObjectStore, key: SigningKey) -> None:
        self.store = store
        self.key = key

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body_done = not _may_have_body(scope)

        async def tracked_receive() -> Any:
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_done = True
            return message

        request = Request(scope, tracked_receive)
        ids = s3_xml.request_ids()
        try:
            response = await self._handle(request)
        except S3Error as error:
            body = b"" if request.method == "HEAD" else error.body(ids["x-amz-request-id"], ids["x-amz-id-2"])
            response = Response(body, status_code=error.status, media_type="application/xml", headers=error.headers)
            if request.method == "HEAD":
                response.headers["content-length"] = "0"
        except Exception as exc:  # an emulator bug still answers in S3's shape, so the SDK fails as on AWS
            failure = S3Error(500, "InternalError", f"We encountered an internal error ({type(exc).__name__}).")
            response = Response(
                failure.body(ids["x-amz-request-id"], ids["x-amz-id-2"]), 500, media_type="application/xml"
            )
        response.headers.update(ids)
        if not body_done:
            # Refused before its body was read (a client waiting on 100-continue never sends it): the rest of
            # the connection cannot be parsed any more, so S3 closes it.
            response.headers["connection"] = "close"
        await response(scope, tracked_receive, send)

    def _address(self, request: Request) -> tuple[str | None, str]:
        """(bucket, key) from the Host header and path; see the module docstring for the rules."""
        path = request.scope["path"]
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower().strip("[]")
        virtual = self._virtual_bucket(host, path)
        if virtual is not None:
            return virtual, path[1:]
        bucket, _, key = path[1:].partition("/")
        return (bucket or None), key

    def _virtual_bucket(self, host: str, path: str) -> str | None:
        if not host or "." not in host:
            return None
        try:
            ipaddress.ip_address(host)
            return None
        except ValueError:
            pass
        known = [b.name for b in self.store.buckets() if host.startswith(b.name + ".")]
        if known:
            return max(known, key=len)
        return host.split(".", 1)[0] if path == "/" else None

    async def _handle(self, request: Request) -> Response:
        reader = authenticate(request.scope, self.key)
        if request.method in ("GET", "HEAD", "DELETE"):
            await _drain(request, reader)  # no body, but a declared payload hash must still be the empty one's
        bucket, key = self._address(request)
        query = parse_qs(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        method = request.method
        if bucket is None:
            if method == "GET":
                return self._list_buckets()
            raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
        if not key:
            return await self._bucket_operation(request, reader, bucket, query)
        if len(key.encode()) > 1024:
            raise S3Error(400, "KeyTooLongError", "Your key is too long")
        return await self._object_operation(request, reader, bucket, key, query)

    async def _bucket_operation(
        self, request: Request, reader: PayloadReader, bucket: str, query: dict[str, list[str]]
    ) -> Response:
        method = request.method
        if method == "PUT":
            await _drain(request, reader)
            return self._create_bucket(bucket)
        self.store.bucket(bucket)  # every other bucket operation starts with NoSuchBucket
        if method == "HEAD":
            return Response(headers={"x-amz-bucket-region": reader.verified.region})
        if method == "DELETE":
            if self.store.delete_bucket(bucket) is not None:
                raise S3Error(
                    409, "BucketNotEmpty", "The bucket you tried to delete is not empty", [("BucketName", bucket)]
                )
            return Response(status_code=204)
        if method == "POST" and "delete" in query:
            return await self._delete_objects(request, reader, bucket)
        if method == "GET" and "uploads" in query:
            return self._list_uploads(bucket, query)
        if method == "GET" and query.get("list-type") == ["2"]:
            return self._list_objects_v2(bucket, query)
        if method == "GET" and "location" in query:
            self.store.bucket(bucket)
            return _xml("LocationConstraint", [])
        raise S3Error(501, "NotImplemented", "A header you provided implies functionality that is not implemented")

    async def _object_operation(
        self, request: Request, reader: PayloadReader, bucket: str, key: str, query: dict[str, list[str]]
    ) -> Response:
        method = request.method
        upload_id = query.get("uploadId", [None])[0]
        if method == "PUT" and upload_id is not None:
            return await self._upload_part(request, reader, bucket, key, upload_id, query)
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                raise S3Error(501, "NotImplemented", "CopyObject is not implemented by this emulator.")
            return await self._put_object(request, reader, bucket, key)
        if method == "POST" and "uploads" in query:
            return self._create_upload(request, bucket, key)
        if method == "POST" and upload_id is not None:
            return await self._complete_upload(request, reader, bucket, key, upload_id)
        if method == "DELETE" and upload_id is not None:
            self.store.abort_upload(bucket, key, upload_id)
            return Response(status_code=204)
        if method == "GET" and upload_id is not None:
            return self._list_parts(bucket, key, upload_id, query)
        if method in ("GET", "HEAD"):
            return self._get_object(request, bucket, key)
        if method == "DELETE":
            self.store.bucket(bucket)
            self.store.delete(bucket, key)
            return Response(status_code=204)
        raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    # --- buckets -------------------------------------------------------------------------------------

    def _create_bucket(self, bucket: str) -> Response:
        if not _BUCKET_NAME.match(bucket) or ".." in bucket:
            raise S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", [("BucketName", bucket)])
        if not self.store.create_bucket(bucket):
            raise S3Error(
                409,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
                [("BucketName", bucket)],
            )
        return Response(headers={"Location": f"/{bucket}"})

    def _list_buckets(self) -> Response:
        buckets: XmlTree = [
            ("Bucket", [("Name", bucket.name), ("CreationDate", iso8601(bucket.created))])
            for bucket in self.store.buckets()
        ]
        owner: XmlTree = [("ID", OWNER_ID), ("DisplayName", "finops-emulator")]
        return _xml("ListAllMyBucketsResult", [("Owner", owner), ("Buckets", buckets)])

    def _list_objects_v2(self, bucket_name: str, query: dict[str, list[str]]) -> Response:
        bucket = self.store.bucket(bucket_name)

        def arg(name: str) -> str | None:
            return query.get(name, [None])[0]

        prefix, delimiter = arg("prefix") or "", arg("delimiter") or ""
        encode = arg("encoding-type") == "url"
        if arg("encoding-type") not in (None, "url"):
            raise invalid_argument(
                "Invalid Encoding Method specified in Request", "encoding-type", arg("encoding-type") or ""
            )
        max_keys = _integer(arg("max-keys"), "max-keys", default=MAX_KEYS)
        token = arg("continuation-token")
        marker = arg("start-after") or ""
        after_prefix = False
        if token is not None:
            marker, after_prefix = _decode_token(token)

        contents: list[StoredObject] = []
        prefixes: list[str] = []
        last = ""
        truncated = False
        for key in bucket.keys_after(marker, prefix):
            if after_prefix and key.startswith(marker):
                continue
            rolled = None
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut != -1:
                    rolled = key[: cut + len(delimiter)]
            if rolled is not None and prefixes and prefixes[-1] == rolled:
                continue
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if rolled is not None:
                prefixes.append(rolled)
                last = rolled
            else:
                found = bucket.objects.get(key)
                if found is None:
                    continue
                contents.append(found)
                last = key
        # A page cut right after a common prefix resumes after every key under it.
        next_token = _encode_token(last, bool(prefixes) and prefixes[-1] == last) if truncated else None

        def out(value: str) -> str:
            return quote_plus(value, safe="/") if encode else value

        tree: XmlTree = [("Name", bucket_name), ("Prefix", out(prefix))]
        tree += [("KeyCount", len(contents) + len(prefixes)), ("MaxKeys", max_keys)]
        tree += [("Delimiter", out(delimiter) if delimiter else None)]
        tree += [("EncodingType", "url" if encode else None), ("IsTruncated", truncated)]
        tree += [("ContinuationToken", token), ("NextContinuationToken", next_token)]
        tree += [("StartAfter", out(arg("start-after") or "") if arg("start-after") else None)]
        for stored in contents:
            entry: XmlTree = [("Key", out(stored.key)), ("LastModified", iso8601(stored.last_modified))]
            entry += [("ETag", stored.etag)]
            if stored.checksum is not None:
                entry += [("ChecksumAlgorithm", stored.checksum.algorithm), ("ChecksumType", stored.checksum.type)]
            entry += [("Size", stored.size), ("StorageClass", "STANDARD")]
            if arg("fetch-owner") == "true":
                entry += [("Owner", [("ID", OWNER_ID), ("DisplayName", "finops-emulator")])]
            tree.append(("Contents", entry))
        tree += [("CommonPrefixes", [("Prefix", out(common))]) for common in prefixes]
        return _xml("ListBucketResult", tree)

    # --- objects -------------------------------------------------------------------------------------

    async def _put_object(self, request: Request, reader: PayloadReader, bucket: str, key: str) -> Response:
        self.store.bucket(bucket)
        headers = _headers(request)
        ingest, checksums = await self._receive(request, reader, _requested_algorithms(headers))
        segment = ingest.writer.commit()
        checksum = _single_checksum(checksums, headers)
        stored = StoredObject(
            key=key,
            segments=(segment,),
            etag=f'"{ingest.md5.hexdigest()}"',
            content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata=_metadata(headers),
            checksum=checksum,
        )
        try:
            self.store.put(bucket, stored)
        except S3Error:
            segment.path.unlink(missing_ok=True)
            raise
        answer = {"ETag": stored.etag, "x-amz-server-side-encryption": "AES256"}
        if checksum is not None:
            answer.update(
                {f"x-amz-checksum-{checksum.algorithm.lower()}": checksum.value, "x-amz-checksum-type": "FULL_OBJECT"}
            )
        return Response(headers=answer)

    async def _receive(
        self, request: Request, reader: PayloadReader, algorithms: set[str]
    ) -> tuple[Ingest, dict[str, str]]:
        """Stream the body into a new blob; on any failure the blob is removed and the error raised."""
        writer = self.store.new_blob()
        ingest = Ingest(writer, algorithms)
        try:
            async for piece in reader.pieces(request.stream()):
                await ingest.add(piece)
            await ingest.flush()
            checksums = _verified_checksums(ingest, _headers(request), reader.trailers)
        except BaseException:
            writer.abort()
            raise
        return ingest, checksums

    def _get_object(self, request: Request, bucket: str, key: str) -> Response:
        stored = self.store.get(bucket, key)
        size = stored.size
        byte_range = _parse_range(request.headers.get("range"), size)
        headers = _object_headers(stored)
        start, end = byte_range if byte_range is not None else (0, size - 1)
        status = 200
        if byte_range is not None:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        elif stored.checksum is not None and request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            headers[f"x-amz-checksum-{stored.checksum.algorithm.lower()}"] = stored.checksum.value
            headers["x-amz-checksum-type"] = stored.checksum.type
        headers["Content-Length"] = str(end - start + 1 if size else 0)
        if len(stored.segments) > 1:
            headers["x-amz-mp-parts-count"] = str(len(stored.segments))
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        return StreamingResponse(self._stream(stored, start, end), status_code=status, headers=headers)

    def _stream(self, stored: StoredObject, start: int, end: int) -> Iterator[bytes]:
        # A plain generator: Starlette runs each step in a worker thread, so disk reads never block the loop.
        with self.store.reading(stored):
            if end >= start:
                yield from stored.read(start, end)

    async def _delete_objects(self, request: Request, reader: PayloadReader, bucket: str) -> Response:
        self.store.bucket(bucket)
        headers = _headers(request)
        checked = "content-md5" in headers or "x-amz-trailer" in headers
        if not checked and not any(name.startswith("x-amz-checksum-") for name in headers):
            raise S3Error(
                400, "InvalidRequest", "Missing required header for this request: Content-MD5 OR x-amz-checksum-*"
            )
        body = await _small_body(request, reader, _requested_algorithms(headers))
        keys, quiet = s3_xml.parse_delete(body)
        deleted: XmlTree = []
        for key in keys:
            self.store.delete(bucket, key)
            if not quiet:
                deleted.append(("Deleted", [("Key", key)]))
        return _xml("DeleteResult", deleted)

    # --- multipart uploads ---------------------------------------------------------------------------

    def _create_upload(self, request: Request, bucket: str, key: str) -> Response:
        self.store.bucket(bucket)
        headers = _headers(request)
        algorithm = headers.get("x-amz-checksum-algorithm", "").upper() or None
        if algorithm is not None and algorithm not in _CHECKSUM_ALGORITHMS:
            raise invalid_argument("Checksum algorithm provided is unsupported.", "x-amz-checksum-algorithm", algorithm)
        checksum_type = headers.get("x-amz-checksum-type", "").upper() or None
        if algorithm is not None and checksum_type is None:
            checksum_type = "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE"
        upload = Upload(
            upload_id=secrets.token_urlsafe(48),
            key=key,
            content_type=headers.get("content-type") or DEFAULT_CONTENT_TYPE,
            metadata=_metadata(headers),
            checksum_algorithm=algorithm,
            checksum_type=checksum_type,
        )
        self.store.create_upload(bucket, upload)
        answer = {}
        if algorithm is not None and checksum_type is not None:
            answer = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": checksum_type}
        tree: XmlTree = [("Bucket", bucket), ("Key", key), ("UploadId", upload.upload_id)]
        return _xml("InitiateMultipartUploadResult", tree, answer)

    async def _upload_part(
        self,
        request: Request,
        reader: PayloadReader,
        bucket: str,
        key: str,
        upload_id: str,
        query: dict[str, list[str]],
    ) -> Response:
        number = _integer(query.get("partNumber", [None])[0], "partNumber", default=None)
        if number is None or not 1 <= number <= MAX_PART_NUMBER:
            raise invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
                "partNumber",
                str(query.get("partNumber", [""])[0]),
            )
        upload = self.store.upload(bucket, key, upload_id)
        headers = _headers(request)
        ingest, checksums = await self._receive(
            request, reader, _requested_algorithms(headers, upload.checksum_algorithm)
        )
        segment = ingest.writer.commit()
        part = Part(number=number, segment=segment, etag=f'"{ingest.md5.hexdigest()}"', checksums=checksums)
        try:
            self.store.add_part(bucket, key, upload_id, part)
        except S3Error:
            segment.path.unlink(missing_ok=True)
            raise
        answer = {"ETag": part.etag, "x-amz-server-side-encryption": "AES256"}
        answer.update({f"x-amz-checksum-{name.lower()}": value for name, value in checksums.items()})
        return Response(headers=answer)

    async def _complete_upload(
        self, request: Request, reader: PayloadReader, bucket: str, key: str, upload_id: str
    ) -> Response:
        upload = self.store.upload(bucket, key, upload_id)
        headers = _headers(request)
        listed = s3_xml.parse_complete(await _small_body(request, reader, _requested_algorithms(headers)))
        if any(later.number <= earlier.number for earlier, later in itertools.pairwise(listed)):
            raise S3Error(
                400,
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
                [("UploadId", upload_id)],
            )
        chosen: list[Part] = []
        for entry in listed:
            part = upload.parts.get(entry.number)
            if (
                part is None
                or entry.etag.strip().strip('"') != part.etag.strip('"')
                or any(part.checksums.get(name) not in (None, value) for name, value in entry.checksums.items())
            ):
                raise S3Error(
                    400,
                    "InvalidPart",
                    "One or more of the specified parts could not be found.  The part may not have been "
                    "uploaded, or the specified entity tag may not match the part's entity tag.",
                    [("UploadId", upload_id), ("PartNumber", entry.number), ("ETag", entry.etag)],
                )
            chosen.append(part)
        for part in chosen[:-1]:
            if part.segment.size < MIN_PART_SIZE:
                raise S3Error(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    [
                        ("ProposedSize", part.segment.size),
                        ("MinSizeAllowed", MIN_PART_SIZE),
                        ("PartNumber", part.number),
                        ("ETag", part.etag),
                    ],
                )
        md5s = b"".join(bytes.fromhex(part.etag.strip('"')) for part in chosen)
        etag = f'"{hashlib.md5(md5s, usedforsecurity=False).hexdigest()}-{len(chosen)}"'
        checksum = _multipart_checksum(upload, chosen, headers)
        stored = StoredObject(
            key=key,
            segments=tuple(part.segment for part in chosen),
            etag=etag,
            content_type=upload.content_type,
            metadata=upload.metadata,
            checksum=checksum,
        )
        self.store.finish_upload(bucket, key, upload_id, stored)
        location = f"http://{request.headers.get('host', '')}/{bucket}/{key}"
        tree: XmlTree = [("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", etag)]
        if checksum is not None:
            tree += [(f"Checksum{checksum.algorithm}", checksum.value), ("ChecksumType", checksum.type)]
        return _xml("CompleteMultipartUploadResult", tree, {"x-amz-server-side-encryption": "AES256"})

    def _list_parts(self, bucket: str, key: str, upload_id: str, query: dict[str, list[str]]) -> Response:
        upload = self.store.upload(bucket, key, upload_id)
        marker = _integer(query.get("part-number-marker", [None])[0], "part-number-marker", default=0)
        max_parts = _integer(query.get("max-parts", [None])[0], "max-parts", default=MAX_KEYS)
        numbers = sorted(number for number in upload.parts if number > marker)
        page, truncated = numbers[:max_parts], len(numbers) > max_parts
        tree: XmlTree = [("Bucket", bucket), ("Key", key), ("UploadId", upload_id)]
        tree += [("PartNumberMarker", marker), ("NextPartNumberMarker", page[-1] if page else None)]
        tree += [("MaxParts", max_parts), ("IsTruncated", truncated)]
        for number in page:
            part = upload.parts[number]
            entry: XmlTree = [("PartNumber", number), ("LastModified", iso8601(part.last_modified))]
            entry += [("ETag", part.etag), ("Size", part.segment.size)]
            entry += [(f"Checksum{name}", value) for name, value in part.checksums.items()]
            tree.append(("Part", entry))
        tree += [("StorageClass", "STANDARD")]
        if upload.checksum_algorithm:
            tree += [("ChecksumAlgorithm", upload.checksum_algorithm), ("ChecksumType", upload.checksum_type)]
        return _xml("ListPartsResult", tree)

    def _list_uploads(self, bucket_name: str, query: dict[str, list[str]]) -> Response:
        bucket = self.store.bucket(bucket_name)
        prefix = query.get("prefix", [""])[0]
        key_marker = query.get("key-marker", [""])[0]
        id_marker = query.get("upload-id-marker", [""])[0]
        max_uploads = _integer(query.get("max-uploads", [None])[0], "max-uploads", default=MAX_KEYS)
        uploads = sorted(
            (u for u in bucket.uploads.values() if u.key.startswith(prefix)),
            key=lambda u: (u.key, u.initiated, u.upload_id),
        )
        if key_marker:
            uploads = [
                u
                for u in uploads
                if u.key > key_marker or (u.key == key_marker and id_marker and u.upload_id > id_marker)
            ]
        page, truncated = uploads[:max_uploads], len(uploads) > max_uploads
        tree: XmlTree = [("Bucket", bucket_name), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker)]
        if truncated:
            tree += [("NextKeyMarker", page[-1].key), ("NextUploadIdMarker", page[-1].upload_id)]
        tree += [("Prefix", prefix), ("MaxUploads", max_uploads), ("IsTruncated", truncated)]
        owner: XmlTree = [("ID", OWNER_ID), ("DisplayName", "finops-emulator")]
        for upload in page:
            entry: XmlTree = [("Key", upload.key), ("UploadId", upload.upload_id), ("Initiator", owner)]
            entry += [("Owner", owner), ("StorageClass", "STANDARD"), ("Initiated", iso8601(upload.initiated))]
            if upload.checksum_algorithm:
                entry += [("ChecksumAlgorithm", upload.checksum_algorithm), ("ChecksumType", upload.checksum_type)]
            tree.append(("Upload", entry))
        return _xml("ListMultipartUploadsResult", tree)


def _single_checksum(checksums: dict[str, str], headers: dict[str, str]) -> Checksum | None:
    """The checksum S3 keeps for a PutObject: the one the client named (or sent), if any."""
    chosen = headers.get("x-amz-sdk-checksum-algorithm", "").upper()
    if chosen not in checksums:
        chosen = next(iter(checksums), "")
    return Checksum(chosen, checksums[chosen], "FULL_OBJECT") if chosen else None


def _multipart_checksum(upload: Upload, parts: list[Part], headers: dict[str, str]) -> Checksum | None:
    algorithm = upload.checksum_algorithm
    if algorithm is None:
        return None
    if upload.checksum_type == "FULL_OBJECT":
        # Combining part CRCs into the whole object's is not emulated: keep what the client computed.
        sent = headers.get(f"x-amz-checksum-{algorithm.lower()}")
        return Checksum(algorithm, sent, "FULL_OBJECT") if sent else None
    values = [part.checksums.get(algorithm) for part in parts]
    digest = _new_digest(algorithm)
    if digest is None or any(value is None for value in values):
        return None
    for value in values:
        digest.update(base64.b64decode(value or ""))
    return Checksum(algorithm, f"{base64.b64encode(digest.digest()).decode()}-{len(parts)}", "COMPOSITE")


def _integer(value: str | None, name: str, *, default: int | None) -> Any:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise invalid_argument(f"Provided {name} not an integer or within integer range", name, value) from None
    if number < 0:
        raise invalid_argument(f"Argument {name} must be an integer between 0 and 2147483647", name, value)
    return min(number, MAX_KEYS) if name in ("max-keys", "max-uploads", "max-parts") else number


def _encode_token(last: str, is_prefix: bool) -> str:
    return base64.urlsafe_b64encode(("p" if is_prefix else "k").encode() + last.encode()).decode()


def _decode_token(token: str) -> tuple[str, bool]:
    try:
        raw = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw or raw[0] not in "pk":
        raise invalid_argument("The continuation token provided is incorrect", "continuation-token", token)
    return raw[1:], raw[0] == "p"


async def _drain(request: Request, reader: PayloadReader) -> None:
    async for _ in reader.pieces(request.stream()):
        pass


async def _small_body(request: Request, reader: PayloadReader, algorithms: set[str]) -> bytes:
    """A request body S3 parses as XML (bounded), with its checksums verified like an object's."""
    chunks: list[bytes] = []
    size = 0
    checks = {name: digest for name in algorithms if (digest := _new_digest(name)) is not None}
    md5 = hashlib.md5(usedforsecurity=False)
    async for piece in reader.pieces(_bounded(request.stream())):
        size += len(piece)
        if size > _MAX_XML_BODY:
            raise s3_xml.malformed_xml()
        chunks.append(piece)
        md5.update(piece)
        for digest in checks.values():
            digest.update(piece)
    headers = _headers(request)
    provided = {**headers, **reader.trailers}
    for name, digest in checks.items():
        sent = provided.get(f"x-amz-checksum-{name.lower()}")
        if sent is not None and sent.strip() != base64.b64encode(digest.digest()).decode():
            raise _bad_digest(name)
    if "content-md5" in headers and headers["content-md5"].strip() != base64.b64encode(md5.digest()).decode():
        raise S3Error(400, "BadDigest", "The Content-MD5 you specified did not match what we received.")
    return b"".join(chunks)


async def _bounded(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > _MAX_XML_BODY * 2:
            raise s3_xml.malformed_xml()
        yield chunk
