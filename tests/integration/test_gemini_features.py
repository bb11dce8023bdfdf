"""Issue-12 mappings on the Gemini provider, end to end: the official Anthropic SDK against the gateway in front of
the Gemini emulator. Structured output validated with ``jsonschema``, thinking signatures through a tool round
trip, Google Search grounding with citations, Python code execution, Anthropic's client tools, system messages
mid-conversation, and implicit cache reads on a repeat, priced as cache reads in the ledger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import anthropic
import jsonschema
import pytest

from finops.emulators.gemini.app import create_app as gemini_app
from tests.support.emulator import EmulatorHandle
from tests.support.governance import create_key, expected_price, governed_gateway, key_row, wait_for
from tests.support.servers import serve_in_thread

FLASH = "gemini-2.5-flash"
SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
CODE_TOOL = {"type": "code_execution_20250522", "name": "code_execution"}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "number"},
        "conditions": {"type": "string", "enum": ["sunny", "cloudy", "rain", "snow"]},
    },
    "required": ["city", "temperature_c", "conditions"],
    "additionalProperties": False,
}
LONG_SYSTEM = "\n".join(f"Rule {n}: answer politely, cite the rule you applied, keep it short." for n in range(300))


@pytest.fixture(scope="module")
def gemini_url() -> Iterator[str]:
    with serve_in_thread(gemini_app()) as url:
        yield url


@pytest.fixture
def gateway(gemini_url: str, sqlite_url: str) -> Iterator[str]:
    providers = {"gemini": {"api_key": "gemini-upstream-key", "base_url": gemini_url}}
    with governed_gateway(EmulatorHandle(gemini_url), sqlite_url, providers=providers) as base:
        yield base


@pytest.fixture
def key(gateway: str) -> dict[str, Any]:
    return create_key(gateway, "gemini-features")


@pytest.fixture
def sdk(gateway: str, key: dict[str, Any]) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=f"{gateway}/anthropic",
        api_key=key["key"],
        max_retries=0,
        default_headers={"x-model-provider": "gemini"},
    )


def answer(sdk: anthropic.Anthropic, stream: bool, **request: Any) -> anthropic.types.Message:
    if not stream:
        return sdk.messages.create(**request)
    with sdk.messages.stream(**request) as events:
        return events.get_final_message()


def text_of(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def replayed(message: anthropic.types.Message) -> list[dict[str, Any]]:
    """The assistant's blocks as a client sends them back."""
    return [block.model_dump(exclude_none=True) for block in message.content]


STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])


@STREAMS
@pytest.mark.parametrize("model", [FLASH, "gemini-2.0-flash"], ids=["json_schema", "openapi_subset"])
def test_structured_output_is_json_valid_against_the_schema(sdk: anthropic.Anthropic, stream: bool, model: str) -> None:
    message = answer(
        sdk,
        stream,
        model=model,
        max_tokens=512,
        messages=[{"role": "user", "content": "Describe the weather in Paris today."}],
        output_config={"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}},
    )
    assert message.stop_reason == "end_turn"
    jsonschema.validate(json.loads(text_of(message)), WEATHER_SCHEMA)


@STREAMS
@pytest.mark.parametrize(
    ("model", "thinking", "output_config"),
    [
        (FLASH, {"type": "enabled", "budget_tokens": 2048}, None),
        ("gemini-3-pro-preview", {"type": "adaptive"}, {"effort": "low"}),
        ("gemini-3-flash-preview", {"type": "enabled", "budget_tokens": 10000}, None),
    ],
    ids=["2.5_budget", "3_pro_effort_level", "3_flash_budget_level"],
)
def test_thinking_signatures_survive_a_tool_round_trip(
    sdk: anthropic.Anthropic, stream: bool, model: str, thinking: dict[str, Any], output_config: dict[str, Any] | None
) -> None:
    question = {"role": "user", "content": "What is the weather in Paris? Use get_weather."}
    request: dict[str, Any] = {"model": model, "max_tokens": 4096, "thinking": thinking, "tools": [WEATHER_TOOL]}
    if output_config:
        request["output_config"] = output_config
    first = answer(sdk, stream, messages=[question], **request)
    assert first.content[0].type == "thinking" and first.content[0].thinking and first.stop_reason == "tool_use"
    assert first.usage.output_tokens_details is not None and first.usage.output_tokens_details.thinking_tokens > 0
    (call,) = [block for block in first.content if block.type == "tool_use"]
    # Gemini signs the function call itself; its signature rides in the tool_use id, and Gemini refuses a later
    # turn whose function call lost it (the emulator too): the answer below proves the signature came back.
    assert call.id.startswith("toolu_gsig_")
    second = answer(
        sdk,
        stream,
        messages=[
            question,
            {"role": "assistant", "content": replayed(first)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "18 C, sunny"}]},
        ],
        **request,
    )
    assert second.stop_reason == "end_turn" and "18 C, sunny" in text_of(second)


def test_display_omitted_thinks_without_showing_it(sdk: anthropic.Anthropic) -> None:
    message = sdk.messages.create(
        model=FLASH,
        max_tokens=2048,
        thinking={"type": "enabled", "budget_tokens": 1024, "display": "omitted"},
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
    )
    assert [block.type for block in message.content] == ["text"]
    assert message.usage.output_tokens_details is not None and message.usage.output_tokens_details.thinking_tokens > 0


