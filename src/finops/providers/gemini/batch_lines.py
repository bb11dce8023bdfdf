"""Pure mapping between Anthropic Message Batches and Gemini ``batchGenerateContent``.

* Requests: each Anthropic ``{custom_id, params}`` becomes an inline ``{request, metadata: {key}}`` or a JSONL
  file line ``{key, request}``. The batch's URL names its model (``models/{model}:batchGenerateContent``),
  so one Gemini batch holds one model (``group_by_model``).
* Results: inline responses and file lines are matched to custom_ids by key, falling back to position
  (Gemini keeps input order), and become Anthropic result lines.
* Status: Gemini batch states and ``batchStats`` become Anthropic ``processing_status`` and
  ``request_counts`` that always sum to the request count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Literal

from finops.providers.gemini.translate import (
    JSON,
    GeminiFileRef,
    as_int,
    from_generate_response,
    model_name,
    status_to_anthropic_error,
    to_generate_request,
)

# Gemini's docs ask for inline batch payloads under 20 MB; above INLINE_BATCH_LIMIT_BYTES the adapter uploads a
# JSONL file. The limit is lower than Gemini's because a batch resource echoes its inline requests in every answer
# (create and each status poll): 20 MB of echoed JSON cost the gateway ~300 MB of parsed objects per poll, a
# referenced file costs nothing.
INLINE_BATCH_LIMIT_BYTES = 4 * 1024 * 1024

_RPC_CANCELLED = 1  # google.rpc.Code.CANCELLED

ProcessingStatus = Literal["in_progress", "canceling", "ended"]

_BATCH_STATE_MAP: dict[str, ProcessingStatus] = {
    "BATCH_STATE_UNSPECIFIED": "in_progress",
    "BATCH_STATE_PENDING": "in_progress",
    "BATCH_STATE_RUNNING": "in_progress",
    "BATCH_STATE_SUCCEEDED": "ended",
    "BATCH_STATE_FAILED": "ended",
    "BATCH_STATE_CANCELLED": "ended",
    "BATCH_STATE_EXPIRED": "ended",
}

# What a request without a result counts as once its batch has ended. A FAILED batch did not process its
# remaining requests because it failed, so they are errors; Anthropic has no "failed batch" to mirror.
_MISSING_RESULT_TYPE: dict[str, Literal["canceled", "expired", "errored"]] = {
    "BATCH_STATE_CANCELLED": "canceled",
    "BATCH_STATE_EXPIRED": "expired",
    "BATCH_STATE_FAILED": "errored",
    "BATCH_STATE_SUCCEEDED": "expired",
}


def _normalise_state(state: str | None) -> str:
    """``BATCH_STATE_RUNNING`` from any spelling (bare ``RUNNING``, the SDK's ``JOB_STATE_RUNNING``)."""
    name = (state or "BATCH_STATE_UNSPECIFIED").upper().removeprefix("JOB_STATE_").removeprefix("BATCH_STATE_")
    return f"BATCH_STATE_{name}"


# ------------------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------------------


def _batch_request(params: JSON, file_refs: Mapping[str, GeminiFileRef] | None) -> JSON:
    # The batch URL names the model; the request repeats it because the spec marks
    # GenerateContentRequest.model required (the SDK sends it whenever the caller gives one).
    model, request = to_generate_request(params, file_refs=file_refs)
    return {"model": f"models/{model}", **request}


def to_inline_batch_request(
    custom_id: str, params: JSON, *, file_refs: Mapping[str, GeminiFileRef] | None = None
) -> JSON:
    """One entry of ``inputConfig.requests.requests``: the GenerateContentRequest and the custom_id as
    ``metadata.key``, which Gemini echoes on the matching inline response."""
    return {"request": _batch_request(params, file_refs), "metadata": {"key": custom_id}}


def to_file_batch_line(custom_id: str, params: JSON, *, file_refs: Mapping[str, GeminiFileRef] | None = None) -> JSON:
    """One line of a JSONL batch input file."""
    return {"key": custom_id, "request": _batch_request(params, file_refs)}


def group_by_model(requests: Iterable[JSON]) -> dict[str, list[tuple[int, str, JSON]]]:
    """Anthropic batch requests grouped by Gemini model, in first-seen order: ``model -> [(index in the
    original batch, custom_id, params)]``. The adapter creates one Gemini batch per group."""
    groups: dict[str, list[tuple[int, str, JSON]]] = {}
    for index, request in enumerate(requests):
        params = request.get("params") or {}
        groups.setdefault(model_name(params.get("model")), []).append((index, request.get("custom_id", ""), params))
    return groups


# ------------------------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------------------------


def result_key(entry: JSON) -> str | None:
    """The custom_id an inline response (``metadata.key``) or a result file line (``key``) names."""
    metadata = entry.get("metadata")
    if isinstance(metadata, dict):
        for name in ("key", "custom_id"):
            value = metadata.get(name)
            if isinstance(value, str):
                return value
    key = entry.get("key")
    return key if isinstance(key, str) else None


class ResultMatcher:
    """Matches result entries to custom_ids one at a time, so a responses file streamed line by line can be
    matched without holding it.

    An entry whose key names one of ``custom_ids`` matches it. An entry without a key takes the custom_id at
    its own position (Gemini returns results in input order). An entry whose key names no custom_id is
    skipped rather than matched by position: its key says it belongs to another request. Second results for
    one custom_id are skipped too; custom_ids that never match have no result (``missing_result``)."""

    def __init__(self, custom_ids: list[str]) -> None:
        self._custom_ids = custom_ids
        self._wanted = set(custom_ids)
        self.matched: set[str] = set()

    def match(self, position: int, entry: JSON) -> str | None:
        """The custom_id the entry at ``position`` answers, or None when it is to be skipped."""
        key = result_key(entry)
        if key is None and position < len(self._custom_ids):
            key = self._custom_ids[position]
        if key not in self._wanted or key in self.matched:
            return None
        self.matched.add(key)
        return key

    def unmatched(self) -> Iterator[str]:
        """The custom_ids that got no result, in input order."""
        return (custom_id for custom_id in self._custom_ids if custom_id not in self.matched)


def _cancelled(error: JSON) -> bool:
    return error.get("status") == "CANCELLED" or as_int(error.get("code")) == _RPC_CANCELLED


def from_batch_response_entry(
    entry: JSON,
    *,
    custom_id: str,
    model: str,
    message_id: str | None = None,
    batch_state: str | None = None,
) -> JSON:
    """The Anthropic result line for one inline response / result file line.

    A failed request (``error``: a google.rpc.Status) is ``errored``, except that in a cancelled batch
    (``batch_state``) a CANCELLED status means the request never ran: Anthropic calls that ``canceled``.
    Anything else is a GenerateContentResponse (under ``response``, or the line itself) and ``succeeded``.
    Without ``message_id`` the message id is derived from Gemini's ``responseId``, so that downloading the
    results twice gives the same ids."""
    error = entry.get("error")
    if isinstance(error, dict) and _cancelled(error) and _normalise_state(batch_state) == "BATCH_STATE_CANCELLED":
        return {"custom_id": custom_id, "result": {"type": "canceled"}}
    if isinstance(error, dict):
        return {
            "custom_id": custom_id,
            "result": {
                "type": "errored",
                "error": {"type": "error", "error": status_to_anthropic_error(error), "request_id": None},
            },
        }
    response = entry.get("response")
    if not isinstance(response, dict):
        response = entry
    if message_id is None:
        response_id = "".join(char for char in str(response.get("responseId") or "") if char.isalnum())
        message_id = f"msg_{response_id}" if response_id else None
    message = from_generate_response(response, model=model, message_id=message_id)
    return {"custom_id": custom_id, "result": {"type": "succeeded", "message": message}}


def missing_result(custom_id: str, state: str) -> JSON:
    """The result line for a request that has no result in an ended batch (see ``_MISSING_RESULT_TYPE``)."""
    result_type = _MISSING_RESULT_TYPE.get(_normalise_state(state), "expired")
    if result_type == "errored":
        error = {"type": "api_error", "message": "Gemini: the batch failed before this request was processed"}
        result: JSON = {"type": "errored", "error": {"type": "error", "error": error, "request_id": None}}
    else:
        result = {"type": result_type}
    return {"custom_id": custom_id, "result": result}


# ------------------------------------------------------------------------------------------------------------
# Status
# ------------------------------------------------------------------------------------------------------------


def map_batch_state(state: str | None, *, cancel_requested: bool = False) -> ProcessingStatus:
    """Anthropic ``processing_status`` for a Gemini batch ``state``. Gemini has no cancelling state: a batch
    still running after the gateway asked to cancel it is ``canceling``. Unknown states count as running."""
    status = _BATCH_STATE_MAP.get(_normalise_state(state), "in_progress")
    if status == "in_progress" and cancel_requested:
        return "canceling"
    return status


def request_counts_from_stats(batch_stats: JSON | None, *, total: int, state: str | None) -> dict[str, int]:
    """Anthropic ``request_counts`` for a Gemini batch, always summing to ``total``.

    Like Anthropic, every request is ``processing`` until the batch ends. Once ended, successful requests are
    ``succeeded`` and failed ones ``errored`` (clamped to ``total``); the rest are counted as
    ``missing_result`` would classify them."""
    counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    normalised = _normalise_state(state)
    if _BATCH_STATE_MAP.get(normalised) != "ended":
        counts["processing"] = total
        return counts
    stats = batch_stats or {}
    counts["succeeded"] = min(max(as_int(stats.get("successfulRequestCount")), 0), total)
    counts["errored"] = min(max(as_int(stats.get("failedRequestCount")), 0), total - counts["succeeded"])
    remaining = total - counts["succeeded"] - counts["errored"]
    counts[_MISSING_RESULT_TYPE.get(normalised, "expired")] += remaining
    return counts
