"""One gateway batch over several OpenAI batches: the merged Anthropic status and request counts.

Anthropic's counts move out of ``processing`` only when the whole batch ends, and always sum to the request
count; OpenAI's ``request_counts`` (total/completed/failed) grow while a batch runs and say nothing about
requests a cancel or the 24 h window left undone. So every request is processing until every part has ended,
and then, part by part:

- ``completed`` lines are succeeded, ``failed`` lines errored;
- the rest are canceled (part cancelled, or the caller asked to cancel) or expired (part expired);
- a ``failed`` part (its input did not validate) ran nothing: every request errored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from finops.core.types import JSON
from finops.providers.base import BatchStatus, ProcessingStatus
from finops.providers.openai.batch_lines import map_batch_status

COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")
_END_TIMES = ("completed_at", "failed_at", "expired_at", "cancelled_at")


def part_counts(part: JSON, batch: JSON, cancel_requested: bool) -> dict[str, int]:
    """Anthropic request counts of one part (``part`` is the stored state, ``batch`` the OpenAI object)."""
    total = int(part["count"])
    counts = dict.fromkeys(COUNT_KEYS, 0)
    status = batch.get("status") or ""
    if map_batch_status(status) != "ended":
        counts["processing"] = total
        return counts
    if status == "failed":
        counts["errored"] = total
        return counts
    upstream = batch.get("request_counts") or {}
    # Clamped so a surprising upstream count can never break "the counts sum to the total".
    succeeded = min(max(int(upstream.get("completed") or 0), 0), total)
    errored = min(max(int(upstream.get("failed") or 0), 0), total - succeeded)
    rest = total - succeeded - errored
    counts["succeeded"], counts["errored"] = succeeded, errored
    if status == "expired":
        counts["expired"] = rest
    elif status == "cancelled" or cancel_requested:
        counts["canceled"] = rest
    else:
        # "completed" with requests in neither file: nothing ran them, so they cannot be called succeeded.
        counts["errored"] += rest
    return counts


def merge_status(parts: list[JSON], batches: list[JSON], cancel_requested: bool) -> BatchStatus:
    """The gateway batch's status from its parts (``batches[i]`` is the OpenAI object of ``parts[i]``)."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    statuses: list[ProcessingStatus] = []
    for part, batch in zip(parts, batches, strict=True):
        for key, value in part_counts(part, batch, cancel_requested).items():
            counts[key] += value
        statuses.append(map_batch_status(batch.get("status") or ""))
    if all(status == "ended" for status in statuses):
        processing: ProcessingStatus = "ended"
    elif cancel_requested or ("canceling" in statuses and "in_progress" not in statuses):
        # After a cancel, Anthropic says "canceling" until the end, even while a part finishes its last lines.
        processing = "canceling"
    else:
        processing = "in_progress"
    if processing != "ended":
        # Anthropic moves requests out of "processing" only when the whole batch ends, not part by part.
        counts = dict.fromkeys(COUNT_KEYS, 0) | {"processing": sum(int(part["count"]) for part in parts)}
    ended_at = _latest(batch.get(name) for batch in batches for name in _END_TIMES) if processing == "ended" else None
    cancel_initiated_at = _earliest(batch.get("cancelling_at") for batch in batches)
    return BatchStatus(
        processing_status=processing,
        request_counts=counts,
        ended_at=ended_at,
        cancel_initiated_at=cancel_initiated_at,
    )


def _as_datetime(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) and value > 0 else None


def _latest(values: Any) -> datetime | None:
    times = [time for time in map(_as_datetime, values) if time is not None]
    return max(times) if times else None


def _earliest(values: Any) -> datetime | None:
    times = [time for time in map(_as_datetime, values) if time is not None]
    return min(times) if times else None
