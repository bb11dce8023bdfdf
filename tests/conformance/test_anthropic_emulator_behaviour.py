"""The Anthropic emulator behaves like a model an agent can finish with, proven through the official SDK.

Tool calls only when the latest user turn asks, answers from tool results, structured outputs valid against
their schema, signed thinking blocks, prompt-cache writes then reads, web search with citations, system
messages inside ``messages`` and Anthropic's 404 for unknown models. Raw answers are validated against
Anthropic's OpenAPI spec (``validate_response`` / ``validate_component``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import jsonschema
import pydantic
import pytest

from finops.emulators._common.tokens import count_tokens
from finops.emulators.anthropic.app import create_app
from finops.emulators.anthropic.conversation import REPLY_TURN_TOKENS
from tests.conformance.test_anthropic_emulator import validate_component, validate_response
from tests.support.emulator import EmulatorHandle
from tests.support.servers import serve_in_thread

MODEL = "claude-sonnet-4-6"
KEY = "test-key"
HEADERS = {"anthropic-version": "2023-06-01", "x-api-key": KEY}

# The tools Claude Code declares (descriptions shortened to their first sentences).
READ = {
    "name": "Read",
    "description": "Reads a file from the local filesystem. You can access any file directly by using this tool.",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "offset": {"type": "number"}, "limit": {"type": "number"}},
        "required": ["file_path"],
        "additionalProperties": False,
    },
}
AGENT_TOOLS: list[dict[str, Any]] = [
    {
        "name": "Task",
        "description": "Launch a new agent to handle complex, multi-step tasks autonomously.",
        "input_schema": {
            "type": "object",
            "properties": {
                "description": {"type": "string"},
                "prompt": {"type": "string"},
                "subagent_type": {"type": "string"},
            },
            "required": ["description", "prompt", "subagent_type"],
        },
    },
    {
        "name": "Bash",
        "description": "Executes a given bash command in a persistent shell session.",
        "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]},
    },
    {
        "name": "Glob",
        "description": "Fast file pattern matching tool that works with any codebase size.",
        "input_schema": {"type": "object", "properties": {"pattern": {"type": "string"}}, "required": ["pattern"]},
    },
    READ,
    {
        "name": "Write",
        "description": "Writes a file to the local filesystem.",
        "input_schema": {
            "type": "object",
            "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["file_path", "content"],
        },
    },
    {
        "name": "TodoWrite",
        "description": "Use this tool to create and manage a structured task list for your current coding session.",
        "input_schema": {
            "type": "object",
            "properties": {"todos": {"type": "array", "items": {"type": "string"}}},
            "required": ["todos"],
        },
    },
    {
        "name": "WebFetch",
        "description": "Fetches content from a specified URL and processes it using an AI model.",
        "input_schema": {
            "type": "object",
            "properties": {"url": {"type": "string", "format": "uri"}, "prompt": {"type": "string"}},
            "required": ["url", "prompt"],
        },
    },
    {
        "name": "lookup_order",
        "description": "Look up the shipping status of a customer order.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
]
REMINDER = (
    "<system-reminder>Your todo list is empty. Use the TodoWrite tool to track work; Read files first."
    "</system-reminder>"
)
SYSTEM = "You are an agent for a CLI.\n<env>\nWorking directory: /tmp/project\n</env>"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(api_keys={KEY})) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> anthropic.Anthropic:
    EmulatorHandle(base_url).reset()  # each test starts with an empty prompt cache and request log
    return anthropic.Anthropic(api_key=KEY, base_url=base_url, max_retries=0)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=10) as raw:
        yield raw


def _user(*texts: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": text} for text in texts]}


def _replay(message: anthropic.types.Message) -> dict[str, Any]:
    """The assistant turn as an agent sends it back."""
    return {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]}


# --- an agent's read-then-answer loop ------------------------------------------------------------------------


def test_an_agent_reads_a_file_then_gets_an_answer_from_it(client: anthropic.Anthropic, base_url: str) -> None:
    """Claude Code's shape of request: it needs exactly two calls, and the answer comes from the file."""
    first_params: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 2048,
        "system": [{"type": "text", "text": SYSTEM}],
        "tools": AGENT_TOOLS,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "medium"},
        "cache_control": {"type": "ephemeral"},
        "messages": [_user(REMINDER, "Read notes.txt and tell me the secret word.")],
    }
    with client.messages.stream(**first_params) as stream:
        first = stream.get_final_message()
    assert first.stop_reason == "tool_use"
    assert [block.type for block in first.content] == ["thinking", "tool_use"]
    call = first.content[1]
    assert isinstance(call, anthropic.types.ToolUseBlock)
    assert call.name == "Read" and call.input == {"file_path": "/tmp/project/notes.txt"}
    jsonschema.validate(call.input, READ["input_schema"])
    assert first.usage.cache_creation_input_tokens and not first.usage.cache_read_input_tokens

    result = {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": "     1\u2192The secret word is PINEAPPLE.\n<system-reminder>Consider whether the file is malware; "
        "you can read other files.</system-reminder>",
    }
    second_params = {
        **first_params,
        "messages": [
            *first_params["messages"],
            _replay(first),
            {"role": "user", "content": [result, {"type": "text", "text": REMINDER}]},
        ],
    }
    second = client.messages.create(**second_params)
    assert second.stop_reason == "end_turn"
    assert [block.type for block in second.content] == ["thinking", "text"]
    answer = second.content[1]
    assert isinstance(answer, anthropic.types.TextBlock)
    assert "The secret word is PINEAPPLE." in answer.text and "malware" not in answer.text
    # The growing conversation reads what the first call cached (Anthropic's 20-block lookback).
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert EmulatorHandle(base_url).request_count() == 2


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param("What is the weather in Paris?", None, id="no-tool-fits"),
        pytest.param("Read /etc/hosts", "Read", id="named-with-its-path"),
        pytest.param("Read the manual for me", None, id="named-without-the-path-it-needs"),
        pytest.param("Write a haiku about autumn", None, id="write-without-a-file"),
        pytest.param("Write a haiku about autumn to poem.txt", "Write", id="write-to-a-file"),
        pytest.param("write a todo list for my move", "TodoWrite", id="most-specific-name-wins"),
        pytest.param("Where is my order? What is its shipping status?", "lookup_order", id="by-description"),
        pytest.param("Run `ls -la` with bash", "Bash", id="command-from-backticks"),
        pytest.param("Fetch the web page https://example.com/a", "WebFetch", id="url-from-the-words"),
        pytest.param(f"{REMINDER}\nWhat is 2 + 2?", None, id="reminders-are-not-the-request"),
    ],
)
def test_auto_calls_a_tool_only_when_the_user_asks_for_one(
    client: anthropic.Anthropic, prompt: str, expected: str | None
) -> None:
    message = client.messages.create(
        model=MODEL, max_tokens=300, system=SYSTEM, tools=AGENT_TOOLS, messages=[{"role": "user", "content": prompt}]
    )  # type: ignore[arg-type]
    calls = [block for block in message.content if block.type == "tool_use"]
    if expected is None:
        assert message.stop_reason == "end_turn" and not calls
        return
    assert message.stop_reason == "tool_use" and [c.name for c in calls] == [expected]
    schema = next(t["input_schema"] for t in AGENT_TOOLS if t["name"] == expected)
    jsonschema.validate(calls[0].input, schema)
    if expected == "Bash":
        assert calls[0].input == {"command": "ls -la"}
    if expected == "WebFetch":
        assert calls[0].input["url"] == "https://example.com/a"


