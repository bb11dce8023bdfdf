"""How a Message Batch moves through time, computed from timestamps (no background task to keep alive).

Request ``i`` of ``n`` finishes at ``created + duration * (i + 1) / n``, so a batch makes progress
steadily and ends ``duration`` seconds after creation. Requests with invalid params are done at once
(``errored``). Cancelling at time ``c``: requests finished by ``c`` keep their result, the others become
``canceled``; the batch stays ``canceling`` for ``cancel_delay`` seconds, then ends. A request that would
finish after the 24 h expiry is ``expired``. Until the batch ends every request counts as ``processing``,
as on the real API.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from finops.emulators.anthropic.state import Batch

EXPIRY_SECONDS = 24 * 60 * 60
OUTCOMES = ("succeeded", "errored", "canceled", "expired")


def finish_time(batch: Batch, index: int) -> float:
    if batch.requests[index].error is not None:
        return batch.created_at
    return batch.created_at + batch.duration * (index + 1) / len(batch.requests)


def expires_at(batch: Batch) -> float:
    return batch.created_at + EXPIRY_SECONDS


def ended_at(batch: Batch) -> float:
    natural_end = min(batch.created_at + batch.duration, expires_at(batch))
    if batch.cancel_initiated_at is not None and batch.cancel_initiated_at < natural_end:
        return batch.cancel_initiated_at + batch.cancel_delay
    return natural_end


def status(batch: Batch, at: float) -> str:
    if at >= ended_at(batch):
        return "ended"
    return "canceling" if batch.cancel_initiated_at is not None else "in_progress"


def outcome(batch: Batch, index: int) -> str:
    """The final result type of request ``index`` (meaningful once the batch has ended)."""
    if batch.requests[index].error is not None:
        return "errored"
    finished = finish_time(batch, index)
    if batch.cancel_initiated_at is not None and finished > batch.cancel_initiated_at:
        return "canceled"
    if finished > expires_at(batch):
        return "expired"
    return "succeeded"


def request_counts(batch: Batch, at: float) -> dict[str, int]:
    total = len(batch.requests)
    if status(batch, at) != "ended":
        return {"processing": total, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if batch.final_counts is None:
        counted = Counter(outcome(batch, index) for index in range(total))
        batch.final_counts = {"processing": 0, **{name: counted.get(name, 0) for name in OUTCOMES}}
    return dict(batch.final_counts)


def can_cancel(batch: Batch, at: float) -> bool:
    return status(batch, at) == "in_progress"


def summary(batch: Batch, at: float) -> dict[str, Any]:
    """Timestamps (epoch seconds or None) and status, for the route module to render."""
    current = status(batch, at)
    return {
        "status": current,
        "ended_at": ended_at(batch) if current == "ended" else None,
        "expires_at": expires_at(batch),
        "request_counts": request_counts(batch, at),
    }
