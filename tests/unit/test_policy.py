"""The field policy as ``core`` applies it: which request features each provider (and Bedrock model family) refuses,
with a 400 that names the field and the provider, and what passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.params import parse_count_tokens_params, parse_message_params
from finops.core.policy import column_for, enforce_batch_policy, enforce_policy

GPT = ("openai", "gpt-4o-mini")
GEMINI = ("gemini", "gemini-2.5-flash")
CLAUDE = ("anthropic", "claude-sonnet-4-5")
BEDROCK_CLAUDE = ("bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0")
NOVA = ("bedrock", "amazon.nova-lite-v1:0")
LLAMA = ("bedrock", "meta.llama3-1-8b-instruct-v1:0")
MISTRAL = ("bedrock", "mistral.mistral-large-2402-v1:0")

TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="}


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], **fields}


def turn(role: str, *blocks: Any) -> dict[str, Any]:
    return body(messages=[{"role": "user", "content": "hi"}, {"role": role, "content": list(blocks)}])


@dataclass(frozen=True)
class Case:
    id: str
    body: dict[str, Any]
    target: tuple[str, str]
    message: str = ""
    """The start of the refusal; empty when the request passes."""


CASES = [
    Case(
        "structured output on openai is translated",
        body(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
        GPT,
    ),
    Case(
        "structured output on gemini is translated",
        body(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
        GEMINI,
    ),
    Case("effort on Nova (one effort level)", body(output_config={"effort": "high"}), NOVA),
    Case(
        "structured output on Llama",
        body(output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}}),
        LLAMA,
        "output_config.format: not supported by provider 'bedrock' (model meta.llama3-1-8b-instruct-v1:0)",
    ),
    Case(
        "thinking enabled on Llama",
        body(thinking={"type": "enabled", "budget_tokens": 2048}),
        LLAMA,
        "thinking.type: type 'enabled' is not supported by provider 'bedrock'",
    ),
    Case("adaptive thinking on Llama answers without thinking", body(thinking={"type": "adaptive"}), LLAMA),
    Case("effort null asks nothing", body(output_config={"effort": None}), NOVA),
    Case("adaptive thinking on openai", body(thinking={"type": "adaptive"}), GPT),
    Case(
        "thinking between tools on openai",
        body(thinking={"type": "between_tools"}),
        GPT,
        "thinking.type: type 'between_tools' is not supported by provider 'openai' (model gpt-4o-mini)",
    ),
    Case("adaptive thinking on gemini", body(thinking={"type": "adaptive"}), GEMINI),
    Case("thinking disabled on openai", body(thinking={"type": "disabled"}), GPT),
    Case("thinking shown as summaries on gemini", body(thinking={"type": "adaptive", "display": "summarized"}), GEMINI),
    Case("thinking omitted on gemini", body(thinking={"type": "adaptive", "display": "omitted"}), GEMINI),
    Case("thinking between tools on gemini", body(thinking={"type": "between_tools"}), GEMINI),
    Case("an effort on gemini", body(output_config={"effort": "low"}), GEMINI),
    Case(
        "a system message mid-conversation on gemini",
        body(
            messages=[
                {"role": "user", "content": "hi"},
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "be brief", "cache_control": {"type": "ephemeral"}}],
                },
                {"role": "user", "content": "and now?"},
            ]
        ),
        GEMINI,
    ),
    Case(
        "a system message on openai",
        body(messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]),
        GPT,
    ),
    Case(
        "a system message on Claude through Bedrock",
        body(messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]),
        BEDROCK_CLAUDE,
    ),
    Case("top_k on openai", body(top_k=5), GPT, "top_k: not supported by provider 'openai' (model gpt-4o-mini)"),
    Case("top_k on Llama", body(top_k=5), LLAMA, "top_k: not supported by provider 'bedrock' (model meta.llama3"),
    Case("top_k on Mistral", body(top_k=5), MISTRAL),
    Case("top_k on Nova", body(top_k=5), NOVA),
    Case(
        "one tool call per turn on gemini",
        body(tools=[TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
        GEMINI,
        "tool_choice.disable_parallel_tool_use: not supported by provider 'gemini'",
    ),
    Case(
        "parallel tool calls allowed on gemini",
        body(tools=[TOOL], tool_choice={"type": "any", "disable_parallel_tool_use": False}),
        GEMINI,
    ),
    Case(
        "one tool call per turn on openai",
        body(tools=[TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}),
        GPT,
    ),
    Case(
        "a server tool on openai",
        body(tools=[TOOL, {"type": "web_fetch_20250910", "name": "web_fetch", "max_uses": 3}]),
        GPT,
        "tools.1: tool type 'web_fetch_20250910' is not supported by provider 'openai'",
    ),
    Case(
        "a server tool on Claude through Bedrock",
        body(tools=[{"type": "bash_20250124", "name": "bash"}]),
        BEDROCK_CLAUDE,
    ),
    Case("a strict tool on Nova", body(tools=[{**TOOL, "strict": True}]), NOVA),
    Case(
        "citations asked of a document on Nova",
        turn("user", {"type": "document", "source": PDF, "citations": {"enabled": True}}),
        NOVA,
        "messages.1.content.0.citations: not supported by provider 'bedrock' (model amazon.nova-lite-v1:0)",
    ),
    Case("a non-strict tool on Nova", body(tools=[{**TOOL, "strict": False, "description": "d"}]), NOVA),
    Case(
        "a document title on openai",
        turn("user", {"type": "document", "title": "Report", "source": PDF}),
        GPT,
    ),
    Case(
        "a document title and context on gemini",
        turn("user", {"type": "document", "title": "Report", "context": "Q3", "source": PDF}),
        GEMINI,
    ),
    Case("a document title on Nova", turn("user", {"type": "document", "title": "Report", "source": PDF}), NOVA),
    Case(
        "citations asked of a document on openai",
        turn("user", {"type": "document", "source": PDF, "citations": {"enabled": True}}),
        GPT,
        "messages.1.content.0.citations: not supported by provider 'openai'",
    ),
    Case(
        "citations switched off on openai",
        turn("user", {"type": "document", "source": PDF, "citations": {"enabled": False}}),
        GPT,
    ),
    Case(
        "an image by file ID on openai, with advice",
        turn("user", {"type": "image", "source": {"type": "file", "file_id": "file_1"}}),
        GPT,
        "messages.1.content.0.source: source type 'file' is not supported by provider 'openai' (model gpt-4o-mini); "
        "OpenAI takes uploaded files only as documents",
    ),
    # Bedrock files are S3 objects the adapter inlines (or hands Nova as s3Location): the policy lets them through.
    Case(
        "an image by file ID on Claude through Bedrock",
        turn("user", {"type": "image", "source": {"type": "file", "file_id": "file_1"}}),
        BEDROCK_CLAUDE,
    ),
    Case(
        "an image by URL on openai", turn("user", {"type": "image", "source": {"type": "url", "url": "https://x"}}), GPT
    ),
    Case(
        "an image in an assistant turn on openai",
        turn("assistant", {"type": "image", "source": {"type": "url", "url": "https://x"}}),
        GPT,
        "messages.1.content.0: content block type 'image' is not supported by provider 'openai'",
    ),
    Case(
        "a search result inside a tool result on openai",
        turn(
            "user",
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "search_result", "source": "s", "title": "t", "content": []}],
            },
        ),
        GPT,
    ),
    Case(
        "search result citations inside a tool result on openai",
        turn(
            "user",
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [
                    {
                        "type": "search_result",
                        "source": "s",
                        "title": "t",
                        "content": [],
                        "citations": {"enabled": True},
                    }
                ],
            },
        ),
        GPT,
        "messages.1.content.0.content.0.citations: not supported by provider 'openai' (model gpt-4o-mini)",
    ),
    Case(
        "a search result inside a tool result on gemini",
        turn(
            "user",
            {
                "type": "tool_result",
                "tool_use_id": "t",
                "content": [{"type": "search_result", "source": "s", "title": "t", "content": []}],
            },
        ),
        GEMINI,
    ),
    Case(
        "citations asked of a search result on gemini",
        turn(
            "user",
            {"type": "search_result", "source": "s", "title": "t", "content": [], "citations": {"enabled": True}},
        ),
        GEMINI,
        "messages.1.content.0.citations: not supported by provider 'gemini' (model gemini-2.5-flash); Gemini cites no",
    ),
    Case(
        "a web search and Google's code execution on gemini",
        body(
            tools=[
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                {"type": "code_execution_20250522", "name": "code_execution"},
            ]
        ),
        GEMINI,
    ),
    Case(
        "a web fetch on gemini",
        body(tools=[{"type": "web_fetch_20250910", "name": "web_fetch"}]),
        GEMINI,
        "tools.0: tool type 'web_fetch_20250910' is not supported by provider 'gemini' (model gemini-2.5-flash); "
        "Gemini's `url_context`",
    ),
    Case(
        "an image inside a document built from blocks on Nova (beside the document)",
        turn(
            "user",
            {
                "type": "document",
                "source": {
                    "type": "content",
                    "content": [{"type": "image", "source": PDF | {"media_type": "image/png"}}],
                },
            },
        ),
        NOVA,
    ),
    Case(
        "earlier thinking in an assistant turn on openai is dropped",
        turn("assistant", {"type": "thinking", "thinking": "hm", "signature": "s"}, {"type": "text", "text": "ok"}),
        GPT,
    ),
    Case(
        "a tool call by code execution on gemini",
        turn(
            "assistant",
            {
                "type": "tool_use",
                "id": "t",
                "name": "f",
                "input": {},
                "caller": {"type": "code_execution_20250825", "tool_id": "c"},
            },
        ),
        GEMINI,
        "messages.1.content.0.caller: not supported by provider 'gemini'",
    ),
    Case(
        "a direct tool call on gemini",
        turn("assistant", {"type": "tool_use", "id": "t", "name": "f", "input": {}, "caller": {"type": "direct"}}),
        GEMINI,
    ),
    Case(
        "a field the gateway does not know, in a block",
        turn("user", {"type": "text", "text": "x", "priority": "high"}),
        GPT,
        "messages.1.content.0.priority: not supported by provider 'openai' (model gpt-4o-mini); the gateway does not",
    ),
    Case("a null field the gateway does not know", turn("user", {"type": "text", "text": "x", "priority": None}), GPT),
    Case("a beta top-level field on gemini", body(mcp_servers=[{"type": "url"}]), GEMINI, "mcp_servers: not supported"),
    Case("a beta top-level field on anthropic", body(mcp_servers=[{"type": "url"}]), CLAUDE),
    Case("a block type the gateway does not know on anthropic", turn("user", {"type": "mcp_tool_result"}), CLAUDE),
    Case(
        "a block type the gateway does not know on Nova",
        turn("user", {"type": "mcp_tool_result"}),
        NOVA,
        "messages.1.content.0: content block type 'mcp_tool_result' is not supported by provider 'bedrock'",
    ),
    Case(
        "what changes no answer is ignored everywhere",
        body(
            metadata={"user_id": "u"},
            cache_control={"type": "ephemeral"},
            service_tier="auto",
            speed="fast",
            diagnostics={"previous_message_id": "msg_1"},
            system=[{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
        ),
        LLAMA,
    ),
    Case("data residency is not dropped", body(inference_geo="eu"), GEMINI, "inference_geo: not supported by"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_the_policy_refuses_only_what_a_provider_cannot_keep(case: Case) -> None:
    params = parse_message_params(case.body)
    provider, model = case.target
    if not case.message:
        enforce_policy(params, provider, model)
        return
    with pytest.raises(InvalidRequestError) as excinfo:
        enforce_policy(params, provider, model)
    assert excinfo.value.status_code == 400
    assert str(excinfo.value).startswith(case.message), str(excinfo.value)
    assert "to do" not in str(excinfo.value)  # the table's notes to engineers stay out of the caller's error


def test_anthropic_refuses_nothing() -> None:
    for case in CASES:
        enforce_policy(parse_message_params(case.body), "anthropic", "claude-sonnet-4-5")


def test_batch_requests_are_named_by_their_position() -> None:
    params = parse_message_params(body(top_k=3))
    with pytest.raises(InvalidRequestError, match=r"^requests\.7\.params\.top_k: not supported by provider 'openai'"):
        enforce_policy(params, "openai", "gpt-4o", where="requests.7.params.")


def test_batch_fields_beside_the_requests() -> None:
    enforce_batch_policy({"requests": [], "workspace_id": "w"}, "openai")
    with pytest.raises(InvalidRequestError, match=r"^priority: not supported by provider 'gemini'"):
        enforce_batch_policy({"requests": [], "priority": 1}, "gemini")


def test_count_tokens_bodies_are_judged_alike() -> None:
    params = parse_count_tokens_params({"model": "m", "messages": [{"role": "user", "content": "hi"}], "top_k": 2})
    with pytest.raises(InvalidRequestError, match=r"^top_k: not supported by provider 'openai'"):
        enforce_policy(params, "openai", "gpt-4o")


@pytest.mark.parametrize(
    ("provider", "model", "column"),
    [
        ("anthropic", "claude-sonnet-4-5", "anthropic"),
        ("openai", "o3", "openai"),
        ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", "bedrock/claude"),
        (
            "bedrock",
            "arn:aws:bedrock:us-east-1:1:inference-profile/eu.anthropic.claude-sonnet-4-v1:0",
            "bedrock/claude",
        ),
        ("bedrock", "us.amazon.nova-pro-v1:0", "bedrock/nova"),
        ("bedrock", "meta.llama3-1-70b-instruct-v1:0", "bedrock/llama"),
        ("bedrock", "mistral.mistral-large-2402-v1:0", "bedrock/mistral"),
        ("bedrock", "cohere.command-r-v1:0", "bedrock/cohere"),
        ("bedrock", "deepseek.r1-v1:0", "bedrock/other"),
    ],
)
def test_bedrock_models_are_judged_by_api_and_family(provider: str, model: str, column: str) -> None:
    assert column_for(provider, model) == column
