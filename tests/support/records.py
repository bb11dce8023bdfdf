"""Store records as a create leaves them, for tests that write to the store directly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from finops.store.records import BatchRecord


def running_batch(
    batch_id: str, *, provider: str, owner: str, request_count: int, upstream_id: str, upstream_state: dict[str, Any]
) -> BatchRecord:
    """A batch just created upstream: in progress, nothing answered yet, expiring in 24 hours."""
    now = datetime.now(UTC)
    return BatchRecord(
        id=batch_id,
        provider=provider,
        upstream_id=upstream_id,
        owner=owner,
        request_count=request_count,
        upstream_state=upstream_state,
        processing_status="in_progress",
        request_counts={"processing": request_count, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0},
        created_at=now,
        expires_at=now + timedelta(hours=24),
        ended_at=None,
        cancel_initiated_at=None,
        archived_at=None,
    )
