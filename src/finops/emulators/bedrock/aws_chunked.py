"""Decode S3's ``aws-chunked`` request bodies, checking chunk and trailer signatures as they arrive.

A body sent with ``Content-Encoding: aws-chunked`` is a sequence of chunks, each ``<hex size>[;chunk-
signature=<sig>]\\r\\n<data>\\r\\n``, ending with a zero-size chunk that may be followed by trailing headers
(``x-amz-checksum-crc32:...``) and an empty line. Which parts are signed depends on
``x-amz-content-sha256``:

- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (boto3's choice for PutObject/UploadPart over HTTPS): no signatures;
- ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``: every chunk carries a signature chained from the request's
  (the seed): ``HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\\n" date "\\n" scope "\\n" previous "\\n" sha256("")
  "\\n" sha256(data))``;
- ``...-PAYLOAD-TRAILER``: the same, and the trailers end with ``x-amz-trailer-signature``, chained from the
  last chunk's signature over ``sha256("name:value\\n"...)`` with the ``AWS4-HMAC-SHA256-TRAILER`` prefix.

The decoder is sans-IO: ``feed`` bytes in, get payload pieces out, ``finish`` to get the trailers. It never
buffers more than one chunk header line, so a 1 GB body passes through in constant memory.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from finops.emulators.bedrock import sigv4

_MAX_LINE = 4096
_CHUNK_PREFIX = "AWS4-HMAC-SHA256-PAYLOAD"
_TRAILER_PREFIX = "AWS4-HMAC-SHA256-TRAILER"
_TRAILER_SIGNATURE = "x-amz-trailer-signature"


class ChunkError(Exception):
    def __init__(self, kind: Literal["malformed", "signature"], message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def chunk_signature(context: sigv4.Verified, previous: str, data_sha256: str) -> str:
    string_to_sign = "\n".join(
        [_CHUNK_PREFIX, context.amz_date, context.scope, previous, sigv4.EMPTY_SHA256, data_sha256]
    )
    return sigv4.sign(context.signing_key, string_to_sign)


def trailer_signature(context: sigv4.Verified, previous: str, trailers: list[tuple[str, str]]) -> str:
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return sigv4.sign(
        context.signing_key, "\n".join([_TRAILER_PREFIX, context.amz_date, context.scope, previous, digest])
    )


class AwsChunkedDecoder:
    """Incremental decoder; ``signing`` is set when chunks (and trailers) must carry signatures."""

    def __init__(self, signing: sigv4.Verified | None = None) -> None:
        self._signing = signing
        self._previous = signing.seed_signature if signing else ""
        self._buffer = bytearray()
        self._state: Literal["header", "data", "data_end", "trailers", "done"] = "header"
        self._remaining = 0
        self._chunk_signature = ""
        self._chunk_hash = hashlib.sha256()
        self._trailers: list[tuple[str, str]] = []
        self.decoded_length = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Consume ``data``; return the payload bytes it completed, in order."""
        if self._state == "done":
            if data.strip(b"\r\n"):
                raise ChunkError("malformed", "Unexpected bytes after the final chunk.")
            return []
        self._buffer += data
        out: list[bytes] = []
        while True:
            if self._state == "data":
                if not self._buffer:
                    return out
                piece = bytes(self._buffer[: self._remaining])
                del self._buffer[: len(piece)]
                self._remaining -= len(piece)
                self.decoded_length += len(piece)
                if self._signing:
                    self._chunk_hash.update(piece)
                out.append(piece)
                if self._remaining == 0:
                    self._state = "data_end"
                continue
            line = self._take_line()
            if line is None:
                return out
            if self._state == "header":
                self._start_chunk(line)
            elif self._state == "data_end":
                if line:
                    raise ChunkError("malformed", "A chunk's data must be followed by CRLF.")
                self._end_chunk()
                self._state = "header"
            elif self._state == "trailers":
                if not line:
                    self._end_trailers()
                    self._state = "done"
                    return out
                name, sep, value = line.partition(":")
                if not sep:
                    raise ChunkError("malformed", f"Malformed trailing header: {line[:80]!r}.")
                self._trailers.append((name.strip().lower(), value.strip()))

    def finish(self) -> dict[str, str]:
        """The trailing headers (signature removed); raises if the body ended before its final chunk."""
        if self._state != "done":
            raise ChunkError("malformed", "The aws-chunked body ended before its final chunk.")
        return {name: value for name, value in self._trailers if name != _TRAILER_SIGNATURE}

    def _take_line(self) -> str | None:
        end = self._buffer.find(b"\r\n")
        if end == -1:
            if len(self._buffer) > _MAX_LINE:
                raise ChunkError("malformed", "An aws-chunked header line is too long.")
            return None
        line = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 2]
        return line

    def _start_chunk(self, line: str) -> None:
        size_text, _, extension = line.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise ChunkError("malformed", f"Invalid chunk size: {size_text[:20]!r}.") from None
        if size < 0:
            raise ChunkError("malformed", "Invalid chunk size.")
        self._chunk_signature = ""
        if self._signing:
            key, _, value = extension.partition("=")
            if key.strip() != "chunk-signature" or not value.strip():
                raise ChunkError("malformed", "Every chunk must carry a chunk-signature.")
            self._chunk_signature = value.strip().lower()
        self._chunk_hash = hashlib.sha256()
        if size == 0:
            self._end_chunk()
            self._state = "trailers"
        else:
            self._remaining = size
            self._state = "data"

    def _end_chunk(self) -> None:
        if not self._signing:
            return
        expected = chunk_signature(self._signing, self._previous, self._chunk_hash.hexdigest())
        if not hmac.compare_digest(expected, self._chunk_signature):
            raise ChunkError("signature", "The chunk signature does not match the chunk's data.")
        self._previous = expected

    def _end_trailers(self) -> None:
        if not self._signing or not self._trailers:
            return
        provided = next((value for name, value in self._trailers if name == _TRAILER_SIGNATURE), "")
        signed = [(name, value) for name, value in self._trailers if name != _TRAILER_SIGNATURE]
        if not hmac.compare_digest(trailer_signature(self._signing, self._previous, signed), provided.lower()):
            raise ChunkError("signature", "The trailer signature does not match the trailing headers.")
