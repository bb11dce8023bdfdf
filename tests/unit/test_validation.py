"""The request parse: what is refused before any policy, provider or store sees a body, and with which words.

Messages name the field as Anthropic's API does (``messages.1.content.0.text: Field required``); the batch-only
checks keep the wording the gateway has always used.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.params import parse_batch, parse_count_tokens_params, parse_message_params

GOOD_PARAMS: dict[str, Any] = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}


def req(custom_id: Any = "r1", **params: Any) -> dict[str, Any]:
    merged = {**GOOD_PARAMS, **params}
    return {"custom_id": custom_id, "params": {key: value for key, value in merged.items() if value is not None}}


def with_content(*blocks: Any) -> dict[str, Any]:
    return {**GOOD_PARAMS, "messages": [{"role": "user", "content": list(blocks)}]}


@dataclass(frozen=True)
class Case:
    id: str
    body: Any
    message: str


BAD_BATCHES = [
    Case("not an object", [1], "body: must be a JSON object"),
    Case("requests missing", {}, "requests: Field required"),
    Case("requests not a list", {"requests": {"a": 1}}, "requests: Input should be a valid list"),
    Case("empty", {"requests": []}, "requests: must contain at least 1 request"),
    Case("too many", {"requests": [req(f"r{i}") for i in range(100_001)]}, "requests: a batch holds at most 100,000"),
    Case("custom_id with space", {"requests": [req("bad id")]}, "requests.0.custom_id: must match"),
    Case("custom_id too long", {"requests": [req("x" * 65)]}, "requests.0.custom_id: must match"),
    Case("custom_id not a string", {"requests": [req(7)]}, "requests.0.custom_id: Input should be a valid string"),
    Case("duplicate custom_id", {"requests": [req("a"), req("a")]}, "requests.1.custom_id: duplicate custom_id 'a'"),
    Case("missing params", {"requests": [{"custom_id": "a"}]}, "requests.0.params: Field required"),
    Case("missing model", {"requests": [req(model=None)]}, "requests.0.params.model: Field required"),
    Case("missing max_tokens", {"requests": [req(max_tokens=None)]}, "requests.0.params.max_tokens: Field required"),
    Case("zero max_tokens", {"requests": [req(max_tokens=0)]}, "requests.0.params.max_tokens: must be an integer >= 1"),
    Case("missing messages", {"requests": [req(messages=None)]}, "requests.0.params.messages: Field required"),
    Case(
        "empty messages",
        {"requests": [req(messages=[])]},
        "requests.0.params.messages: at least one message is required",
    ),
    Case(
        "bad role",
        {"requests": [req(messages=[{"role": "tool", "content": "x"}])]},
        "requests.0.params.messages.0.role: Input should be 'user', 'assistant' or 'system'",
    ),
    Case("stream in batch", {"requests": [req(stream=True)]}, "requests.0.params.stream"),
    Case(
        "wrong type deep inside",
        {"requests": [req("a"), req("b", messages=[{"role": "user", "content": [{"type": "text"}]}])]},
        "requests.1.params.messages.0.content.0.text: Field required",
    ),
]


@pytest.mark.parametrize("case", BAD_BATCHES, ids=lambda case: case.id)
def test_bad_batches_are_refused(case: Case) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        parse_batch(case.body)
    assert str(excinfo.value).startswith(case.message)


LARGE = [req(f"r{index}") for index in range(1_200)]  # validated 500 requests at a time


def large_with(index: int, request: Any) -> list[Any]:
    return [*LARGE[:index], request, *LARGE[index + 1 :]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requests": large_with(0, req(max_tokens=None))}, "requests.0.params.max_tokens: Field required"),
        ({"requests": large_with(499, req(max_tokens="1"))}, "requests.499.params.max_tokens: Input should be a"),
        ({"requests": large_with(500, {"custom_id": "x"})}, "requests.500.params: Field required"),
        (
            {"requests": large_with(1_150, req(messages=[{"role": "user", "content": [{"type": "text"}]}]))},
            "requests.1150.params.messages.0.content.0.text: Field required",
        ),
        # the model checks requests before the other fields, one slice of requests or all of them at once
        (
            {"workspace_id": 5, "requests": large_with(700, req(model=None))},
            "requests.700.params.model: Field required",
        ),
        ({"workspace_id": 5, "requests": [req(model=None)]}, "requests.0.params.model: Field required"),
        ({"workspace_id": 5, "requests": LARGE}, "workspace_id: Input should be a valid string"),
        ({"workspace_id": 5, "requests": LARGE[:2]}, "workspace_id: Input should be a valid string"),
    ],
    ids=["first", "end of a slice", "start of a slice", "last slice", "both", "both, small", "field", "field, small"],
)
def test_large_batches_name_the_first_bad_field(body: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        parse_batch(body)
    assert str(excinfo.value).startswith(message)


def test_good_batch_passes_and_is_not_copied() -> None:
    body = {"requests": [req("a"), req("b-2_c", stream=False)]}
    assert parse_batch(body) is body["requests"]


# Each shape of issue 13 item 11 (and its neighbours) with the message Anthropic's API gives for it.
BAD_MESSAGES = [
    Case("body not an object", [GOOD_PARAMS], "body: must be a JSON object"),
    Case("system is a number", {**GOOD_PARAMS, "system": 5}, "system: Input should be a valid list"),
    Case("tool_choice is a string", {**GOOD_PARAMS, "tool_choice": "auto"}, "tool_choice: Input should be a valid"),
    Case("metadata is a string", {**GOOD_PARAMS, "metadata": "x"}, "metadata: Input should be a valid dictionary"),
    Case("a block is a number", with_content(5), "messages.0.content.0: Input should be a valid dictionary"),
    Case("text block without text", with_content({"type": "text"}), "messages.0.content.0.text: Field required"),
    Case("block without type", with_content({"text": "x"}), "messages.0.content.0.type: Field required"),
    Case("block type not a string", with_content({"type": 5}), "messages.0.content.0.type: Input should be a valid"),
    Case(
        "image media_type is an object",
        with_content({"type": "image", "source": {"type": "base64", "media_type": {"a": 1}, "data": "AA=="}}),
        "messages.0.content.0.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or",
    ),
    Case(
        "document title is a number",
        with_content(
            {"type": "document", "title": 5, "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
        ),
        "messages.0.content.0.title: Input should be a valid string",
    ),
    Case(
        "content is an object",
        {**GOOD_PARAMS, "messages": [{"role": "user", "content": {"text": "x"}}]},
        "messages.0.content: Input should be a valid list",
    ),
    Case(
        "unknown role",
        {**GOOD_PARAMS, "messages": [{"role": "tool", "content": "x"}]},
        "messages.0.role: Input should be 'user', 'assistant' or 'system'",
    ),
    Case("messages empty", {**GOOD_PARAMS, "messages": []}, "messages: at least one message is required"),
    Case("max_tokens a string", {**GOOD_PARAMS, "max_tokens": "5"}, "max_tokens: Input should be a valid integer"),
    Case("max_tokens a boolean", {**GOOD_PARAMS, "max_tokens": True}, "max_tokens: Input should be a valid integer"),
    Case("max_tokens a float", {**GOOD_PARAMS, "max_tokens": 5.0}, "max_tokens: Input should be a valid integer"),
    Case("max_tokens negative", {**GOOD_PARAMS, "max_tokens": -1}, "max_tokens: Input should be greater than or"),
    Case("model empty", {**GOOD_PARAMS, "model": ""}, "model: String should have at least 1 character"),
    Case("temperature a string", {**GOOD_PARAMS, "temperature": "0.5"}, "temperature: Input should be a valid number"),
    Case("custom tool without schema", {**GOOD_PARAMS, "tools": [{"name": "x"}]}, "tools.0.input_schema: Field"),
    Case(
        "server tool with a wrong field",
        {**GOOD_PARAMS, "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": "3"}]},
        "tools.0.max_uses: Input should be a valid integer",
    ),
    Case("thinking without budget", {**GOOD_PARAMS, "thinking": {"type": "enabled"}}, "thinking.budget_tokens: Field"),
    Case(
        "tool_result content of numbers",
        with_content({"type": "tool_result", "tool_use_id": "t", "content": [1]}),
        "messages.0.content.0.content.0: Input should be a valid dictionary",
    ),
    Case(
        "citation of an unknown kind",
        with_content({"type": "text", "text": "x", "citations": [{"type": "bogus"}]}),
        "messages.0.content.0.citations.0: Input tag 'bogus' found using 'type' does not match any of the expected",
    ),
    Case(
        "structured output without schema",
        {**GOOD_PARAMS, "output_config": {"format": {"type": "json_schema"}}},
        "output_config.format.schema: Field required",
    ),
    Case(
        "system message with an image",
        {**GOOD_PARAMS, "messages": [{"role": "system", "content": [{"type": "image", "source": {}}]}]},
        "messages.0.content.0.type: Input should be 'text'",
    ),
]


@pytest.mark.parametrize("case", BAD_MESSAGES, ids=lambda case: case.id)
def test_bad_messages_are_refused_naming_the_field(case: Case) -> None:
    with pytest.raises(InvalidRequestError) as excinfo:
        parse_message_params(case.body)
    assert str(excinfo.value).startswith(case.message), str(excinfo.value)


def test_count_tokens_checks_the_same_shapes_but_needs_no_max_tokens() -> None:
    parse_count_tokens_params({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    document = {"type": "document", "title": 5, "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    with pytest.raises(InvalidRequestError, match=r"^messages\.0\.content\.0\.title: Input should be a valid string"):
        parse_count_tokens_params({"model": "m", "messages": [{"role": "user", "content": [document]}]})


GOOD_BODIES = [
    pytest.param({**GOOD_PARAMS, "max_tokens": 0}, id="max_tokens 0 outside batches (cache pre-warm)"),
    pytest.param(
        {
            **GOOD_PARAMS,
            "system": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
            "messages": [
                {"role": "system", "content": "a system message mid-conversation"},
                {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": "sig"},
                        {"type": "text", "text": "ok", "citations": None},
                        {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": [1, {"b": None}]}, "caller": None},
                    ],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "done"}]},
            ],
            "thinking": {"type": "adaptive"},
            "output_config": {"effort": "high", "format": {"type": "json_schema", "schema": {"type": "object"}}},
            "cache_control": {"type": "ephemeral"},
            "tools": [
                {"name": "f", "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search"},
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": True},
            "temperature": 1,
            "top_k": 5,
            "metadata": {"user_id": "u"},
            "container": "container_1",
            "service_tier": "auto",
        },
        id="what Claude Code and the newest SDK send",
    ),
    pytest.param(
        {**GOOD_PARAMS, "mcp_servers": [{"type": "url", "url": "https://x"}], "context_management": {"edits": []}},
        id="unknown (beta) top-level fields",
    ),
    pytest.param(with_content({"type": "mcp_tool_use", "id": "x", "anything": [1]}), id="a block of an unknown type"),
    pytest.param(
        {**GOOD_PARAMS, "tools": [{"type": "computer_20250124", "name": "c"}]}, id="a tool of an unknown type"
    ),
    pytest.param({**GOOD_PARAMS, "thinking": {"type": "future_mode"}}, id="a thinking mode of an unknown type"),
    pytest.param(with_content({"type": "text", "text": "x", "future_field": {"x": 1}}), id="unknown key in a block"),
]


@pytest.mark.parametrize("body", GOOD_BODIES)
def test_good_bodies_pass_unchanged(body: dict[str, Any]) -> None:
    before = copy.deepcopy(body)
    assert parse_message_params(body) is body
    assert body == before