def test_effort_on_a_model_that_does_not_think_is_a_clear_400(sdk: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(
            model="gemini-2.0-flash",
            max_tokens=64,
            output_config={"effort": "low"},
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "output_config.effort: gemini-2.0-flash does not think" in refused.value.message


@STREAMS
def test_web_search_is_grounded_with_citations(sdk: anthropic.Anthropic, stream: bool) -> None:
    question = {"role": "user", "content": "Search the web for the latest Gemini news"}
    message = answer(sdk, stream, model=FLASH, max_tokens=1024, tools=[SEARCH_TOOL], messages=[question])
    kinds = [block.type for block in message.content]
    assert kinds[:2] == ["server_tool_use", "web_search_tool_result"], kinds
    search, results = message.content[0], message.content[1]
    assert search.type == "server_tool_use" and search.name == "web_search"
    assert search.input == {"query": "the latest Gemini news"}
    assert results.type == "web_search_tool_result" and results.tool_use_id == search.id
    assert isinstance(results.content, list) and len(results.content) == 3
    urls = {result.url for result in results.content}
    cited = [c for block in message.content if block.type == "text" for c in block.citations or []]
    assert cited and all(c.type == "web_search_result_location" and c.url in urls for c in cited)
    assert all(c.cited_text and c.cited_text in text_of(message) for c in cited)
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1

    follow_up = sdk.messages.create(
        model=FLASH,
        max_tokens=256,
        tools=[SEARCH_TOOL],
        messages=[
            question,
            {"role": "assistant", "content": replayed(message)},
            {"role": "user", "content": "Thanks!"},
        ],
    )
    assert follow_up.stop_reason == "end_turn" and text_of(follow_up)


def test_web_search_beside_function_tools_is_a_clear_400(sdk: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(
            model=FLASH, max_tokens=64, tools=[SEARCH_TOOL, WEATHER_TOOL], messages=[{"role": "user", "content": "hi"}]
        )
    assert "Gemini cannot combine its server tools" in refused.value.message


@STREAMS
def test_code_execution_blocks(sdk: anthropic.Anthropic, stream: bool) -> None:
    message = answer(
        sdk,
        stream,
        model=FLASH,
        max_tokens=1024,
        tools=[CODE_TOOL],
        messages=[{"role": "user", "content": "Calculate 17 * 23 with Python code."}],
    )
    use, result, *_ = message.content
    assert use.type == "server_tool_use" and use.name == "code_execution" and use.input == {"code": "print(17 * 23)"}
    assert result.type == "code_execution_tool_result" and result.tool_use_id == use.id
    assert result.content.type == "code_execution_result" and result.content.stdout == "391\n"
    assert result.content.return_code == 0 and "391" in text_of(message)


def test_anthropic_client_tool_keeps_its_name_through_a_round_trip(sdk: anthropic.Anthropic) -> None:
    tools = [{"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"}]
    question = {"role": "user", "content": "View the text file /tmp/notes.txt please."}
    first = sdk.messages.create(model=FLASH, max_tokens=512, tools=tools, messages=[question])
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert call.name == "str_replace_based_edit_tool"
    assert call.input == {"command": "view", "path": "/tmp/notes.txt"}
    second = sdk.messages.create(
        model=FLASH,
        max_tokens=512,
        tools=tools,
        messages=[
            question,
            {"role": "assistant", "content": replayed(first)},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "notes.txt"}]},
        ],
    )
    assert "notes.txt" in text_of(second)


@STREAMS
def test_system_messages_mid_conversation_instruct_without_being_the_question(
    sdk: anthropic.Anthropic, stream: bool
) -> None:
    message = answer(
        sdk,
        stream,
        model=FLASH,
        max_tokens=256,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {"role": "system", "content": "From now on, answer in French."},
            {"role": "user", "content": "What is 2 + 2?"},
        ],
    )
    assert message.stop_reason == "end_turn" and "2 + 2 = 4" in text_of(message)

    last = answer(
        sdk,
        stream,
        model=FLASH,
        max_tokens=256,
        messages=[
            {"role": "user", "content": "What is 3 + 3?"},
            {"role": "assistant", "content": "6."},
            {"role": "system", "content": [{"type": "text", "text": "The user prefers short answers."}]},
        ],
    )
    assert last.stop_reason == "end_turn" and text_of(last)


def test_cache_reads_on_a_repeat_are_priced_as_cache_reads(
    sdk: anthropic.Anthropic, gateway: str, key: dict[str, Any]
) -> None:
    system = [{"type": "text", "text": f"Run {key['id']}.\n{LONG_SYSTEM}", "cache_control": {"type": "ephemeral"}}]

    def ask(question: str, stream: bool) -> anthropic.types.Message:
        return answer(
            sdk, stream, model=FLASH, max_tokens=128, system=system, messages=[{"role": "user", "content": question}]
        )

    first = ask("What is 2 + 2?", False)
    assert not first.usage.cache_read_input_tokens and not first.usage.cache_creation_input_tokens
    repeats = [ask("What is 3 + 3?", False), ask("What is 4 + 4?", True)]
    for repeat in repeats:
        assert repeat.usage.cache_read_input_tokens and repeat.usage.cache_read_input_tokens >= 1024
        assert repeat.usage.input_tokens < first.usage.input_tokens  # the cached prefix is not billed as input
        assert repeat.usage.input_tokens + repeat.usage.cache_read_input_tokens >= first.usage.input_tokens

    usages = [message.usage.model_dump() for message in (first, *repeats)]
    row = wait_for(lambda: (r := key_row(gateway, key["id"])) and r["requests"] == 3 and r)
    assert row["cache_read_tokens"] == sum(usage["cache_read_input_tokens"] or 0 for usage in usages)
    assert row["input_tokens"] == sum(usage["input_tokens"] for usage in usages)
    expected = sum(expected_price(FLASH, usage, provider_id="google") for usage in usages)
    assert abs(Decimal(str(row["cost_usd"])) - expected) <= expected * Decimal("0.001"), (row["cost_usd"], expected)
