from __future__ import annotations

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.routing import provider_from_header, split_model


@pytest.mark.parametrize(
    ("header", "expected"),
    [(None, "anthropic"), ("", "anthropic"), ("openai", "openai"), (" Gemini ", "gemini"), ("bedrock", "bedrock")],
)
def test_provider_header(header: str | None, expected: str) -> None:
    assert provider_from_header(header) == expected


def test_unknown_provider_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidRequestError, match="valid values are anthropic, openai, gemini, bedrock"):
        provider_from_header("azure")


@pytest.mark.parametrize(
    ("header", "model", "expected"),
    [
        ("anthropic", "openai/gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("openai", "claude-3-haiku", ("openai", "claude-3-haiku")),
        (
            "bedrock",
            "arn:aws:bedrock:us-east-1::foundation-model/x",
            ("bedrock", "arn:aws:bedrock:us-east-1::foundation-model/x"),
        ),
        ("anthropic", "somevendor/model", ("anthropic", "somevendor/model")),
    ],
)
def test_provider_prefix_in_model(header: str, model: str, expected: tuple[str, str]) -> None:
    assert split_model(header, model) == expected
