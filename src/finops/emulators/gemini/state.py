"""The emulator's in-memory state: file records, upload sessions and batches, plus the disk area for bytes.

File bytes live on disk under one temporary directory (uploads can be hundreds of megabytes); everything
else is small and lives in dictionaries for the lifetime of the app.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from finops.emulators.gemini.errors import GoogleError, not_found
from finops.emulators.gemini.wire import now, resource_id, timestamp

FILE_RETENTION = timedelta(hours=48)


@dataclass
class FileRecord:
    id: str
    seq: int
    mime_type: str
    size: int
    sha256: bytes
    path: Path
    created: datetime
    base_url: str
    api_version: str
    source: str = "UPLOADED"
    display_name: str | None = None

    @property
    def name(self) -> str:
        return f"files/{self.id}"

    @property
    def expires(self) -> datetime:
        return self.created + FILE_RETENTION

    def resource(self) -> dict[str, Any]:
        """The File resource; int64 ``sizeBytes`` is a JSON string as in proto-JSON."""
        created = timestamp(self.created)
        resource: dict[str, Any] = {"name": self.name}
        if self.display_name:
            resource["displayName"] = self.display_name
        resource.update(
            {
                "mimeType": self.mime_type,
                "sizeBytes": str(self.size),
                "createTime": created,
                "updateTime": created,
                "expirationTime": timestamp(self.expires),
                "sha256Hash": base64_digest(self.sha256),
                "uri": f"{self.base_url}/{self.api_version}/files/{self.id}",
                "state": "ACTIVE",
                "source": self.source,
            }
        )
        if self.source == "GENERATED":
            resource["downloadUri"] = f"{self.base_url}/download/{self.api_version}/files/{self.id}:download?alt=media"
        return resource


def base64_digest(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@dataclass
class UploadSession:
    """A resumable upload in progress; its random id is the only credential chunk requests carry."""

    id: str
    path: Path
    handle: IO[bytes]
    mime_type: str
    declared_size: int | None
    base_url: str
    api_version: str
    display_name: str | None = None
    file_id: str | None = None
    received: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Store:
    """All state of one emulator instance."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="finops-gemini-emulator-"))
        (self.root / "blobs").mkdir()
        (self.root / "uploads").mkdir()
        self.files: dict[str, FileRecord] = {}
        self.uploads: dict[str, UploadSession] = {}
        self.batches: dict[str, Any] = {}
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        return next(self._seq)

    def close(self) -> None:
        for session in self.uploads.values():
            session.handle.close()
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------ files

    def blob_path(self, file_id: str) -> Path:
        return self.root / "blobs" / file_id

    def new_file_id(self) -> str:
        while True:
            candidate = resource_id(16)
            if candidate not in self.files:
                return candidate

    def add_file(self, record: FileRecord) -> FileRecord:
        self.files[record.id] = record
        return record

    def get_file(self, file_id: str) -> FileRecord:
        record = self.files.get(file_id.removeprefix("files/"))
        if record is None or record.expires <= now():
            raise not_found(f"File {file_id.removeprefix('files/')} not found.")
        return record

    def delete_file(self, file_id: str) -> None:
        record = self.get_file(file_id)
        del self.files[record.id]
        record.path.unlink(missing_ok=True)

    def live_files(self) -> list[FileRecord]:
        moment = now()
        return sorted((f for f in self.files.values() if f.expires > moment), key=lambda f: -f.seq)

    def file_exists_for_uri(self, uri: str) -> bool:
        """Whether a ``fileData.fileUri`` is usable: our own file URIs must exist; foreign URIs pass."""
        path = urlsplit(uri).path if "://" in uri else uri
        marker = "files/"
        if marker not in path:
            return True
        file_id = path.rsplit(marker, 1)[1].split(":", 1)[0]
        try:
            self.get_file(file_id)
        except GoogleError:
            return False
        return True
