"""Anthropic batch requests/results <-> OpenAI Batch JSONL lines, as named cases."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.providers.openai.batch_lines import (
    canceled_result,
    expired_result,
    from_batch_output_line,
    map_batch_status,
    to_batch_line,
)

JSON = dict[str, Any]


def test_to_batch_line() -> None:
    params = {
        "model": "gpt-4o-mini",
        "max_tokens": 50,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hi"}],
    }
    assert to_batch_line("req-1", params) == {
        "custom_id": "req-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "max_completion_tokens": 50,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        },
    }


def test_to_batch_line_rejects_untranslatable_params() -> None:
    params = {"model": "m", "max_tokens": 1, "messages": [], "stop_sequences": ["1", "2", "3", "4", "5"]}
    with pytest.raises(InvalidRequestError, match="at most 4"):
        to_batch_line("req-1", params)


def output_line(custom_id: str, status_code: int, body: JSON, request_id: str | None = "req_up_1") -> JSON:
    return {
        "id": "batch_req_1",
        "custom_id": custom_id,
        "response": {"status_code": status_code, "request_id": request_id, "body": body},
        "error": None,
    }


def errored(custom_id: str, error_type: str, message: str, request_id: str | None) -> JSON:
    return {
        "custom_id": custom_id,
        "result": {
            "type": "errored",
            "error": {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id},
        },
    }


@dataclass(frozen=True)
class OutputLineCase:
    id: str
    line: JSON
    expected: JSON


OUTPUT_LINE_CASES = [
    OutputLineCase(
        id="http_400_is_errored_invalid_request",
        line=output_line("a", 400, {"error": {"message": "Invalid 'max_completion_tokens'", "code": None}}),
        expected=errored("a", "invalid_request_error", "openai: Invalid 'max_completion_tokens'", "req_up_1"),
    ),
    OutputLineCase(
        id="http_429_is_errored_rate_limit",
        line=output_line("b", 429, {"error": {"message": "Too many tokens"}}),
        expected=errored("b", "rate_limit_error", "openai: Too many tokens", "req_up_1"),
    ),
    OutputLineCase(
        id="http_500_without_message",
        line=output_line("c", 500, {}, request_id=None),
        expected=errored("c", "api_error", "openai: upstream returned HTTP 500", None),
    ),
    OutputLineCase(
        id="error_line_batch_expired_is_expired",
        line={
            "id": "batch_req_2",
            "custom_id": "d",
            "response": None,
            "error": {"code": "batch_expired", "message": "This request could not be executed before expiry."},
        },
        expected={"custom_id": "d", "result": {"type": "expired"}},
    ),
    OutputLineCase(
        id="error_line_batch_cancelled_is_canceled",
        line={"id": "x", "custom_id": "e", "response": None, "error": {"code": "batch_cancelled", "message": "m"}},
        expected={"custom_id": "e", "result": {"type": "canceled"}},
    ),
    OutputLineCase(
        id="error_line_other_code_is_errored_with_redaction",
        line={
            "id": "x",
            "custom_id": "f",
            "response": None,
            "error": {"code": "invalid_request", "message": "bad body for key sk-proj-123"},
        },
        expected=errored("f", "invalid_request_error", "openai: bad body for key [redacted]", None),
    ),
    OutputLineCase(
        id="error_line_without_message",
        line={"id": "x", "custom_id": "g", "response": None, "error": {"code": "model_not_found"}},
        expected=errored("g", "invalid_request_error", "openai: request failed (model_not_found)", None),
    ),
    OutputLineCase(
        id="neither_response_nor_error",
        line={"id": "x", "custom_id": "h", "response": None, "error": None},
        expected=errored(
            "h", "api_error", "openai: the openai provider returned a result with no response or error", None
        ),
    ),
]


@pytest.mark.parametrize("case", OUTPUT_LINE_CASES, ids=lambda case: case.id)
def test_from_batch_output_line(case: OutputLineCase) -> None:
    assert from_batch_output_line(case.line) == case.expected


def test_from_batch_output_line_succeeded() -> None:
    body = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 2, "prompt_tokens_details": {"cached_tokens": 0}},
    }
    result = from_batch_output_line(output_line("ok-1", 200, body))
    message = result["result"]["message"]
    assert result["custom_id"] == "ok-1"
    assert result["result"]["type"] == "succeeded"
    assert message["id"].startswith("msg_")
    assert {key: value for key, value in message.items() if key != "id"} == {
        "type": "message",
        "role": "assistant",
        "model": "gpt-4o-mini-2024-07-18",
        "content": [{"type": "text", "text": "Hello"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 20,
            "output_tokens": 2,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
    }


def test_canceled_and_expired_results() -> None:
    assert canceled_result("x") == {"custom_id": "x", "result": {"type": "canceled"}}
    assert expired_result("y") == {"custom_id": "y", "result": {"type": "expired"}}


@pytest.mark.parametrize(
    ("openai_status", "expected"),
    [
        ("validating", "in_progress"),
        ("in_progress", "in_progress"),
        ("finalizing", "in_progress"),
        ("cancelling", "canceling"),
        ("completed", "ended"),
        ("failed", "ended"),
        ("expired", "ended"),
        ("cancelled", "ended"),
        ("some_future_status", "in_progress"),
    ],
    ids=lambda value: value,
)
def test_map_batch_status(openai_status: str, expected: str) -> None:
    assert map_batch_status(openai_status) == expected