def test_a_tool_result_is_answered_in_text_unless_the_turn_asks_again(client: anthropic.Anthropic) -> None:
    question = {"role": "user", "content": "Read /tmp/a.txt"}
    first = client.messages.create(model=MODEL, max_tokens=300, tools=[READ], messages=[question])  # type: ignore[arg-type]
    call = next(block for block in first.content if block.type == "tool_use")
    result = {"type": "tool_result", "tool_use_id": call.id, "content": "alpha"}
    history = [question, _replay(first)]

    answered = client.messages.create(
        model=MODEL, max_tokens=300, tools=[READ], messages=[*history, {"role": "user", "content": [result]}]
    )  # type: ignore[arg-type]
    assert answered.stop_reason == "end_turn" and "alpha" in answered.content[0].text  # type: ignore[union-attr]

    more = {"type": "text", "text": "Now read /tmp/b.txt as well"}
    again = client.messages.create(
        model=MODEL, max_tokens=300, tools=[READ], messages=[*history, {"role": "user", "content": [result, more]}]
    )  # type: ignore[arg-type]
    assert again.stop_reason == "tool_use"
    assert again.content[0].input == {"file_path": "/tmp/b.txt"}  # type: ignore[union-attr]

    forced = client.messages.create(
        model=MODEL,
        max_tokens=300,
        tools=[READ],
        tool_choice={"type": "any"},
        messages=[*history, {"role": "user", "content": [result]}],
    )  # type: ignore[arg-type]
    assert forced.stop_reason == "tool_use", "tool_choice any always calls a tool"


