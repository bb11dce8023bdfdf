"""Streaming ``multipart/form-data`` parser for file uploads.

Starlette's ``request.form()`` spools files through a ``SpooledTemporaryFile`` and only then hands them over;
for 500 MB uploads we want the bytes to go straight to their final place on disk, with the size limit
enforced while they arrive, so memory stays flat whatever the size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.requests import Request

from finops.emulators.openai.errors import OpenAIError, bad_request

_MAX_FIELD_BYTES = 64 * 1024  # text fields (purpose, expires_after[...]) are tiny


@dataclass
class Upload:
    """The parsed form: text fields, and the file part written to ``path`` (``filename`` None = no file)."""

    path: Path
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    too_large: bool = False


class _Receiver:
    """python-multipart callbacks: route each part either to the file on disk or to a small text buffer."""

    def __init__(self, upload: Upload, max_file_bytes: int) -> None:
        self.upload = upload
        self.max_file_bytes = max_file_bytes
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[bytes, bytes] = {}
        self.field_name: str | None = None
        self.field_value = bytearray()
        self.sink: IO[bytes] | None = None

    def on_part_begin(self) -> None:
        self.headers = {}
        self.field_name = None
        self.field_value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field = bytearray()
        self.header_value = bytearray()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field_name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if self.field_name == "file" and filename is not None and self.upload.filename is None:
            self.upload.filename = filename.decode("utf-8", "replace") or "upload"
            self.sink = self.upload.path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.sink is not None:
            self.upload.size += end - start
            if self.upload.size > self.max_file_bytes:
                # Keep parsing (so the client gets a clean answer) but stop storing.
                self.upload.too_large = True
                self._close_sink()
                return
            self.sink.write(data[start:end])
        elif self.upload.filename is None or self.field_name != "file":
            if len(self.field_value) + (end - start) > _MAX_FIELD_BYTES:
                raise bad_request(f"Form field '{self.field_name}' is too large.", param=self.field_name)
            self.field_value += data[start:end]

    def on_part_end(self) -> None:
        if self.sink is not None:
            self._close_sink()
        elif self.field_name and self.field_name != "file":
            self.upload.fields[self.field_name] = self.field_value.decode("utf-8", "replace")

    def _close_sink(self) -> None:
        if self.sink is not None:
            self.sink.close()
            self.sink = None


async def receive_upload(request: Request, path: Path, max_file_bytes: int) -> Upload:
    """Parse the multipart body, streaming the ``file`` part into ``path``."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise bad_request("Expected a multipart/form-data request with a 'file' and a 'purpose' field.")
    upload = Upload(path=path)
    receiver = _Receiver(upload, max_file_bytes)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except OpenAIError:
        receiver._close_sink()
        path.unlink(missing_ok=True)
        raise
    except Exception as exc:  # python-multipart raises plain errors on malformed bodies
        receiver._close_sink()
        path.unlink(missing_ok=True)
        raise bad_request(f"Malformed multipart body: {exc}") from exc
    receiver._close_sink()
    if upload.too_large:
        path.unlink(missing_ok=True)
    return upload
