"""Issue 12's mappings on the openai provider, end to end: the official ``anthropic`` SDK against the gateway in front
of the OpenAI emulator, streaming and not. What reached the upstream is read back from ``/_emulator/requests``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import jsonschema
import orjson
import pytest

from finops.emulators.openai.app import create_app as openai_emulator_app
from tests.support.emulator import EmulatorHandle
from tests.support.gateway import running_gateway
from tests.support.servers import serve_in_thread

OPENAI = {"x-model-provider": "openai"}
SEARCH_MODEL = "gpt-4o-mini-search-preview"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorHandle]:
    with serve_in_thread(openai_emulator_app(batch_seconds=1.0)) as url:
        yield EmulatorHandle(url)


@pytest.fixture(scope="module")
def gateway(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('openai-features') / 'finops.db'}"
    providers = {"openai": {"api_key": "sk-openai-upstream-features", "base_url": f"{emulator.base_url}/v1"}}
    with running_gateway(providers, database) as base:
        yield f"{base}/anthropic"


@pytest.fixture
def sdk(gateway: str, emulator: EmulatorHandle) -> Iterator[anthropic.Anthropic]:
    emulator.reset()
    with anthropic.Anthropic(base_url=gateway, api_key="features", default_headers=OPENAI, max_retries=0) as client:
        yield client


def ask(sdk: anthropic.Anthropic, stream: bool, **params: Any) -> anthropic.types.Message:
    params.setdefault("max_tokens", 1024)
    if not stream:
        return sdk.messages.create(**params)
    with sdk.messages.stream(**params) as events:
        return events.get_final_message()


def upstream_chat(emulator: EmulatorHandle) -> dict[str, Any]:
    """The last Chat Completions body the gateway sent."""
    (*_, last) = (r["json"] for r in emulator.requests() if r["path"] == "/v1/chat/completions")
    body: dict[str, Any] = last
    return body


def text_of(message: anthropic.types.Message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


STREAMING = pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])


@STREAMING
def test_a_system_message_mid_conversation_reaches_openai_in_place(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle, stream: bool
) -> None:
    message = ask(
        sdk,
        stream,
        model="gpt-4o-mini",
        system="You are terse.",
        messages=[
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Hi! How can I help?"},
            {
                "role": "system",
                "content": [{"type": "text", "text": "Answer in French.", "cache_control": {"type": "ephemeral"}}],
            },
            {"role": "user", "content": "What is 2 + 2?"},
        ],
    )
    assert message.stop_reason == "end_turn" and "4" in text_of(message)
    assert [(m["role"], m["content"]) for m in upstream_chat(emulator)["messages"]] == [
        ("system", "You are terse."),
        ("user", "Hello!"),
        ("assistant", "Hi! How can I help?"),
        ("system", "Answer in French."),
        ("user", "What is 2 + 2?"),
    ]


def test_reasoning_models_get_developer_messages(sdk: anthropic.Anthropic, emulator: EmulatorHandle) -> None:
    sdk.messages.create(
        model="o4-mini",
        max_tokens=1024,
        system="Be exact.",
        messages=[{"role": "user", "content": "2 + 2?"}, {"role": "system", "content": "Show no work."}],
    )
    assert [m["role"] for m in upstream_chat(emulator)["messages"]] == ["developer", "user", "developer"]


WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "temperature_c": {"type": "number"},
        "conditions": {"type": "string", "enum": ["sunny", "cloudy", "rain", "snow"]},
        "advice": {"type": "string", "description": "Optional: what to wear."},
    },
    "required": ["city", "temperature_c", "conditions"],
    "additionalProperties": False,
}


@STREAMING
def test_structured_output_is_json_that_validates_against_the_schema(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle, stream: bool
) -> None:
    message = ask(
        sdk,
        stream,
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Describe the weather in Paris today."}],
        output_config={"format": {"type": "json_schema", "schema": WEATHER_SCHEMA}},
    )
    answer = orjson.loads(text_of(message))
    jsonschema.validate(answer, WEATHER_SCHEMA)
    assert answer["city"] == "Paris" and message.stop_reason == "end_turn"
    sent = upstream_chat(emulator)["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert sent["json_schema"]["schema"]["required"] == ["city", "temperature_c", "conditions", "advice"]


def test_a_schema_beyond_strict_mode_still_gets_json(sdk: anthropic.Anthropic, emulator: EmulatorHandle) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "minLength": 2}, "tags": {"type": "array", "uniqueItems": True}},
        "required": ["name", "tags"],
        "additionalProperties": False,
    }
    message = sdk.messages.create(
        model="gpt-4o-mini",
        max_tokens=512,
        messages=[{"role": "user", "content": 'Name a pet called "Rex".'}],
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    jsonschema.validate(orjson.loads(text_of(message)), schema)
    assert upstream_chat(emulator)["response_format"]["json_schema"]["strict"] is False


@STREAMING
@pytest.mark.parametrize(
    ("model", "thinking", "effort", "sent"),
    [
        ("o4-mini", {"type": "enabled", "budget_tokens": 2048}, None, "low"),
        ("o4-mini", {"type": "adaptive"}, "max", "high"),
        ("gpt-5.2", {"type": "adaptive"}, "max", "xhigh"),
        ("gpt-5.1", {"type": "disabled"}, None, "none"),
    ],
)
def test_thinking_and_effort_reach_openai_as_reasoning_effort(
    sdk: anthropic.Anthropic,
    emulator: EmulatorHandle,
    stream: bool,
    model: str,
    thinking: dict[str, Any],
    effort: str | None,
    sent: str,
) -> None:
    extra: dict[str, Any] = {"thinking": thinking}
    if effort:
        extra["output_config"] = {"effort": effort}
    message = ask(sdk, stream, model=model, messages=[{"role": "user", "content": "What is 17 * 23?"}], **extra)
    assert upstream_chat(emulator)["reasoning_effort"] == sent
    assert text_of(message) and all(block.type == "text" for block in message.content)  # no reasoning text
    details = message.usage.output_tokens_details
    if sent == "none":
        assert details is None
    else:
        assert details is not None and 0 < details.thinking_tokens < message.usage.output_tokens


def test_claude_codes_adaptive_thinking_on_gpt_4o_mini_sends_no_effort(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    with sdk.messages.stream(
        model="gpt-4o-mini",
        max_tokens=32000,
        thinking={"type": "adaptive"},
        output_config={"effort": "medium"},
        messages=[{"role": "user", "content": "Say hello."}],
    ) as stream:
        message = stream.get_final_message()
    assert text_of(message) and "reasoning_effort" not in upstream_chat(emulator)


def test_thinking_enabled_on_a_model_that_cannot_reason_is_a_400_before_openai(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(
            model="gpt-4o-mini",
            max_tokens=4096,
            thinking={"type": "enabled", "budget_tokens": 2048},
            messages=[{"role": "user", "content": "hi"}],
        )
    assert "thinking.type: 'enabled' is not supported by provider 'openai' (model gpt-4o-mini)" in refused.value.message
    assert not [r for r in emulator.requests() if r["path"] == "/v1/chat/completions"]


WEB_SEARCH = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}


@STREAMING
def test_web_search_answers_with_anthropics_blocks_and_citations(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle, stream: bool
) -> None:
    location = {"type": "approximate", "city": "Paris", "country": "FR"}
    message = ask(
        sdk,
        stream,
        model=SEARCH_MODEL,
        tools=[{**WEB_SEARCH, "user_location": location}],
        messages=[{"role": "user", "content": "Search the web for the latest Python release."}],
    )
    kinds = [block.type for block in message.content]
    assert kinds[:2] == ["server_tool_use", "web_search_tool_result"] and set(kinds[2:]) == {"text"}
    call, results = message.content[0], message.content[1]
    assert call.name == "web_search" and results.tool_use_id == call.id
    pages = {result.url: result.title for result in results.content}
    assert len(pages) == 3 and all(url.startswith("https://example.") for url in pages)
    cited = [citation for block in message.content[2:] for citation in block.citations or []]
    assert len(cited) == 3
    for citation in cited:
        assert citation.type == "web_search_result_location" and pages[citation.url] == citation.title
        assert citation.cited_text
    assert message.usage.server_tool_use is not None and message.usage.server_tool_use.web_search_requests == 1
    assert upstream_chat(emulator)["web_search_options"] == {
        "user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}}
    }


def test_a_searched_turn_can_be_sent_back(sdk: anthropic.Anthropic, emulator: EmulatorHandle) -> None:
    question = {"role": "user", "content": "Search the web for the latest Python release."}
    first = sdk.messages.create(model=SEARCH_MODEL, max_tokens=1024, tools=[WEB_SEARCH], messages=[question])
    follow_up = [question, {"role": "assistant", "content": first.content}, {"role": "user", "content": "Thanks!"}]
    second = sdk.messages.create(model=SEARCH_MODEL, max_tokens=1024, tools=[WEB_SEARCH], messages=follow_up)
    assert second.stop_reason == "end_turn"
    earlier = upstream_chat(emulator)["messages"][1]
    assert earlier["role"] == "assistant" and earlier["content"].startswith("Web search results:\n- ")


def test_web_search_on_a_model_without_search_is_a_400_naming_tool_and_provider(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.messages.create(
            model="gpt-4o-mini", max_tokens=100, tools=[WEB_SEARCH], messages=[{"role": "user", "content": "news?"}]
        )
    assert refused.value.body["error"]["message"].startswith(  # type: ignore[index]
        "tools.0: tool type 'web_search_20250305' is not supported by provider 'openai' (model gpt-4o-mini)"
    )
    assert not emulator.requests()


@STREAMING
def test_a_repeated_prompt_reads_the_cache_and_input_excludes_it(sdk: anthropic.Anthropic, stream: bool) -> None:
    rules = "\n".join(f"Rule {n}: answer politely and cite rule {n}." for n in range(1, 400))
    system = [{"type": "text", "text": f"Stream {stream}.\n{rules}", "cache_control": {"type": "ephemeral"}}]

    def call(question: str) -> anthropic.types.Message:
        return ask(
            sdk,
            stream,
            model="gpt-4o-mini",
            max_tokens=64,
            system=system,
            messages=[{"role": "user", "content": question}],
        )

    first, second = call("What is 2 + 2?"), call("What is 3 + 3?")
    assert not first.usage.cache_read_input_tokens and not first.usage.cache_creation_input_tokens
    assert second.usage.cache_read_input_tokens and second.usage.cache_read_input_tokens % 128 == 0
    assert second.usage.input_tokens + second.usage.cache_read_input_tokens >= first.usage.input_tokens
    assert second.usage.input_tokens < first.usage.input_tokens


def test_bash_and_the_text_editor_are_functions_with_anthropics_schemas(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    message = sdk.messages.create(
        model="gpt-4o-mini",
        max_tokens=512,
        tools=[
            {"type": "bash_20250124", "name": "bash"},
            {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool"},
        ],
        messages=[{"role": "user", "content": "View the text file /tmp/notes.txt, then edit it."}],
    )
    (call,) = [block for block in message.content if block.type == "tool_use"]
    assert call.name == "str_replace_based_edit_tool" and call.input == {"command": "view", "path": "/tmp/notes.txt"}
    sent = upstream_chat(emulator)["tools"]
    assert [tool["function"]["name"] for tool in sent] == ["bash", "str_replace_based_edit_tool"]
    assert sent[1]["function"]["parameters"]["required"] == ["command", "path"]


def test_a_search_result_and_a_titled_document_reach_openai_as_text(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    sdk.messages.create(
        model="gpt-4o-mini",
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {
                        "type": "search_result",
                        "source": "https://docs.example.com/install",
                        "title": "Install guide",
                        "content": [{"type": "text", "text": "Run make install."}],
                    },
                    {
                        "type": "document",
                        "title": "Notes",
                        "context": "From the wiki.",
                        "source": {"type": "text", "media_type": "text/plain", "data": "Use Python 3.14."},
                    },
                    {"type": "text", "text": "How do I install it?"},
                ],
            }
        ],
    )
    assert [part["text"] for part in upstream_chat(emulator)["messages"][0]["content"]] == [
        "Search result: Install guide\nSource: https://docs.example.com/install\nRun make install.",
        "Document title: Notes\nDocument context: From the wiki.",
        "Use Python 3.14.",
        "How do I install it?",
    ]


def test_an_uploaded_file_is_not_downloadable_and_the_refusal_names_no_upstream_id(
    sdk: anthropic.Anthropic, emulator: EmulatorHandle
) -> None:
    uploaded = sdk.beta.files.upload(file=("notes.txt", b"secret notes", "text/plain"))
    assert uploaded.downloadable is False
    with pytest.raises(anthropic.BadRequestError) as refused:
        sdk.beta.files.download(uploaded.id)
    assert "not downloadable" in refused.value.message and "file-" not in refused.value.response.text
    assert not [r for r in emulator.requests() if r["path"].endswith("/content")]  # never asked OpenAI for bytes
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "gpt-4o-mini"}}
    jsonl = orjson.dumps({**line, "body": {**line["body"], "messages": [{"role": "user", "content": "hi"}]}}) + b"\n"
    batch_file = sdk.beta.files.upload(file=("lines.jsonl", jsonl, "application/jsonl"))
    assert batch_file.downloadable is True
    assert sdk.beta.files.download(batch_file.id).read() == jsonl