def test_a_delegated_task_does_not_delegate_again(client: anthropic.Anthropic) -> None:
    """Claude Code's ``Agent`` tool: the sub-agent gets the task without the word that asked for an agent."""
    agent = {**AGENT_TOOLS[0], "name": "Agent"}
    tools = [agent, READ]
    ask = "Use an agent to read /tmp/notes.txt and report the secret word."
    first = client.messages.create(model=MODEL, max_tokens=300, tools=tools, messages=[_user(ask)])  # type: ignore[arg-type]
    call = first.content[0]
    assert isinstance(call, anthropic.types.ToolUseBlock) and call.name == "Agent"
    task = call.input["prompt"]  # type: ignore[index]
    assert "agent" not in task.lower() and "/tmp/notes.txt" in task
    sub_agent = client.messages.create(model=MODEL, max_tokens=300, tools=tools, messages=[_user(task)])  # type: ignore[arg-type]
    assert [b.name for b in sub_agent.content if b.type == "tool_use"] == ["Read"]  # type: ignore[union-attr]


def test_a_turn_holding_only_notifications_is_answered_from_them(client: anthropic.Anthropic) -> None:
    note = (
        "<system-reminder>[SYSTEM NOTIFICATION - NOT USER INPUT]\n<task-notification><status>completed</status>"
        "<result>The secret word is PINEAPPLE.</result></task-notification></system-reminder>"
    )
    history = [_user("Read /tmp/notes.txt in the background"), {"role": "assistant", "content": "Started."}]
    message = client.messages.create(model=MODEL, max_tokens=300, tools=[READ], messages=[*history, _user(note)])  # type: ignore[arg-type]
    assert message.stop_reason == "end_turn"
    assert "The secret word is PINEAPPLE." in message.content[0].text  # type: ignore[union-attr]


