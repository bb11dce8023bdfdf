"""Stream a ``multipart/form-data`` upload straight to disk.

Uploads can be 500 MB, so the ``file`` part is written to its final path chunk by chunk as the body arrives;
only small form fields (``expires_in_seconds``, ...) are kept in memory.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from finops.emulators.anthropic.errors import ApiError, invalid_request

MAX_FILE_BYTES = 500 * 1024 * 1024
_MAX_FIELD_BYTES = 64 * 1024
_MULTIPART_OVERHEAD = 64 * 1024


@dataclass
class Upload:
    filename: str
    mime_type: str
    size_bytes: int
    path: Path
    fields: dict[str, str] = field(default_factory=dict)


class _TooLarge(Exception):
    pass


@dataclass
class _Collector:
    """Receives python-multipart callbacks; writes the ``file`` part to ``target``."""

    target: Path
    max_bytes: int
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    _headers: dict[str, str] = field(default_factory=dict)
    _header_name: bytearray = field(default_factory=bytearray)
    _header_value: bytearray = field(default_factory=bytearray)
    _part_name: str | None = None
    _part_is_file: bool = False
    _field_value: bytearray = field(default_factory=bytearray)
    _sink: BinaryIO | None = None
    file_seen: bool = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._part_name = None
        self._part_is_file = False
        self._field_value = bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_name = bytearray()
        self._header_value = bytearray()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", ""))
        self._part_name = options.get(b"name", b"").decode("utf-8", "replace")
        # Only the first "file" part is the upload; a repeated one is ignored like any unknown field.
        if self._part_name == "file" and not self.file_seen:
            self.file_seen = True
            self._part_is_file = True
            raw_filename = options.get(b"filename")
            self.filename = raw_filename.decode("utf-8", "replace") if raw_filename is not None else None
            self.content_type = self._headers.get("content-type")
            self._sink = self.target.open("wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part_is_file and self._sink is not None:
            self.size += end - start
            if self.size > self.max_bytes:
                raise _TooLarge
            self._sink.write(data[start:end])
        elif len(self._field_value) < _MAX_FIELD_BYTES:
            self._field_value.extend(data[start:end])

    def _part_end(self) -> None:
        if self._part_is_file:
            self.close()
        elif self._part_name:
            self.fields[self._part_name] = self._field_value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None


async def receive_upload(request: Request, target: Path, *, max_bytes: int = MAX_FILE_BYTES) -> Upload:
    """Parse the multipart body of ``request``, writing the ``file`` part to ``target``."""
    media_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if media_type != b"multipart/form-data" or not boundary:
        raise invalid_request("Content-Type must be multipart/form-data with a boundary")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + _MULTIPART_OVERHEAD:
        raise _too_large(max_bytes)

    collector = _Collector(target=target, max_bytes=max_bytes)
    parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
    failure: BaseException | None = None
    try:
        # Writes are synchronous on purpose: each chunk is small and local-disk writes are fast, which
        # keeps the parser callbacks simple; memory stays at one chunk whatever the file size.
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except _TooLarge:
        failure = _too_large(max_bytes)
    except MultipartParseError as exc:
        failure = invalid_request(f"Malformed multipart body: {exc}")
    except ClientDisconnect as exc:
        failure = exc
    except BaseException:
        # Cancellation or a bug: never leave a half-written upload behind.
        collector.close()
        target.unlink(missing_ok=True)
        raise
    finally:
        collector.close()
    if failure is not None:
        target.unlink(missing_ok=True)
        raise failure

    if not collector.file_seen:
        raise invalid_request("file: Field required")
    if not collector.filename:
        target.unlink(missing_ok=True)
        raise invalid_request("file: a filename is required")
    mime_type = _mime_type(collector.content_type, collector.filename)
    return Upload(collector.filename[:500], mime_type, collector.size, target, collector.fields)


def _mime_type(declared: str | None, filename: str) -> str:
    if declared:
        media_type, _ = parse_options_header(declared)
        if media_type:
            return media_type.decode("latin-1")[:255]
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"File exceeds the maximum allowed size of {max_bytes} bytes.")
