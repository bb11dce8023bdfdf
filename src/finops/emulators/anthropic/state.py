"""Everything the emulator remembers between calls: uploaded files, message batches and the prompt cache.

State lives in memory (the emulator is one process) except file contents, which live on disk so a 500 MB
upload never sits in RAM. Every object gets a monotonically increasing ``seq``: lists are ordered by it
(newest first) and page cursors point at it, so paging keeps working when objects are deleted.
"""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finops.emulators._common.prompt_cache import BreakpointCache


@dataclass
class FileRecord:
    id: str
    seq: int
    filename: str
    mime_type: str
    size_bytes: int
    created_at: float
    path: Path
    expires_at: float | None = None
    downloadable: bool = False


@dataclass
class BatchRequest:
    custom_id: str
    params: dict[str, Any]
    error: str | None = None
    """Why the params are invalid; the request then ends ``errored`` (params are checked per request)."""
    error_type: str = "invalid_request_error"


@dataclass
class Batch:
    id: str
    seq: int
    created_at: float
    duration: float
    """Seconds until every request has been processed (``--batch-seconds``)."""
    cancel_delay: float
    requests: list[BatchRequest]
    cancel_initiated_at: float | None = None
    final_counts: dict[str, int] | None = None
    """request_counts once the batch has ended; cached because a batch may hold 100,000 requests."""


@dataclass
class EmulatorState:
    batch_seconds: float
    upload_root: tempfile.TemporaryDirectory[str] = field(
        default_factory=lambda: tempfile.TemporaryDirectory(
            prefix="finops-anthropic-emulator-", ignore_cleanup_errors=True
        )
    )
    prompt_cache: BreakpointCache = field(default_factory=BreakpointCache)
    files: dict[str, FileRecord] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)
    seq_of: dict[str, int] = field(default_factory=dict)
    """The seq of every ID ever handed out, deleted ones included, so paging past a deleted object works."""
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def upload_dir(self) -> Path:
        return Path(self.upload_root.name)

    def next_seq(self, object_id: str) -> int:
        seq = next(self._counter)
        self.seq_of[object_id] = seq
        return seq

    def close(self) -> None:
        self.upload_root.cleanup()
