"""Everything the emulator remembers: stored files (bytes on disk, metadata in memory), batches, prompt cache.

One ``EmulatorState`` per app instance, so two emulators in one process never share objects.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finops.emulators._common.prompt_cache import PrefixCache
from finops.emulators.openai.completion import new_prompt_cache, random_id

BATCH_STATUSES_ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")


def new_file_id() -> str:
    return random_id("file-", 22)


def new_batch_id() -> str:
    return "batch_" + secrets.token_hex(16)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(16)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: int
    expires_at: int | None
    path: Path

    def to_object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": self.expires_at,
            "status_details": None,
        }


@dataclass
class BatchRecord:
    id: str
    endpoint: str
    input_file_id: str
    completion_window: str
    metadata: dict[str, str] | None
    created_at: int
    expires_at: int
    status: str = "validating"
    model: str | None = None
    errors: list[dict[str, Any]] | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    in_progress_at: int | None = None
    finalizing_at: int | None = None
    completed_at: int | None = None
    failed_at: int | None = None
    cancelling_at: int | None = None
    cancelled_at: int | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def to_object(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "in_progress_at": self.in_progress_at,
            "expires_at": self.expires_at,
            "finalizing_at": self.finalizing_at,
            "completed_at": self.completed_at,
            "failed_at": self.failed_at,
            "expired_at": None,
            "cancelling_at": self.cancelling_at,
            "cancelled_at": self.cancelled_at,
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
            "usage": {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {"cached_tokens": self.cached_tokens},
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": self.input_tokens + self.output_tokens,
            },
            "metadata": self.metadata,
        }


@dataclass
class EmulatorState:
    storage_dir: Path
    batch_seconds: float
    max_file_bytes: int
    api_keys: set[str] | None
    files: dict[str, StoredFile] = field(default_factory=dict)
    batches: dict[str, BatchRecord] = field(default_factory=dict)
    prompt_cache: PrefixCache = field(default_factory=new_prompt_cache)

    def new_blob_path(self) -> Path:
        """A fresh path inside the storage directory for a file's bytes."""
        return self.storage_dir / secrets.token_hex(16)

    def add_file(self, stored: StoredFile) -> StoredFile:
        self.files[stored.id] = stored
        return stored

    def remove_file(self, file_id: str) -> StoredFile | None:
        stored = self.files.pop(file_id, None)
        if stored is not None:
            stored.path.unlink(missing_ok=True)
        return stored