def test_forcing_a_tool_while_thinking_is_refused(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=3000,
            tools=[READ],
            tool_choice={"type": "any"},
            thinking={"type": "enabled", "budget_tokens": 1024},
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "tool_choice forces tool use" in caught.value.message


# --- structured output ----------------------------------------------------------------------------------------


class Person(pydantic.BaseModel):
    name: str
    age: int
    city: str
    tags: list[str]


def test_structured_output_parses_into_the_schema(client: anthropic.Anthropic, http: httpx.Client) -> None:
    parsed = client.messages.parse(
        model=MODEL,
        max_tokens=500,
        messages=[{"role": "user", "content": 'Extract: "Ada" is 36 and lives in London.'}],
        output_format=Person,
    )
    person = parsed.parsed_output
    assert isinstance(person, Person)
    assert (person.name, person.age, person.city) == ("Ada", 36, "London")

    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "integer"},
            "unit": {"type": "string", "enum": ["metres", "feet"]},
            "steps": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 3},
            "note": {"anyOf": [{"type": "string", "maxLength": 8}, {"type": "null"}]},
        },
        "required": ["answer", "unit", "steps", "note"],
        "additionalProperties": False,
    }
    body = {
        "model": MODEL,
        "max_tokens": 500,
        "messages": [{"role": "user", "content": "What is 6 * 7 in feet?"}],
        "output_config": {"format": {"type": "json_schema", "schema": schema}},
    }
    raw = http.post("/v1/messages", json=body).json()
    validate_response("post", "/v1/messages", raw)
    answer = json.loads(raw["content"][0]["text"])
    jsonschema.validate(answer, schema)
    assert answer["answer"] == 42 and answer["unit"] == "feet"
    with client.messages.stream(**body) as stream:
        assert json.loads(stream.get_final_message().content[0].text) == answer  # type: ignore[union-attr]


# --- thinking -------------------------------------------------------------------------------------------------


def test_thinking_blocks_carry_a_signature_and_count_as_output(client: anthropic.Anthropic, http: httpx.Client) -> None:
    ask = [{"role": "user", "content": "Why is the sky blue?"}]
    plain = client.messages.create(model=MODEL, max_tokens=2000, messages=ask)  # type: ignore[arg-type]
    thought = client.messages.create(
        model=MODEL, max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 1024}, messages=ask
    )  # type: ignore[arg-type]
    thinking, text = thought.content
    assert isinstance(thinking, anthropic.types.ThinkingBlock) and thinking.signature and thinking.thinking
    assert text.type == "text" and text.text == plain.content[0].text  # type: ignore[union-attr]
    assert thought.usage.output_tokens == plain.usage.output_tokens + count_tokens(thinking.thinking)
    raw_usage = thought.model_dump()["usage"]
    assert raw_usage["output_tokens_details"] == {"thinking_tokens": count_tokens(thinking.thinking)}

    high = client.messages.create(
        model=MODEL, max_tokens=2000, thinking={"type": "adaptive"}, output_config={"effort": "max"}, messages=ask
    )  # type: ignore[arg-type]
    low = client.messages.create(
        model=MODEL, max_tokens=2000, thinking={"type": "adaptive"}, output_config={"effort": "low"}, messages=ask
    )  # type: ignore[arg-type]
    assert high.usage.output_tokens > low.usage.output_tokens  # effort changes how long it thinks

    omitted = http.post(
        "/v1/messages",
        json={
            "model": MODEL,
            "max_tokens": 2000,
            "thinking": {"type": "adaptive", "display": "omitted"},
            "messages": ask,
        },
    ).json()
    validate_response("post", "/v1/messages", omitted)
    assert omitted["content"][0] == {
        "type": "thinking",
        "thinking": "",
        "signature": omitted["content"][0]["signature"],
    }
    assert omitted["content"][0]["signature"]

    with http.stream(
        "POST",
        "/v1/messages",
        json={"model": MODEL, "max_tokens": 2000, "stream": True, "thinking": {"type": "adaptive"}, "messages": ask},
    ) as response:
        events = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    for event in events:
        validate_component("MessageStreamEvent", event)
    deltas = [e["delta"]["type"] for e in events if e["type"] == "content_block_delta" and e["index"] == 0]
    assert deltas[0] == "thinking_delta" and deltas[-1] == "signature_delta"


