"""Reading a request at the API edge: JSON bodies (with a depth limit), headers sent upstream, list parameters."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.requests import Request

from finops.api.anthropic.requests import (
    MAX_JSON_DEPTH,
    call_context,
    check_forwarded_headers,
    list_params,
    parse_json,
    provider_of,
)
from finops.core.errors import InvalidRequestError


def nested(depth: int, padding: int = 0) -> bytes:
    """A JSON object ``depth`` levels deep, then ``padding`` bytes of string (large bodies take another path)."""
    value: Any = "x" * padding
    for _ in range(depth):
        value = {"a": value}
    return orjson.dumps(value)


@pytest.mark.parametrize("padding", [0, 100_000], ids=["small body", "large body"])
def test_nesting_is_limited_at_parse_time(padding: int) -> None:
    assert parse_json(nested(MAX_JSON_DEPTH, padding))
    with pytest.raises(InvalidRequestError, match=rf"^Request body is nested more than {MAX_JSON_DEPTH} levels deep"):
        parse_json(nested(MAX_JSON_DEPTH + 1, padding))


def test_many_brackets_are_not_depth() -> None:
    wide = orjson.dumps({"messages": [{"content": [{"type": "text", "text": "[{"}] * 50}] * 20})
    assert parse_json(wide)["messages"][0]["content"][0]["text"] == "[{"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "Request body is empty"),
        (b'{"model": ', "Request body is not valid JSON"),
        (b'{"a": NaN}', "Request body is not valid JSON"),
        (b'{"a": "\\ud800"}', "Request body is not valid JSON"),
        (b"[" * 1025 + b"]" * 1025, "Request body is not valid JSON"),
    ],
)
def test_bodies_that_are_not_json(body: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"^{message}"):
        parse_json(body)


def request(query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query, "headers": headers or []})


def test_headers_sent_upstream_must_be_printable_ascii() -> None:
    check_forwarded_headers(request(headers=[(b"anthropic-beta", b"files-api-2025-04-14,prompt-caching-2024-07-31")]))
    with pytest.raises(InvalidRequestError, match=r"^anthropic-beta: header value must be printable ASCII"):
        check_forwarded_headers(request(headers=[(b"anthropic-beta", "café".encode())]))
    with pytest.raises(InvalidRequestError, match=r"^anthropic-version: header value must be printable ASCII"):
        check_forwarded_headers(request(headers=[(b"anthropic-version", b"2023-06-01\x01")]))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (b"page=page_%FF%FF", "page: not a page token"),
        (b"page=nonsense", "page: not a page token"),
        (b"limit=%C2%B2", "limit: must be an integer between 1 and 1000"),
        (b"limit=0", "limit: must be an integer between 1 and 1000"),
        (b"after_id=a&before_id=b", "use only one of after_id, before_id and page"),
    ],
)
def test_bad_list_parameters(query: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=f"^{message}"):
        list_params(request(query))


def test_a_page_token_round_trips() -> None:
    assert list_params(request(b"page=page_ZmlsZV8x&limit=5")).after_id == "file_1"


def test_headers_are_read_by_lower_case_name_and_a_repeated_one_by_its_first_value() -> None:
    raw = [
        (b"X-Model-Provider", b"gemini"),
        (b"anthropic-version", b"2023-06-01"),
        (b"anthropic-version", b"1999-01-01"),
    ]
    request = Request({"type": "http", "method": "POST", "path": "/v1/messages", "headers": raw, "state": {}})
    assert provider_of(request) == "gemini"
    context = call_context(request)
    assert context.anthropic_version == "2023-06-01"
    assert context.anthropic_beta is None
