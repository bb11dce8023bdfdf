"""Batch and message validation: what is refused before any provider is called."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.validation import validate_batch_requests, validate_message_params

GOOD_PARAMS = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def req(custom_id: Any = "r1", **params: Any) -> dict[str, Any]:
    return {"custom_id": custom_id, "params": {**GOOD_PARAMS, **params}}


@dataclass(frozen=True)
class Case:
    id: str
    body: Any
    message: str


BAD_BATCHES = [
    Case("not an object", [1], "body: must be a JSON object"),
    Case("requests missing", {}, "requests: Field required"),
    Case("empty", {"requests": []}, "requests: must contain at least 1 request"),
    Case("too many", {"requests": [req(f"r{i}") for i in range(100_001)]}, "requests: a batch holds at most 100,000"),
    Case("custom_id with space", {"requests": [req("bad id")]}, "requests.0.custom_id: must match"),
    Case("custom_id too long", {"requests": [req("x" * 65)]}, "requests.0.custom_id: must match"),
    Case("custom_id not a string", {"requests": [req(7)]}, "requests.0.custom_id: must match"),
    Case("duplicate custom_id", {"requests": [req("a"), req("a")]}, "requests.1.custom_id: duplicate custom_id 'a'"),
    Case("missing model", {"requests": [req(model=None)]}, "requests.0.params.model: Field required"),
    Case("missing max_tokens", {"requests": [req(max_tokens=None)]}, "requests.0.params.max_tokens: Field required"),
    Case("zero max_tokens", {"requests": [req(max_tokens=0)]}, "requests.0.params.max_tokens: must be an integer >= 1"),
    Case("missing messages", {"requests": [req(messages=None)]}, "requests.0.params.messages: Field required"),
    Case(
        "bad role",
        {"requests": [req(messages=[{"role": "system", "content": "x"}])]},
        "requests.0.params.messages.0.role",
    ),
    Case("stream in batch", {"requests": [req(stream=True)]}, "requests.0.params.stream"),
]


def _strip_none(body: Any) -> Any:
    if isinstance(body, dict) and "requests" in body:
        for request in body["requests"]:
            params = request["params"]
            for key in [key for key, value in params.items() if value is None]:
                del params[key]
    return body


@pytest.mark.parametrize("case", BAD_BATCHES, ids=lambda case: case.id)
def test_bad_batches_are_refused(case: Case) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        validate_batch_requests(_strip_none(case.body))
    assert str(excinfo.value).startswith(case.message)


def test_good_batch_passes() -> None:
    requests = [req("a"), req("b-2_c")]
    assert validate_batch_requests({"requests": requests}) == requests


def test_message_allows_max_tokens_zero_outside_batches() -> None:
    validate_message_params({**GOOD_PARAMS, "max_tokens": 0})