def test_display_updates_needs_its_beta(client: anthropic.Anthropic) -> None:
    """Claude Code sends ``display: "updates"`` with ``anthropic-beta: thinking-display-updates-2026-08-18``."""
    params: dict[str, Any] = {
        "model": "claude-opus-5-5",  # Claude Code's default model
        "max_tokens": 2000,
        "thinking": {"type": "adaptive", "display": "updates"},
        "messages": [_user("Why is the sky blue?")],
    }
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**params)
    assert "thinking.adaptive.display" in caught.value.message
    beta = {"anthropic-beta": "context-management-2025-06-27,thinking-display-updates-2026-08-18"}
    message = client.messages.create(**params, extra_headers=beta)
    assert [block.type for block in message.content] == ["thinking", "text"]


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "needle"),
    [
        ({"type": "enabled", "budget_tokens": 500}, 2000, "greater than or equal to 1024"),
        ({"type": "enabled", "budget_tokens": 2000}, 2000, "must be greater than `thinking.budget_tokens`"),
        ({"type": "sometimes"}, 2000, "thinking.type"),
    ],
)
def test_bad_thinking_settings_are_refused(
    client: anthropic.Anthropic, thinking: dict[str, Any], max_tokens: int, needle: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL, max_tokens=max_tokens, thinking=thinking, messages=[{"role": "user", "content": "hi"}]
        )  # type: ignore[arg-type]
    assert needle in caught.value.message


# --- prompt caching -------------------------------------------------------------------------------------------


def test_cache_control_writes_then_reads(client: anthropic.Anthropic) -> None:
    context = "The handbook says: refunds take five days. " * 40
    system = [{"type": "text", "text": context, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = client.messages.create(model=MODEL, max_tokens=100, system=system, messages=[_user("Refunds?")])  # type: ignore[arg-type]
    prefix = count_tokens(context)
    assert first.usage.cache_creation_input_tokens == prefix and first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None and first.usage.cache_creation.ephemeral_1h_input_tokens == prefix
    assert first.usage.input_tokens == count_tokens("Refunds?") + REPLY_TURN_TOKENS

    with client.messages.stream(model=MODEL, max_tokens=100, system=system, messages=[_user("Returns?")]) as stream:  # type: ignore[arg-type]
        second = stream.get_final_message()
    assert second.usage.cache_read_input_tokens == prefix and second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == count_tokens("Returns?") + REPLY_TURN_TOKENS

    counted = client.messages.count_tokens(model=MODEL, system=system, messages=[_user("Returns?")])  # type: ignore[arg-type]
    assert counted.input_tokens == prefix + count_tokens("Returns?") + REPLY_TURN_TOKENS  # counting ignores the cache

    other = client.messages.create(
        model="claude-opus-4-1-20250805", max_tokens=50, system=system, messages=[_user("x")]
    )  # type: ignore[arg-type]
    assert other.usage.cache_creation_input_tokens == prefix, "each model has its own cache"


def test_top_level_cache_control_marks_the_last_block(client: anthropic.Anthropic) -> None:
    messages = [_user("A long question about caching. " * 30)]
    first = client.messages.create(model=MODEL, max_tokens=50, cache_control={"type": "ephemeral"}, messages=messages)  # type: ignore[arg-type]
    assert first.usage.cache_creation_input_tokens == count_tokens(messages[0]["content"][0]["text"])
    assert first.usage.input_tokens == REPLY_TURN_TOKENS  # the assistant turn's opening is never cached
    again = client.messages.create(model=MODEL, max_tokens=50, cache_control={"type": "ephemeral"}, messages=messages)  # type: ignore[arg-type]
    assert again.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_more_than_four_breakpoints_are_refused(client: anthropic.Anthropic) -> None:
    blocks = [{"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": blocks}])  # type: ignore[arg-type]
    assert "A maximum of 4 blocks with cache_control" in caught.value.message


# --- web search -----------------------------------------------------------------------------------------------

WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}


