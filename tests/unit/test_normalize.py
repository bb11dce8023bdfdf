"""``core.normalize``: Claude Code's Anthropic-only features, resolved once for every provider but Anthropic, so
the translators never meet them. Bodies are the ones Claude Code 2.1.332 sends (captured through the gateway),
cut down to the parts that matter."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from finops.core.errors import InvalidRequestError
from finops.core.normalize import TOOL_LOADED, normalize
from finops.core.params import parse_message_params
from finops.core.params.billing import is_billing_block
from finops.core.policy import ROWS, enforce_policy, features
from finops.core.policy.rules import ANTHROPIC, BEDROCK_CLAUDE, BEDROCK_NOVA, GEMINI, OPENAI
from finops.core.types import JSON

TRANSLATED = (OPENAI, GEMINI, BEDROCK_NOVA)
BILLING = "x-anthropic-billing-header: cc_version=2.1.332.bf1; cc_entrypoint=sdk-cli;"
USER_ID = (
    '{"device_id":"f39a7653cb431c10a2cebf4aac1626ad6625ad930d0d275b8a8d9035b604a993","account_uuid":"",'
    '"session_id":"53368187-837d-4c04-8644-64fc7bd83280"}'
)
READ = {"name": "Read", "description": "Reads a file", "input_schema": {"type": "object"}}
PLACEHOLDER = {
    "name": "DeferredToolPlaceholder",
    "description": "Reserved placeholder that keeps deferred tool loading active; never call this tool.",
    "input_schema": {"type": "object", "properties": {}},
    "defer_loading": True,
}
WEB_FETCH = {"name": "WebFetch", "description": "Fetches a URL", "input_schema": {"type": "object"}}


def claude_code_body(**extra: Any) -> JSON:
    body: JSON = {
        "model": "gpt-4o-mini",
        "max_tokens": 32000,
        "system": [
            {"type": "text", "text": BILLING},
            {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Read notes.txt"}]}],
        "tools": [READ, PLACEHOLDER],
        "metadata": {"user_id": USER_ID},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "stream": True,
    }
    body.update(extra)
    parse_message_params(body)
    return body


def tool_search_turns() -> list[JSON]:
    """The model called ToolSearch; Claude Code answers with a reference to WebFetch, which joins ``tools``."""
    return [
        {"role": "user", "content": "Fetch example.com"},
        {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "ToolSearch", "input": {"query": "select:WebFetch"}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_1",
                    "content": [
                        {"type": "tool_reference", "tool_name": "WebFetch", "cache_control": {"type": "ephemeral"}}
                    ],
                }
            ],
        },
    ]


# -- the billing block ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("column", [*TRANSLATED, BEDROCK_CLAUDE])
def test_the_billing_block_is_left_out_for_every_provider_but_anthropic(column: str) -> None:
    body = claude_code_body()
    sent = normalize(body, column)
    assert sent["system"] == [
        {"type": "text", "text": "You are a Claude agent.", "cache_control": {"type": "ephemeral"}}
    ]
    assert body["system"][0]["text"] == BILLING  # the client's dict is not changed in place


def test_anthropic_gets_the_body_as_sent() -> None:
    body = claude_code_body()
    assert normalize(body, ANTHROPIC) is body


def test_a_system_of_only_the_billing_block_goes_away() -> None:
    body = claude_code_body(system=[{"type": "text", "text": BILLING}])
    assert "system" not in normalize(body, OPENAI)


@pytest.mark.parametrize(
    "text",
    [
        "x-anthropic-billing-header: cc_version=2.1.332.bf1; cc_entrypoint=sdk-cli;",
        "x-anthropic-billing-header: cc_version=2.1.332.a0c; cc_entrypoint=sdk-cli; cc_is_subagent=true;",
        "x-anthropic-billing-header: cc_version=2.1.117.48f; cc_entrypoint=cli; cch=71fea;",
    ],
)
def test_what_counts_as_the_billing_block(text: str) -> None:
    assert is_billing_block({"type": "text", "text": text})


@pytest.mark.parametrize(
    "block",
    [
        {"type": "text", "text": "Explain what x-anthropic-billing-header: cc_version=1; means"},
        {"type": "text", "text": f"{BILLING}\nYou are a Claude agent."},
        {"type": "text", "text": BILLING, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "x-anthropic-billing-header:"},
    ],
    ids=["mentioned in a prompt", "followed by prompt text", "a cache breakpoint of the caller's", "no pairs"],
)
def test_prompt_text_is_never_taken_for_the_billing_block(block: JSON) -> None:
    assert not is_billing_block(block)
    body = claude_code_body(system=[block])
    assert normalize(body, OPENAI)["system"] == [block]


# -- context_management ---------------------------------------------------------------------------------------------


def thinking_history() -> list[JSON]:
    def turn(n: int) -> list[JSON]:
        return [
            {"role": "user", "content": f"question {n}"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": f"thought {n}", "signature": "sig"},
                    {"type": "text", "text": f"answer {n}"},
                ],
            },
        ]

    return [*turn(1), *turn(2), *turn(3), {"role": "user", "content": "question 4"}]


def thoughts(body: JSON) -> list[str]:
    return [
        block["thinking"]
        for message in body["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
        if block["type"] == "thinking"
    ]


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        ("all", ["thought 1", "thought 2", "thought 3"]),
        ({"type": "all"}, ["thought 1", "thought 2", "thought 3"]),
        (None, ["thought 3"]),  # Anthropic's default: the last thinking turn
        ({"type": "thinking_turns", "value": 2}, ["thought 2", "thought 3"]),
        ({"type": "thinking_turns", "value": 0}, []),
    ],
)
def test_clear_thinking_is_applied_as_anthropic_applies_it(keep: Any, kept: list[str]) -> None:
    edit: JSON = {"type": "clear_thinking_20251015"} | ({} if keep is None else {"keep": keep})
    body = claude_code_body(messages=thinking_history(), context_management={"edits": [edit]})
    sent = normalize(body, GEMINI)
    assert "context_management" not in sent
    assert thoughts(sent) == kept
    assert [m["content"] for m in sent["messages"] if m["role"] == "user"][-1] == "question 4"
    assert len(thoughts(body)) == 3  # not in place


def test_a_turn_that_only_thought_goes_away_with_its_thinking() -> None:
    messages = [
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm", "signature": "s"}]},
        {"role": "user", "content": "two"},
    ]
    edit = {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": 0}}
    sent = normalize(claude_code_body(messages=messages, context_management={"edits": [edit]}), OPENAI)
    assert [m["role"] for m in sent["messages"]] == ["user", "user"]


def test_a_bad_keep_is_a_400() -> None:
    edit = {"type": "clear_thinking_20251015", "keep": {"type": "thinking_turns", "value": "two"}}
    with pytest.raises(InvalidRequestError, match=r"keep\.value"):
        normalize(claude_code_body(context_management={"edits": [edit]}), OPENAI)


@pytest.mark.parametrize("column", ["openai", "gemini", "bedrock"])
@pytest.mark.parametrize(
    ("edit", "kind"),
    [
        ({"type": "clear_tool_uses_20250919", "trigger": {"type": "input_tokens", "value": 30000}}, "clear_tool_uses"),
        ({"type": "compact_20260112"}, "compact"),
        ({"type": "clear_everything_20990101"}, "clear_everything"),
    ],
)
def test_edits_only_anthropic_can_make_are_refused(column: str, edit: JSON, kind: str) -> None:
    model = {"openai": "gpt-4o-mini", "gemini": "gemini-2.5-flash", "bedrock": "amazon.nova-lite-v1:0"}[column]
    body = claude_code_body(model=model, context_management={"edits": [{"type": "clear_thinking_20251015"}, edit]})
    with pytest.raises(InvalidRequestError) as refused:
        enforce_policy(body, column, model)
    assert str(refused.value).startswith(
        f"context_management.edits.1.type: edit type '{edit['type']}' is not supported by provider '{column}'"
    ), kind
    enforce_policy(body, "anthropic", "claude-opus-5-5")  # Anthropic makes them itself


# -- deferred tools and tool references ------------------------------------------------------------------------------


@pytest.mark.parametrize("column", TRANSLATED)
def test_a_deferred_tool_is_not_shown_until_a_tool_reference_loads_it(column: str) -> None:
    first = normalize(claude_code_body(), column)
    assert first["tools"] == [READ]  # the placeholder is never shown

    deferred_fetch = {**WEB_FETCH, "defer_loading": True}
    body = claude_code_body(messages=tool_search_turns(), tools=[READ, PLACEHOLDER, deferred_fetch])
    sent = normalize(body, column)
    assert sent["tools"] == [READ, WEB_FETCH]  # loaded, and without the flag
    result = sent["messages"][2]["content"][0]
    assert result["content"] == [
        {"type": "text", "text": TOOL_LOADED.format(name="WebFetch"), "cache_control": {"type": "ephemeral"}}
    ]
    assert body["messages"][2]["content"][0]["content"][0]["type"] == "tool_reference"  # not in place


def test_a_reference_to_a_tool_claude_code_sends_in_full_becomes_text_too() -> None:
    body = claude_code_body(messages=tool_search_turns(), tools=[READ, WEB_FETCH])
    sent = normalize(body, OPENAI)
    assert sent["tools"] == [READ, WEB_FETCH]
    assert sent["messages"][2]["content"][0]["content"][0]["text"] == "Tool WebFetch is loaded and can be called now."


def test_a_forced_deferred_tool_is_shown() -> None:
    body = claude_code_body(
        tools=[READ, {**WEB_FETCH, "defer_loading": True}], tool_choice={"type": "tool", "name": "WebFetch"}
    )
    body.pop("context_management")
    assert normalize(body, OPENAI)["tools"] == [READ, WEB_FETCH]


def test_only_deferred_tools_leave_no_tools_and_no_auto_choice() -> None:
    body = claude_code_body(tools=[PLACEHOLDER], tool_choice={"type": "auto"})
    sent = normalize(body, GEMINI)
    assert "tools" not in sent and "tool_choice" not in sent


def test_claude_on_bedrock_keeps_the_anthropic_features() -> None:
    body = claude_code_body(model="us.anthropic.claude-sonnet-4-20250514-v1:0", messages=tool_search_turns())
    sent = normalize(body, BEDROCK_CLAUDE)
    assert sent["tools"] == body["tools"] and sent["messages"] == body["messages"]
    assert sent["context_management"] == body["context_management"] and sent["metadata"] == body["metadata"]


# -- metadata ---------------------------------------------------------------------------------------------------------


def test_a_long_end_user_id_goes_upstream_as_its_digest() -> None:
    sent = normalize(claude_code_body(), OPENAI)
    assert sent["metadata"] == {"user_id": hashlib.sha256(USER_ID.encode()).hexdigest()}
    assert len(sent["metadata"]["user_id"]) == 64


def test_a_short_end_user_id_goes_as_it_is() -> None:
    assert normalize(claude_code_body(metadata={"user_id": "user-42"}), OPENAI)["metadata"] == {"user_id": "user-42"}


def test_a_body_without_claude_codes_features_is_the_same_dict() -> None:
    body = {"model": "gpt-4o-mini", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}
    before = copy.deepcopy(body)
    assert normalize(body, OPENAI) is body and body == before


# -- system messages shown for one turn -------------------------------------------------------------------------------


def test_a_system_message_for_one_turn_goes_once_a_later_user_turn_exists() -> None:
    once = {"role": "system", "content": "Answer in French this time.", "clear_at": "next_user_message"}
    always = {"role": "system", "content": "Be brief.", "clear_at": "never"}
    messages = [
        {"role": "user", "content": "Hello"},
        once,
        always,
        {"role": "assistant", "content": "Bonjour"},
        {"role": "user", "content": "And now?"},
    ]
    sent = normalize(claude_code_body(messages=messages), GEMINI)
    assert [message["content"] for message in sent["messages"] if message["role"] == "system"] == ["Be brief."]
    assert all("clear_at" not in message for message in sent["messages"])
    current = normalize(claude_code_body(messages=messages[:2]), OPENAI)  # its own turn: shown
    assert current["messages"][1] == {"role": "system", "content": "Answer in French this time."}


def test_a_system_messages_effort_is_the_requests_from_that_turn_on() -> None:
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "system", "content": [{"type": "text", "text": "# Environment"}], "output_config": {"effort": "low"}},
        {"role": "assistant", "content": "Hi"},
        {"role": "system", "content": "Think harder now.", "output_config": {"effort": "max"}},
        {"role": "user", "content": "Prove it."},
    ]
    body = claude_code_body(messages=messages, output_config={"effort": "medium", "format": None})
    sent = normalize(body, OPENAI)
    assert sent["output_config"] == {"effort": "max", "format": None}
    assert all("output_config" not in message for message in sent["messages"])
    assert normalize(claude_code_body(messages=messages[:2]), GEMINI)["output_config"] == {"effort": "low"}


def test_a_system_messages_effort_is_judged_as_the_requests() -> None:
    system = {"role": "system", "content": "Think.", "output_config": {"effort": "high"}}
    body = claude_code_body(messages=[{"role": "user", "content": "Hi"}, system])
    found = {(feature.key, feature.path) for feature in features(body)}
    assert ("output_config.effort", "messages.1.output_config.effort") in found
    assert not any(key == "message.output_config" for key, _ in found)
    for column, rule in ROWS["message.output_config"].rules.items():
        assert rule.decision is ROWS["output_config.effort"].rules[column].decision, column
