"""One gateway batch over several Bedrock parts (jobs, or parts the gateway ran on demand): the merged Anthropic
status and request counts (pure).

Job statuses (``GetModelInvocationJob``): ``Submitted``, ``Validating``, ``Scheduled``, ``InProgress`` are
``in_progress``; ``Stopping`` is ``canceling``; ``Completed``, ``PartiallyCompleted``, ``Failed``, ``Stopped`` and
``Expired`` have ended. Anthropic's counts move out of ``processing`` only when the whole batch ends and always sum
to the request count, so every request is processing until every part has ended, and then, part by part, from the
job's ``manifest.json.out`` (``successRecordCount``, ``errorRecordCount``):

- succeeded and errored records as the manifest counts them;
- the records no one ran: canceled (job stopped, or the caller asked to cancel), expired (job expired or ran out
  of time: ``PartiallyCompleted``), errored otherwise;
- a ``Failed`` job (its input did not validate) ran nothing: every request errored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from finops.core.types import JSON
from finops.providers.base import BatchStatus, ProcessingStatus

COUNT_KEYS = ("processing", "succeeded", "errored", "canceled", "expired")

_PROCESSING: dict[str, ProcessingStatus] = {
    "Submitted": "in_progress",
    "Validating": "in_progress",
    "Scheduled": "in_progress",
    "InProgress": "in_progress",
    "Stopping": "canceling",
    "Completed": "ended",
    "PartiallyCompleted": "ended",
    "Failed": "ended",
    "Stopped": "ended",
    "Expired": "ended",
}
ON_DEMAND_RUNNING = "InProgress"
ON_DEMAND_DONE = "Completed"


def processing_status(job_status: str) -> ProcessingStatus:
    # A status Bedrock adds later is treated as still running: never ended before it is.
    return _PROCESSING.get(job_status, "in_progress")


@dataclass(frozen=True)
class PartState:
    """What is known of one part now: its job's (or the gateway's own run's) status, its manifest once ended."""

    status: str
    manifest: JSON | None = None
    end_time: datetime | None = None
    message: str | None = None


def part_counts(count: int, state: PartState, cancel_requested: bool) -> dict[str, int]:
    counts = dict.fromkeys(COUNT_KEYS, 0)
    if processing_status(state.status) != "ended":
        counts["processing"] = count
        return counts
    if state.status == "Failed":
        counts["errored"] = count
        return counts
    manifest = state.manifest or {}
    # Clamped so a surprising manifest can never break "the counts sum to the total".
    succeeded = min(max(int(manifest.get("successRecordCount") or 0), 0), count)
    errored = min(max(int(manifest.get("errorRecordCount") or 0), 0), count - succeeded)
    rest = count - succeeded - errored
    counts["succeeded"], counts["errored"] = succeeded, errored
    counts[missing_verdict(state.status, cancel_requested)] += rest
    return counts


def missing_verdict(status: str, cancel_requested: bool) -> str:
    """What a record that has no output line became: the same verdict in counts and in results."""
    if status in ("Expired", "PartiallyCompleted"):
        return "expired"
    if status == "Stopped" or cancel_requested:
        return "canceled"
    return "errored"


def merge_status(counts: list[int], states: list[PartState], cancel_requested: bool) -> BatchStatus:
    total = dict.fromkeys(COUNT_KEYS, 0)
    statuses = [processing_status(state.status) for state in states]
    for count, state in zip(counts, states, strict=True):
        for key, value in part_counts(count, state, cancel_requested).items():
            total[key] += value
    if all(status == "ended" for status in statuses):
        processing: ProcessingStatus = "ended"
    elif cancel_requested or "canceling" in statuses:
        processing = "canceling"
    else:
        processing = "in_progress"
    if processing != "ended":
        total = dict.fromkeys(COUNT_KEYS, 0) | {"processing": sum(counts)}
    ends = [state.end_time for state in states if state.end_time is not None]
    return BatchStatus(
        processing_status=processing,
        request_counts=total,
        ended_at=max(ends) if processing == "ended" and ends else None,
    )
