"""The contract every provider adapter implements.

The gateway speaks Anthropic's dialect (``finops.core.types``): an adapter receives Anthropic-shaped request
bodies and returns Anthropic-shaped answers, translating to and from its provider's native API with the pure
functions in its ``translate.py`` / ``stream.py``. Adapters own their upstream HTTP client, auth and error
mapping (upstream failures become ``finops.core.errors`` classes through ``upstream_errors``, never raw upstream
bodies). Every streamed answer goes through ``relay``, which owns the stream's error rule and its usage.

An adapter that cannot do something (Bedrock has no inline batches or files) says so in ``capabilities`` and
the core refuses the call before anything is stored or sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from finops.core.types import JSON, CallContext, FileRef, FileUpload, MessageResult, MessageStream

__all__ = [
    "JSON",
    "BatchRef",
    "BatchStatus",
    "CallContext",
    "Capabilities",
    "CreateIntent",
    "Download",
    "FileRef",
    "FileUpload",
    "MessageResult",
    "MessageStream",
    "Provider",
    "Recoverable",
    "UpstreamBatch",
    "UpstreamFile",
]

ProcessingStatus = Literal["in_progress", "canceling", "ended"]


@dataclass(frozen=True)
class Capabilities:
    files: bool = True
    batches: bool = True
    refusal: str = ""
    """Message for a refused batches call (why, and what to use instead), and for files unless ``files_refusal``."""
    files_refusal: str = ""
    """Message for a refused files call, when files and batches are refused for different reasons."""
    on_demand_below: int = 0
    """A batch's requests for a model with fewer requests than this run on demand, at the on-demand price (Bedrock
    below its minimum records per job, policy ``run_on_demand``): the budget reservation prices them so."""

    def refusal_for(self, needs: Literal["files", "batches"]) -> str:
        return (self.files_refusal or self.refusal) if needs == "files" else self.refusal


@dataclass(frozen=True)
class UpstreamFile:
    upstream_id: str
    filename: str
    mime_type: str
    size_bytes: int
    created_at: datetime
    downloadable: bool = False


@dataclass(frozen=True)
class Download:
    content_type: str
    chunks: AsyncIterator[bytes]
    size_bytes: int | None = None


RequestCounts = Mapping[str, int]
"""``processing``, ``succeeded``, ``errored``, ``canceled``, ``expired``: always summing to the request count."""


@dataclass(frozen=True)
class BatchStatus:
    processing_status: ProcessingStatus
    request_counts: RequestCounts
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None


@dataclass(frozen=True)
class UpstreamBatch:
    """What ``create_batch`` hands back for the store: ``state`` is the adapter's own JSON-able bookkeeping
    (split upstream batches, custom_id order, ...) and is given back on every later call."""

    upstream_id: str
    state: JSON
    status: BatchStatus


@dataclass(frozen=True)
class BatchRef:
    upstream_id: str
    state: JSON
    request_count: int
    created_at: datetime
    cancel_requested: bool = False


@dataclass(frozen=True)
class CreateIntent:
    """An upstream create the gateway announced and never completed (its process died in between): what the
    adapter needs to find the objects it made. ``upstream_key`` is what it sent upstream (``CallContext``)."""

    kind: Literal["batch", "file"]
    upstream_key: str
    created_at: datetime
    request_count: int | None = None
    filename: str | None = None
    size_bytes: int | None = None
    known_upstream_ids: frozenset[str] = frozenset()
    """Upstream IDs (batches or files, as ``kind``) the gateway has rows for, created around the intent: a
    heuristic match (a provider that keeps no key) must never pick one of them."""


class Recoverable(Protocol):
    """An adapter that can find and remove what an unfinished create left upstream (``finops.core.recovery``)."""

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        """Cancel and delete every upstream object ``intent`` made (batches with their input files, or the file);
        answers how many were found. Finding none is normal: the process died before or during the call."""
        ...


class Provider(Protocol):
    name: str
    capabilities: Capabilities

    async def aclose(self) -> None: ...

    # Messages
    async def create_message(self, body: JSON, ctx: CallContext) -> MessageResult: ...
    def stream_message(self, body: JSON, ctx: CallContext) -> MessageStream:
        """Anthropic SSE frames (``event: ...\\ndata: ...\\n\\n``), relayed as they arrive by
        ``finops.providers.relay`` (nothing is sent upstream before the first iteration). Errors before the first
        frame raise; errors after it are sent as an ``event: error`` frame; ``usage`` is set as frames go out."""
        ...

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON: ...
    async def list_models(self, ctx: CallContext) -> list[JSON]: ...

    # Files
    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile: ...
    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None: ...
    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download: ...

    # Batches
    async def create_batch(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch: ...
    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus: ...
    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus: ...
    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None: ...
    def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        """Anthropic result lines (JSONL, one ``{custom_id, result}`` per line), streamed."""
        ...
