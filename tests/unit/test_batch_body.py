"""A large batch body parsed in pieces: the same value as ``parse_json`` for every body, the same error for every
bad one, and the pieces really used for the bodies real clients send."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from finops.api.anthropic import batch_body
from finops.api.anthropic.batch_body import parse_batch_body
from finops.api.anthropic.requests import MAX_JSON_DEPTH, parse_json
from finops.core.errors import InvalidRequestError


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pieces of ~512 bytes: every body below is cut in many places without being megabytes long."""
    monkeypatch.setattr(batch_body, "PIECE_BYTES", 512)


def request(index: int, text: str | None = None) -> dict[str, Any]:
    content = text if text is not None else f"Question {index}: what is {index} + {index}?"
    return {
        "custom_id": f"req-{index}",
        "params": {
            "model": "claude-3-5-haiku-20241022",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": content}],
        },
    }


def body_of(requests: list[Any], *, indent: bool = False, **fields: Any) -> bytes:
    return orjson.dumps({"requests": requests, **fields}, option=orjson.OPT_INDENT_2 if indent else 0)


def outcome(parse: Any, body: bytes) -> tuple[str, Any]:
    try:
        return "value", parse(body)
    except InvalidRequestError as exc:
        return "error", str(exc)


def only_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the body goes to ``parse_json`` whole."""

    def whole(body: bytes) -> Any:
        raise AssertionError("parsed whole, not in pieces")

    monkeypatch.setattr(batch_body, "parse_json", whole)


TRICKY_TEXTS = [
    'a},{"custom_id": "x"},{b',  # a cut candidate inside a string
    '"requests": [{"custom_id": "decoy"}]',
    'back\\slash and "quotes" and ]} and [{',
    "émoji 😀 and \u2028 and \x00",
]


@pytest.mark.parametrize("indent", [False, True], ids=["compact", "indented"])
def test_batches_parse_in_pieces_to_the_same_value(monkeypatch: pytest.MonkeyPatch, indent: bool) -> None:
    requests = [request(index, TRICKY_TEXTS[index % 4] if index % 7 == 0 else None) for index in range(300)]
    bodies = [
        body_of(requests, indent=indent),
        body_of(requests, indent=indent, workspace_id="w1", extra={"requests": [1, 2]}),
        orjson.dumps({"user_profile_id": "u", "requests": requests, "z": [{"a": 1}, {"b": 2}]}),
        body_of([*requests, {"custom_id": "deep", "params": {"a": [[{"b": [{}]}], {"c": {}}]}}], indent=indent),
    ]
    only_in_pieces(monkeypatch)
    for body in bodies:
        assert parse_batch_body(body) == orjson.loads(body)


def test_a_real_size_batch_parses_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_body, "PIECE_BYTES", 64 * 1024)
    body = body_of([request(index) for index in range(20_000)])  # ~3 MB, ~45 pieces
    only_in_pieces(monkeypatch)
    assert parse_batch_body(body) == orjson.loads(body)


def test_requests_as_strings_inside_strings_still_parse_in_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every cut candidate of this body is inside a string for a while: pieces merge until one parses.
    text = '},{"x":1},{' * 20
    body = body_of([request(index, text) for index in range(100)])
    only_in_pieces(monkeypatch)
    assert parse_batch_body(body) == orjson.loads(body)


def with_deep_request(levels: int) -> bytes:
    """A batch whose 200th request's params nest so that the whole body is ``levels`` deep (written by hand:
    orjson writes no more than 254 levels)."""
    requests: list[Any] = [request(index) for index in range(400)]
    requests[200] = {"custom_id": "deep", "params": "DEEP"}
    params = levels - 3  # the body, its requests and the request itself are the first three
    return body_of(requests).replace(b'"DEEP"', b"[" * params + b'"x"' + b"]" * params)


BAD_BODIES = {
    "invalid in a middle piece": body_of([request(index) for index in range(300)]).replace(b'"req-150"', b"req-150"),
    "invalid in the head": body_of([request(index) for index in range(300)]).replace(b'"req-1"', b"'req-1'"),
    "invalid in the tail": body_of([request(index) for index in range(300)]).replace(b'"req-299"', b'"req-299'),
    "cut short": body_of([request(index) for index in range(300)])[:-3],
    "trailing data": body_of([request(index) for index in range(300)]) + b" {}",
    "NaN": body_of([request(index) for index in range(300)]).replace(b"64", b"NaN", 1),
    "lone surrogate in a middle piece": body_of([request(index) for index in range(300)]).replace(
        b"Question 150", b"Question \\ud800"
    ),
    "two commas": body_of([request(index) for index in range(300)]).replace(b'},{"custom_id":"req-150"', b'},,{"a":1'),
    "deeper than the limit": with_deep_request(MAX_JSON_DEPTH + 1),
    "deeper than orjson reads": with_deep_request(1100),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies_get_the_same_error(body: bytes) -> None:
    expected = outcome(parse_json, body)
    assert expected[0] == "error"
    assert outcome(parse_batch_body, body) == expected


def test_as_deep_as_the_limit_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    body = with_deep_request(MAX_JSON_DEPTH)
    only_in_pieces(monkeypatch)
    assert parse_batch_body(body) == orjson.loads(body)


OTHER_SHAPES = {
    "a list": orjson.dumps([request(index) for index in range(300)]),
    "requests of strings": body_of([f"r{index}" for index in range(2000)]),
    "requests not at the top": orjson.dumps({"batch": {"requests": [request(index) for index in range(300)]}}),
    "requests twice": body_of([request(index) for index in range(300)], requests2=1).replace(
        b'"requests2"', b'"requests"'
    ),
    "no requests": orjson.dumps({"items": [request(index) for index in range(300)]}),
}


@pytest.mark.parametrize("body", OTHER_SHAPES.values(), ids=OTHER_SHAPES.keys())
def test_other_shapes_get_what_parse_json_gives(body: bytes) -> None:
    assert outcome(parse_batch_body, body) == outcome(parse_json, body)


def test_any_corruption_gets_what_parse_json_gives() -> None:
    """Random single-byte changes to a batch: whatever ``parse_json`` makes of each (a value or an error),
    the pieces make the same."""
    rng = random.Random(13)
    base = body_of([request(index, TRICKY_TEXTS[index % 4]) for index in range(60)], workspace_id="w")
    alphabet = b'{}[],:"\\ \n0a-'
    for _ in range(1500):
        body = bytearray(base)
        for _ in range(rng.choice([1, 1, 2])):
            body[rng.randrange(len(body))] = rng.choice(alphabet)
        assert outcome(parse_batch_body, bytes(body)) == outcome(parse_json, bytes(body)), bytes(body)
