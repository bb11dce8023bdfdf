"""The emulated S3's storage: object bytes in files on disk, their index in memory.

Every object is a list of segment files: one for a PutObject, one per part for a completed multipart upload
(so completing a 1 GB upload moves no bytes). Keys are kept sorted per bucket, because ListObjectsV2 answers
in UTF-8 binary order and pages from a key. A file is removed when its object is overwritten or deleted,
unless a GetObject is still streaming it; the last reader then removes it.

Thread-safe: batch jobs read and write objects from worker threads while requests arrive on the event loop.
The index lives for the process; ``root`` only chooses where the bytes go (a temporary directory, removed on
``close``, unless a state directory is given).
"""

from __future__ import annotations

import bisect
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from finops.emulators.bedrock.s3_xml import no_such_bucket, no_such_key, no_such_upload

READ_CHUNK = 256 * 1024


@dataclass(frozen=True)
class Segment:
    path: Path
    size: int


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    """``CRC32``, ``CRC32C``, ``SHA1``, ``SHA256`` or ``CRC64NVME``."""
    value: str
    """Base64, with ``-N`` for a composite multipart checksum."""
    type: str
    """``FULL_OBJECT`` or ``COMPOSITE``."""


@dataclass
class StoredObject:
    key: str
    segments: tuple[Segment, ...]
    etag: str
    """Quoted, as S3 sends it: the MD5 hex, or MD5-of-part-MD5s ``-N`` for a multipart object."""
    content_type: str
    metadata: dict[str, str]
    """User metadata, ``x-amz-meta-`` prefix removed."""
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    checksum: Checksum | None = None
    readers: int = 0
    discarded: bool = False

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)

    def read(self, start: int, end: int) -> Iterator[bytes]:
        """The bytes ``start..end`` (inclusive), in chunks, across segment files."""
        offset = 0
        for segment in self.segments:
            low, high = offset, offset + segment.size - 1
            offset += segment.size
            if high < start or low > end or segment.size == 0:
                continue
            with segment.path.open("rb") as handle:
                handle.seek(max(start, low) - low)
                remaining = min(end, high) - max(start, low) + 1
                while remaining > 0:
                    chunk = handle.read(min(READ_CHUNK, remaining))
                    if not chunk:
                        raise OSError(f"segment {segment.path.name} is shorter than recorded")
                    remaining -= len(chunk)
                    yield chunk


@dataclass
class Part:
    number: int
    segment: Segment
    etag: str
    checksums: dict[str, str]
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))


@dataclass
class Upload:
    upload_id: str
    key: str
    content_type: str
    metadata: dict[str, str]
    checksum_algorithm: str | None
    checksum_type: str | None
    initiated: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    parts: dict[int, Part] = field(default_factory=dict)


@dataclass
class Bucket:
    name: str
    created: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    keys: list[str] = field(default_factory=list)
    """Sorted by UTF-8 bytes, which for Python strings is code-point order."""
    objects: dict[str, StoredObject] = field(default_factory=dict)
    uploads: dict[str, Upload] = field(default_factory=dict)

    def keys_after(self, marker: str, prefix: str) -> Iterator[str]:
        """Keys sorting after ``marker`` (or from the start) that begin with ``prefix``."""
        index = bisect.bisect_right(self.keys, marker) if marker else 0
        index = max(index, bisect.bisect_left(self.keys, prefix))
        for key in self.keys[index:]:
            if not key.startswith(prefix):
                return
            yield key