def test_web_search_returns_results_and_cited_text(client: anthropic.Anthropic, http: httpx.Client) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 1000,
        "tools": [WEB_SEARCH],
        "messages": [{"role": "user", "content": "Search the web for the latest Rust release"}],
    }
    raw = http.post("/v1/messages", json=body).json()
    validate_response("post", "/v1/messages", raw)
    kinds = [block["type"] for block in raw["content"]]
    assert kinds[:3] == ["server_tool_use", "web_search_tool_result", "text"]
    use, found = raw["content"][0], raw["content"][1]
    assert use["name"] == "web_search" and use["input"] == {"query": "the latest Rust release"}
    assert found["tool_use_id"] == use["id"] and len(found["content"]) == 3
    urls = [result["url"] for result in found["content"]]
    assert all(url.startswith("https://example.") for url in urls)
    cited = [c for block in raw["content"] if block["type"] == "text" for c in block["citations"] or []]
    assert [c["url"] for c in cited] == urls and all(c["type"] == "web_search_result_location" for c in cited)
    assert raw["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}

    with client.messages.stream(**body) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert [block.type for block in final.content] == kinds
    assert final.usage.server_tool_use is not None and final.usage.server_tool_use.web_search_requests == 1
    streamed = [c.url for b in final.content if b.type == "text" for c in b.citations or []]  # type: ignore[union-attr]
    assert streamed == urls

    narrowed = {**body, "tools": [{**WEB_SEARCH, "allowed_domains": ["docs.rs"]}]}
    pages = http.post("/v1/messages", json=narrowed).json()["content"][1]["content"]
    assert all(page["url"].startswith("https://docs.rs/") for page in pages)

    plain = client.messages.create(**{**body, "messages": [{"role": "user", "content": "What is 2 + 2?"}]})  # type: ignore[arg-type]
    assert [block.type for block in plain.content] == ["text"] and plain.usage.server_tool_use is None


# --- system messages and models -------------------------------------------------------------------------------


def test_system_messages_inside_messages_are_accepted(client: anthropic.Anthropic, http: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi!"},
        {"role": "system", "content": [{"type": "text", "text": "From now on, answer in one line."}]},
        {"role": "user", "content": "What is 3 + 4?"},
    ]
    message = client.messages.create(model=MODEL, max_tokens=100, messages=messages)  # type: ignore[arg-type]
    assert message.stop_reason == "end_turn" and "3 + 4 = 7" in message.content[0].text  # type: ignore[union-attr]
    assert message.usage.input_tokens == REPLY_TURN_TOKENS + sum(
        count_tokens(t) for t in ("Hello", "Hi!", "From now on, answer in one line.", "What is 3 + 4?")
    )

    refused = http.post(
        "/v1/messages",
        json={
            "model": MODEL,
            "max_tokens": 10,
            "messages": [
                {"role": "system", "content": [{"type": "image", "source": {}}]},
                {"role": "user", "content": "x"},
            ],
        },
    )
    assert refused.status_code == 400 and "Input should be 'text'" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "model", ["claude-3-5-sonnet-latest", "claude-sonnet-4-0", "claude-opus-4-6", "claude-haiku-4-5"]
)
def test_aliases_and_the_newest_sdk_models_are_served(client: anthropic.Anthropic, model: str) -> None:
    assert client.messages.create(model=model, max_tokens=20, messages=[_user("hi")]).model == model  # type: ignore[arg-type]


def test_unknown_models_get_anthropics_404(client: anthropic.Anthropic, http: httpx.Client) -> None:
    with pytest.raises(anthropic.NotFoundError) as caught:
        client.messages.create(model="claude-9-imaginary", max_tokens=20, messages=[_user("hi")])  # type: ignore[arg-type]
    assert caught.value.body["error"] == {"type": "not_found_error", "message": "model: claude-9-imaginary"}  # type: ignore[index]
    raw = http.post("/v1/messages", json={"model": "gpt-4o", "max_tokens": 5, "messages": [_user("hi")]})
    assert raw.status_code == 404
    validate_response("post", "/v1/messages", raw.json(), status="4XX")
    assert client.models.retrieve("claude-3-5-sonnet-latest").id == "claude-3-5-sonnet-20241022"
