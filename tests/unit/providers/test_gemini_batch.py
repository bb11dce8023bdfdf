"""Anthropic Message Batches <-> Gemini batchGenerateContent: requests, result matching, states and counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.providers.gemini.batch_lines import (
    ResultMatcher,
    from_batch_response_entry,
    group_by_model,
    map_batch_state,
    missing_result,
    request_counts_from_stats,
    to_file_batch_line,
    to_inline_batch_request,
)

JSON = dict[str, Any]
PARAMS = {"model": "gemini-2.5-flash", "max_tokens": 10, "system": "S", "messages": [{"role": "user", "content": "hi"}]}
REQUEST = {
    "model": "models/gemini-2.5-flash",
    "systemInstruction": {"parts": [{"text": "S"}]},
    "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
    "generationConfig": {"maxOutputTokens": 10, "thinkingConfig": {"thinkingBudget": 0}},  # no `thinking`: none
}
RESPONSE = {
    "candidates": [{"content": {"role": "model", "parts": [{"text": "hello"}]}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": "3", "candidatesTokenCount": "1"},
    "responseId": "abc-123",
}


def test_inline_request_carries_custom_id_as_metadata_key() -> None:
    assert to_inline_batch_request("r1", PARAMS) == {"request": REQUEST, "metadata": {"key": "r1"}}


def test_file_line_carries_custom_id_as_key() -> None:
    assert to_file_batch_line("r1", PARAMS) == {"key": "r1", "request": REQUEST}


def test_group_by_model_keeps_original_indexes() -> None:
    pro = {**PARAMS, "model": "models/gemini-2.5-pro"}
    requests = [
        {"custom_id": "a", "params": PARAMS},
        {"custom_id": "b", "params": pro},
        {"custom_id": "c", "params": {**PARAMS, "model": "gemini/gemini-2.5-flash"}},
    ]
    assert group_by_model(requests) == {
        "gemini-2.5-flash": [(0, "a", PARAMS), (2, "c", requests[2]["params"])],
        "gemini-2.5-pro": [(1, "b", pro)],
    }


# ------------------------------------------------------------------------------------------------------------
# Matching results to custom_ids
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchCase:
    id: str
    entries: list[JSON]
    custom_ids: list[str]
    expected: list[tuple[str, int]]  # (custom_id, index of the entry it got)


MATCH_CASES = [
    MatchCase(
        id="inline_metadata_key_out_of_order",
        entries=[{"metadata": {"key": "b"}}, {"metadata": {"key": "a"}}],
        custom_ids=["a", "b"],
        expected=[("b", 0), ("a", 1)],
    ),
    MatchCase(
        id="file_line_key",
        entries=[{"key": "b", "response": {}}, {"key": "a", "error": {}}],
        custom_ids=["a", "b"],
        expected=[("b", 0), ("a", 1)],
    ),
    MatchCase(
        id="position_when_no_key",
        entries=[{"response": {}}, {"response": {}}, {"response": {}}],
        custom_ids=["x", "y", "z"],
        expected=[("x", 0), ("y", 1), ("z", 2)],
    ),
    MatchCase(
        id="unknown_key_skipped_not_positional",
        entries=[{"metadata": {"key": "gone"}}, {"metadata": {"key": "a"}}],
        custom_ids=["a", "b"],
        expected=[("a", 1)],
    ),
    MatchCase(
        id="duplicates_and_extra_entries_skipped",
        entries=[{"key": "a"}, {"key": "a"}, {"response": {}}, {"response": {}}],
        custom_ids=["a", "b", "c"],
        expected=[("a", 0), ("c", 2)],
    ),
    MatchCase(
        id="missing_results_leave_gaps",
        entries=[{"metadata": {"key": "c"}}],
        custom_ids=["a", "b", "c"],
        expected=[("c", 0)],
    ),
]


@pytest.mark.parametrize("case", MATCH_CASES, ids=lambda case: case.id)
def test_result_matcher(case: MatchCase) -> None:
    matcher = ResultMatcher(case.custom_ids)
    matched = [
        (custom_id, position)
        for position, entry in enumerate(case.entries)
        if (custom_id := matcher.match(position, entry)) is not None
    ]
    assert matched == case.expected
    assert list(matcher.unmatched()) == [c for c in case.custom_ids if c not in dict(case.expected)]


# ------------------------------------------------------------------------------------------------------------
# Result lines
# ------------------------------------------------------------------------------------------------------------

SUCCEEDED_MESSAGE = {
    "id": "msg_abc123",
    "type": "message",
    "role": "assistant",
    "model": "gemini-2.5-flash",
    "content": [{"type": "text", "text": "hello"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1},
}


@dataclass(frozen=True)
class EntryCase:
    id: str
    entry: JSON
    result: JSON


def errored(error_type: str, message: str) -> JSON:
    return {
        "type": "errored",
        "error": {"type": "error", "error": {"type": error_type, "message": message}, "request_id": None},
    }


ENTRY_CASES = [
    EntryCase(
        "inline_response",
        {"response": RESPONSE, "metadata": {"key": "r1"}},
        {"type": "succeeded", "message": SUCCEEDED_MESSAGE},
    ),
    EntryCase(
        "file_line_response", {"key": "r1", "response": RESPONSE}, {"type": "succeeded", "message": SUCCEEDED_MESSAGE}
    ),
    EntryCase("bare_response_line", RESPONSE, {"type": "succeeded", "message": SUCCEEDED_MESSAGE}),
    EntryCase(
        "invalid_argument_rpc_code",
        {"error": {"code": 3, "message": "bad schema"}, "metadata": {"key": "r1"}},
        errored("invalid_request_error", "Gemini: bad schema"),
    ),
    EntryCase(
        "resource_exhausted_by_name",
        {"key": "r1", "error": {"code": 8, "status": "RESOURCE_EXHAUSTED", "message": "quota"}},
        errored("rate_limit_error", "Gemini: quota"),
    ),
    EntryCase(
        "internal_and_redacted",
        {"error": {"code": 13, "message": "failed for key=AIzaSyAAAAAAAAAAAAAAAA"}},
        errored("api_error", "Gemini: failed for key=[redacted]"),
    ),
]


@pytest.mark.parametrize("case", ENTRY_CASES, ids=lambda case: case.id)
def test_from_batch_response_entry(case: EntryCase) -> None:
    assert from_batch_response_entry(case.entry, custom_id="r1", model="gemini-2.5-flash") == {
        "custom_id": "r1",
        "result": case.result,
    }


def test_from_batch_response_entry_explicit_message_id() -> None:
    line = from_batch_response_entry({"response": RESPONSE}, custom_id="r1", model="m", message_id="msg_X")
    assert line["result"]["message"]["id"] == "msg_X"


@pytest.mark.parametrize(
    ("state", "result"),
    [
        ("BATCH_STATE_CANCELLED", {"type": "canceled"}),
        ("BATCH_STATE_EXPIRED", {"type": "expired"}),
        ("BATCH_STATE_SUCCEEDED", {"type": "expired"}),
        ("BATCH_STATE_FAILED", errored("api_error", "Gemini: the batch failed before this request was processed")),
    ],
    ids=["cancelled", "expired", "succeeded", "failed"],
)
def test_missing_result(state: str, result: JSON) -> None:
    assert missing_result("r9", state) == {"custom_id": "r9", "result": result}


# ------------------------------------------------------------------------------------------------------------
# States and request counts
# ------------------------------------------------------------------------------------------------------------

STATE_CASES = [
    ("BATCH_STATE_UNSPECIFIED", False, "in_progress"),
    ("BATCH_STATE_PENDING", False, "in_progress"),
    ("BATCH_STATE_RUNNING", False, "in_progress"),
    ("BATCH_STATE_RUNNING", True, "canceling"),
    ("BATCH_STATE_SUCCEEDED", False, "ended"),
    ("BATCH_STATE_FAILED", False, "ended"),
    ("BATCH_STATE_CANCELLED", True, "ended"),
    ("BATCH_STATE_EXPIRED", False, "ended"),
    ("JOB_STATE_RUNNING", False, "in_progress"),
    ("SUCCEEDED", False, "ended"),
    (None, False, "in_progress"),
    ("BATCH_STATE_SOMETHING_NEW", False, "in_progress"),
]


@pytest.mark.parametrize(
    ("state", "cancel_requested", "expected"),
    STATE_CASES,
    ids=[f"{state}{'_cancel' if cancel else ''}" for state, cancel, _ in STATE_CASES],
)
def test_map_batch_state(state: str | None, cancel_requested: bool, expected: str) -> None:
    assert map_batch_state(state, cancel_requested=cancel_requested) == expected


STATS = {"requestCount": "10", "successfulRequestCount": "6", "failedRequestCount": "1", "pendingRequestCount": "3"}


def counts(processing: int = 0, succeeded: int = 0, errored: int = 0, canceled: int = 0, expired: int = 0) -> JSON:
    return {
        "processing": processing,
        "succeeded": succeeded,
        "errored": errored,
        "canceled": canceled,
        "expired": expired,
    }


@dataclass(frozen=True)
class CountsCase:
    id: str
    state: str | None
    stats: JSON | None
    expected: JSON
    total: int = 10


COUNTS_CASES = [
    CountsCase("unspecified", "BATCH_STATE_UNSPECIFIED", STATS, counts(processing=10)),
    CountsCase("pending", "BATCH_STATE_PENDING", None, counts(processing=10)),
    CountsCase("running_counts_stay_processing", "BATCH_STATE_RUNNING", STATS, counts(processing=10)),
    CountsCase(
        "succeeded",
        "BATCH_STATE_SUCCEEDED",
        {**STATS, "pendingRequestCount": "0", "failedRequestCount": "4"},
        counts(succeeded=6, errored=4),
    ),
    CountsCase("succeeded_with_leftovers", "BATCH_STATE_SUCCEEDED", STATS, counts(succeeded=6, errored=1, expired=3)),
    CountsCase("cancelled", "BATCH_STATE_CANCELLED", STATS, counts(succeeded=6, errored=1, canceled=3)),
    CountsCase("expired", "BATCH_STATE_EXPIRED", STATS, counts(succeeded=6, errored=1, expired=3)),
    CountsCase("failed", "BATCH_STATE_FAILED", STATS, counts(succeeded=6, errored=4)),
    CountsCase("failed_no_stats", "BATCH_STATE_FAILED", None, counts(errored=10)),
    CountsCase("int_stats", "BATCH_STATE_CANCELLED", {"successfulRequestCount": 2}, counts(succeeded=2, canceled=8)),
    CountsCase(
        "stats_over_total_clamped",
        "BATCH_STATE_SUCCEEDED",
        {"successfulRequestCount": "8", "failedRequestCount": "9"},
        counts(succeeded=8, errored=2),
    ),
    CountsCase("split_batch_part", "BATCH_STATE_CANCELLED", STATS, counts(succeeded=4), total=4),
]


@pytest.mark.parametrize("case", COUNTS_CASES, ids=lambda case: case.id)
def test_request_counts_from_stats(case: CountsCase) -> None:
    result = request_counts_from_stats(case.stats, total=case.total, state=case.state)
    assert result == case.expected
    assert sum(result.values()) == case.total


@pytest.mark.parametrize("state", [state for state, _, _ in STATE_CASES])
@pytest.mark.parametrize("stats", [None, {}, STATS, {"successfulRequestCount": "99", "failedRequestCount": "99"}])
@pytest.mark.parametrize("total", [0, 1, 10, 100_000])
def test_request_counts_always_sum_to_total(state: str | None, stats: JSON | None, total: int) -> None:
    result = request_counts_from_stats(stats, total=total, state=state)
    assert sum(result.values()) == total
    assert min(result.values()) >= 0