class BlobWriter:
    """A new segment file being written; ``commit`` hands back the ``Segment``, ``abort`` removes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._handle: BinaryIO | None = path.open("wb")

    def write(self, data: bytes) -> None:
        assert self._handle is not None, "write after commit or abort"
        self._handle.write(data)
        self.size += len(data)

    def commit(self) -> Segment:
        assert self._handle is not None, "commit after commit or abort"
        self._handle.close()
        self._handle = None
        return Segment(self.path, self.size)

    def abort(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        self.path.unlink(missing_ok=True)


class ObjectStore:
    def __init__(self, root: str | Path | None = None) -> None:
        self._root = Path(root) if root else None
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.RLock()

    @property
    def blobs(self) -> Path:
        """The directory of object files, made on first use: an emulator that never stores a byte leaves nothing
        behind, even when it is killed."""
        with self._lock:
            if self._root is None:
                self._temporary = tempfile.TemporaryDirectory(prefix="finops-s3-")
                self._root = Path(self._temporary.name)
            folder = self._root / "blobs"
            folder.mkdir(parents=True, exist_ok=True)
            return folder

    def close(self) -> None:
        with self._lock:
            if self._temporary is not None:
                self._temporary.cleanup()
            elif self._root is not None:
                shutil.rmtree(self._root / "blobs", ignore_errors=True)

    # --- buckets -------------------------------------------------------------------------------------

    def create_bucket(self, name: str) -> bool:
        """Create ``name``; False when it already existed."""
        with self._lock:
            if name in self._buckets:
                return False
            self._buckets[name] = Bucket(name)
            return True

    def bucket(self, name: str) -> Bucket:
        with self._lock:
            found = self._buckets.get(name)
        if found is None:
            raise no_such_bucket(name)
        return found

    def has_bucket(self, name: str) -> bool:
        with self._lock:
            return name in self._buckets

    def buckets(self) -> list[Bucket]:
        with self._lock:
            return sorted(self._buckets.values(), key=lambda bucket: bucket.name)

    def delete_bucket(self, name: str) -> Bucket | None:
        """Remove an empty bucket; return it if it still holds objects (the caller refuses then)."""
        with self._lock:
            bucket = self.bucket(name)
            if bucket.keys:
                return bucket
            for upload in bucket.uploads.values():
                self._remove_parts(upload)
            del self._buckets[name]
            return None

    # --- objects -------------------------------------------------------------------------------------

    def new_blob(self) -> BlobWriter:
        return BlobWriter(self.blobs / uuid.uuid4().hex)

    def put(self, bucket_name: str, stored: StoredObject) -> None:
        with self._lock:
            bucket = self.bucket(bucket_name)
            previous = bucket.objects.get(stored.key)
            bucket.objects[stored.key] = stored
            if previous is None:
                bisect.insort(bucket.keys, stored.key)
            else:
                self._discard(previous)

    def get(self, bucket_name: str, key: str) -> StoredObject:
        with self._lock:
            found = self.bucket(bucket_name).objects.get(key)
        if found is None:
            raise no_such_key(key)
        return found

    def delete(self, bucket_name: str, key: str) -> bool:
        with self._lock:
            bucket = self.bucket(bucket_name)
            stored = bucket.objects.pop(key, None)
            if stored is None:
                return False
            del bucket.keys[bisect.bisect_left(bucket.keys, key)]
            self._discard(stored)
            return True

    @contextmanager
    def reading(self, stored: StoredObject) -> Iterator[StoredObject]:
        """Keep ``stored``'s files on disk while the block reads them, even if it is deleted meanwhile."""
        with self._lock:
            stored.readers += 1
        try:
            yield stored
        finally:
            with self._lock:
                stored.readers -= 1
                if stored.discarded and stored.readers == 0:
                    self._remove_files(stored.segments)

    def _discard(self, stored: StoredObject) -> None:
        stored.discarded = True
        if stored.readers == 0:
            self._remove_files(stored.segments)

    @staticmethod
    def _remove_files(segments: tuple[Segment, ...]) -> None:
        for segment in segments:
            segment.path.unlink(missing_ok=True)

    # --- multipart uploads ---------------------------------------------------------------------------

    def create_upload(self, bucket_name: str, upload: Upload) -> None:
        with self._lock:
            self.bucket(bucket_name).uploads[upload.upload_id] = upload

    def upload(self, bucket_name: str, key: str, upload_id: str) -> Upload:
        with self._lock:
            found = self.bucket(bucket_name).uploads.get(upload_id)
        if found is None or found.key != key:
            raise no_such_upload(upload_id)
        return found

    def add_part(self, bucket_name: str, key: str, upload_id: str, part: Part) -> None:
        with self._lock:
            upload = self.upload(bucket_name, key, upload_id)
            previous = upload.parts.get(part.number)
            upload.parts[part.number] = part
        if previous is not None:
            previous.segment.path.unlink(missing_ok=True)

    def finish_upload(self, bucket_name: str, key: str, upload_id: str, stored: StoredObject) -> None:
        """Replace the upload by ``stored`` (built from some of its parts); remove the parts left out."""
        with self._lock:
            upload = self.upload(bucket_name, key, upload_id)
            del self.bucket(bucket_name).uploads[upload_id]
            used = {segment.path for segment in stored.segments}
            self._remove_files(tuple(p.segment for p in upload.parts.values() if p.segment.path not in used))
            self.put(bucket_name, stored)

    def abort_upload(self, bucket_name: str, key: str, upload_id: str) -> None:
        with self._lock:
            upload = self.upload(bucket_name, key, upload_id)
            del self.bucket(bucket_name).uploads[upload_id]
        self._remove_parts(upload)

    def _remove_parts(self, upload: Upload) -> None:
        self._remove_files(tuple(part.segment for part in upload.parts.values()))
