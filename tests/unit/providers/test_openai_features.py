"""Issue 12's mappings on the openai provider, as named cases with their exact output: system messages in place,
structured outputs, thinking and effort, web search (request, answer and stream), Anthropic-defined client tools,
input examples, document titles and search results. Every request case is parsed first, as the core does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pytest

from finops.core.errors import InvalidRequestError
from finops.core.params import parse_message_params
from finops.providers.openai.anthropic_tools import CLIENT_TOOLS
from finops.providers.openai.batch_lines import from_batch_output_line, to_batch_line
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.openai.translate import from_chat_response, to_chat_request
from finops.providers.sse import encode_sse

JSON = dict[str, Any]

SEARCH_MODEL = "gpt-4o-search-preview"


def request(model: str = "gpt-4o-mini", messages: list[JSON] | None = None, **extra: Any) -> Any:
    params = {"model": model, "max_tokens": 256, "messages": messages or [user("Hi")], **extra}
    parse_message_params(params)  # a case the API would refuse is a bad case
    return params


def user(content: Any) -> JSON:
    return {"role": "user", "content": content}


def assistant(content: Any) -> JSON:
    return {"role": "assistant", "content": content}


def system(content: Any) -> JSON:
    return {"role": "system", "content": content}


# -- system messages ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "role"),
    [("gpt-4o-mini", "system"), ("o4-mini", "developer"), ("gpt-5.1-chat-latest", "system")],
)
def test_system_messages_stay_in_place_in_order(model: str, role: str) -> None:
    params = request(
        model,
        [
            user("Hello!"),
            assistant("Hi! How can I help?"),
            system("From now on, answer in French."),
            user("What is 2 + 2?"),
            system(
                [
                    {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Be kind."},
                ]
            ),
            system(""),
        ],
        system="You are terse.",
    )
    assert to_chat_request(params)["messages"] == [
        {"role": role, "content": "You are terse."},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": role, "content": "From now on, answer in French."},
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": role, "content": "Be brief.\nBe kind."},
    ]


# -- structured outputs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchemaCase:
    id: str
    schema: JSON
    sent: JSON
    strict: bool
    name: str = "output"


CLOSED_OBJECT = {
    "type": "object",
    "properties": {"a": {"type": "string"}},
    "required": ["a"],
    "additionalProperties": False,
}

SCHEMA_CASES = [
    SchemaCase("already_strict_goes_as_it_is", CLOSED_OBJECT, CLOSED_OBJECT, strict=True),
    SchemaCase(
        "optional_properties_become_required_and_objects_closed",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "note": {"type": ["string", "null"]},
                "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
            },
            "required": ["city"],
        },
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "note": {"type": ["string", "null"]},
                "where": {
                    "type": "object",
                    "properties": {"lat": {"type": "number"}},
                    "required": ["lat"],
                    "additionalProperties": False,
                },
            },
            "required": ["city", "note", "where"],
            "additionalProperties": False,
        },
        strict=True,
    ),
    SchemaCase(
        "lone_all_of_merged_defaults_described_meta_dropped_title_named",
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Weather report!",
            "type": "object",
            "properties": {
                "unit": {"type": "string", "enum": ["c", "f"], "default": "c", "description": "Unit."},
                "temp": {"allOf": [{"$ref": "#/$defs/Temp"}]},
                "days": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 7},
            },
            "required": ["unit", "temp", "days"],
            "additionalProperties": False,
            "$defs": {"Temp": {"type": "string", "format": "date-time"}},
        },
        {
            "title": "Weather report!",
            "type": "object",
            "properties": {
                "unit": {"type": "string", "enum": ["c", "f"], "description": 'Unit.\nDefault: "c"'},
                "temp": {"$ref": "#/$defs/Temp"},
                "days": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": 7},
            },
            "required": ["unit", "temp", "days"],
            "additionalProperties": False,
            "$defs": {"Temp": {"type": "string", "format": "date-time"}},
        },
        strict=True,
        name="Weather_report",
    ),
]
LOOSE_SCHEMAS = {
    "one_of": {"type": "object", "properties": {"a": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}},
    "min_length": {"type": "object", "properties": {"a": {"type": "string", "minLength": 2}}},
    "uri_format": {"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}},
    "open_object": {"type": "object", "properties": {}, "additionalProperties": {"type": "string"}},
    "array_root": {"type": "array", "items": {"type": "string"}},
    "two_all_of": {"allOf": [{"type": "object"}, {"required": ["a"]}]},
}
SCHEMA_CASES += [
    SchemaCase(f"beyond_strict_mode_{key}", schema, schema, strict=False) for key, schema in LOOSE_SCHEMAS.items()
]


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda case: case.id)
def test_output_format_becomes_a_json_schema_response_format(case: SchemaCase) -> None:
    params = request(output_config={"format": {"type": "json_schema", "schema": case.schema}})
    assert to_chat_request(params)["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": case.name, "schema": case.sent, "strict": case.strict},
    }


def test_every_answer_a_strict_schema_allows_validates_against_the_callers_schema() -> None:
    """The rewrite only narrows: an answer OpenAI must give under the sent schema is valid under the caller's."""
    case = SCHEMA_CASES[1]
    answer = {"city": "Oslo", "note": None, "where": {"lat": 59.9}}
    jsonschema.validate(answer, case.sent)
    jsonschema.validate(answer, case.schema)


# -- thinking and effort -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EffortCase:
    id: str
    model: str
    thinking: JSON | None
    effort: str | None
    sent: str | None


def enabled(budget: int) -> JSON:
    return {"type": "enabled", "budget_tokens": budget}


ADAPTIVE = {"type": "adaptive"}
DISABLED = {"type": "disabled"}

EFFORT_CASES = [
    EffortCase("small_budget_is_low", "o4-mini", enabled(2048), None, "low"),
    EffortCase("medium_budget", "o4-mini", enabled(8000), None, "medium"),
    EffortCase("claude_codes_budget_is_high", "o4-mini", enabled(31999), None, "high"),
    EffortCase("huge_budget_is_xhigh_where_the_model_has_it", "gpt-5.2", enabled(100_000), None, "xhigh"),
    EffortCase("huge_budget_is_the_top_of_o_series", "o4-mini", enabled(100_000), None, "high"),
    EffortCase("an_effort_beats_the_budget", "o4-mini", enabled(31999), "low", "low"),
    EffortCase("adaptive_with_effort", "o4-mini", ADAPTIVE, "high", "high"),
    EffortCase("adaptive_alone_leaves_the_model_its_default", "o4-mini", ADAPTIVE, None, None),
    EffortCase("max_on_o_series_is_high", "o4-mini", ADAPTIVE, "max", "high"),
    EffortCase("max_on_gpt_5_2_is_xhigh", "gpt-5.2", ADAPTIVE, "max", "xhigh"),
    EffortCase("max_on_gpt_5_6_is_max", "gpt-5.6-sol", ADAPTIVE, "max", "max"),
    EffortCase("low_below_what_the_model_takes_is_its_lowest", "gpt-5.2-pro", None, "low", "medium"),
    EffortCase("effort_without_thinking", "gpt-5", None, "medium", "medium"),
    EffortCase("disabled_is_none_where_the_model_has_it", "gpt-5.1", DISABLED, "high", "none"),
    EffortCase("disabled_is_minimal_on_gpt_5", "gpt-5-mini", DISABLED, None, "minimal"),
    EffortCase("disabled_is_low_on_o_series", "o3", DISABLED, None, "low"),
    EffortCase(
        "dated_and_fine_tuned_names_are_their_family", "ft:o4-mini-2025-04-16:org::x", enabled(2048), None, "low"
    ),
    EffortCase("fixed_effort_models_take_none", "o1-mini", enabled(2048), None, None),
    EffortCase(
        "adaptive_on_a_model_that_cannot_reason",
        "gpt-4o-mini",
        {"type": "adaptive", "display": "omitted"},
        "medium",
        None,
    ),
    EffortCase("disabled_on_a_model_that_cannot_reason", "gpt-4o-mini", DISABLED, None, None),
    EffortCase("chat_latest_does_not_reason", "gpt-5-chat-latest", None, "high", None),
]


@pytest.mark.parametrize("case", EFFORT_CASES, ids=lambda case: case.id)
def test_thinking_and_effort_become_reasoning_effort(case: EffortCase) -> None:
    extra: JSON = {"max_tokens": 200_000}
    if case.thinking is not None:
        extra["thinking"] = case.thinking
    if case.effort is not None:
        extra["output_config"] = {"effort": case.effort}
    body = to_chat_request(request(case.model, **extra))
    assert body.get("reasoning_effort") == case.sent
    assert body["max_completion_tokens"] == 200_000


def test_thinking_enabled_on_a_model_that_cannot_reason_is_refused_by_name() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        to_chat_request(request("gpt-4o-mini", thinking=enabled(2048)))
    assert refused.value.message.startswith(
        "thinking.type: 'enabled' is not supported by provider 'openai' (model gpt-4o-mini): the model does not reason"
    )


def test_reasoning_tokens_are_thinking_tokens_inside_output_tokens() -> None:
    completion = chat_completion(
        "391",
        usage={
            "prompt_tokens": 20,
            "completion_tokens": 120,
            "completion_tokens_details": {"reasoning_tokens": 96},
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    )
    usage = from_chat_response(completion, model="o4-mini")["usage"]
    assert usage["output_tokens"] == 120 and usage["output_tokens_details"] == {"thinking_tokens": 96}


# -- web search --------------------------------------------------------------------------------------------------

WEB_SEARCH = {
    "type": "web_search_20250305",
    "name": "web_search",
    "max_uses": 3,
    "user_location": {
        "type": "approximate",
        "city": "Paris",
        "country": "FR",
        "region": None,
        "timezone": "Europe/Paris",
    },
}
WEATHER = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.mark.parametrize("version", ["web_search_20250305", "web_search_20260209", "web_search_20260318"])
def test_web_search_becomes_web_search_options_on_a_search_model(version: str) -> None:
    body = to_chat_request(request(SEARCH_MODEL, tools=[{**WEB_SEARCH, "type": version}], tool_choice={"type": "auto"}))
    assert body["web_search_options"] == {
        "user_location": {
            "type": "approximate",
            "approximate": {"city": "Paris", "country": "FR", "timezone": "Europe/Paris"},
        }
    }
    assert "tools" not in body and "tool_choice" not in body  # OpenAI refuses a tool_choice without tools


def test_web_search_beside_a_function_keeps_the_function_and_its_choice() -> None:
    body = to_chat_request(
        request(
            SEARCH_MODEL, tools=[WEB_SEARCH, WEATHER], tool_choice={"type": "any", "disable_parallel_tool_use": True}
        )
    )
    assert [tool["function"]["name"] for tool in body["tools"]] == ["get_weather"]
    assert (body["tool_choice"], body["parallel_tool_calls"]) == ("required", False)
    assert "web_search_options" in body


@pytest.mark.parametrize(
    ("model", "tool", "message"),
    [
        (
            "gpt-4o-mini",
            WEB_SEARCH,
            "tools.0: tool type 'web_search_20250305' is not supported by provider 'openai' (model gpt-4o-mini): only "
            "OpenAI's search models search the web",
        ),
        (
            SEARCH_MODEL,
            {**WEB_SEARCH, "allowed_domains": ["python.org"]},
            "tools.0.allowed_domains: not supported by provider 'openai' (model gpt-4o-search-preview); Chat "
            "Completions web search has no domain filter",
        ),
        (SEARCH_MODEL, {**WEB_SEARCH, "blocked_domains": ["x.com"]}, "tools.0.blocked_domains: not supported"),
    ],
)
def test_web_search_that_openai_cannot_do_is_refused_by_name(model: str, tool: JSON, message: str) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        to_chat_request(request(model, tools=[tool]))
    assert refused.value.message.startswith(message)


SEARCH_TEXT = (
    "Here is what I found about Python: Python 3.14 is out ([Python](https://python.org)). "
    "Free threading landed ([Docs](https://docs.python.org)) ([Python](https://python.org)). Enjoy."
)


def annotation(start: int, link: str, url: str, title: str) -> JSON:
    assert SEARCH_TEXT[start : start + len(link)] == link
    return {
        "type": "url_citation",
        "url_citation": {"start_index": start, "end_index": start + len(link), "url": url, "title": title},
    }


PYTHON_LINK = "([Python](https://python.org))"
DOCS_LINK = "([Docs](https://docs.python.org))"
SEARCH_ANNOTATIONS = [
    annotation(SEARCH_TEXT.index(PYTHON_LINK), PYTHON_LINK, "https://python.org", "Python"),
    annotation(SEARCH_TEXT.index(DOCS_LINK), DOCS_LINK, "https://docs.python.org", "Docs"),
    annotation(SEARCH_TEXT.rindex(PYTHON_LINK), PYTHON_LINK, "https://python.org", "Python"),  # cited twice
]


def citation(url: str, title: str, cited: str) -> JSON:
    return {
        "type": "web_search_result_location",
        "url": url,
        "title": title,
        "cited_text": cited,
        "encrypted_index": "",
    }


def chat_completion(
    content: str, *, annotations: list[JSON] | None = None, usage: JSON | None = None, model: str = "x"
) -> JSON:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "annotations": annotations or []},
                "finish_reason": "stop",
            }
        ],
        "usage": usage or {"prompt_tokens": 40, "completion_tokens": 60, "prompt_tokens_details": {"cached_tokens": 0}},
    }


def test_a_search_answer_becomes_anthropics_web_search_blocks_and_citations() -> None:
    completion = chat_completion(SEARCH_TEXT, annotations=SEARCH_ANNOTATIONS, model="gpt-4o-search-preview-2025-03-11")
    message = from_chat_response(completion, model=SEARCH_MODEL, message_id="msg_1")
    search_id = message["content"][0]["id"]
    assert search_id.startswith("srvtoolu_")
    second = SEARCH_TEXT.index(". Free")
    assert message["content"] == [
        {"type": "server_tool_use", "id": search_id, "name": "web_search", "input": {}},
        {
            "type": "web_search_tool_result",
            "tool_use_id": search_id,
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://python.org",
                    "title": "Python",
                    "encrypted_content": "",
                    "page_age": None,
                },
                {
                    "type": "web_search_result",
                    "url": "https://docs.python.org",
                    "title": "Docs",
                    "encrypted_content": "",
                    "page_age": None,
                },
            ],
        },
        {
            "type": "text",
            "text": SEARCH_TEXT[: SEARCH_TEXT.index(PYTHON_LINK) + len(PYTHON_LINK)],
            "citations": [
                citation("https://python.org", "Python", "Here is what I found about Python: Python 3.14 is out")
            ],
        },
        {
            "type": "text",
            "text": SEARCH_TEXT[second : SEARCH_TEXT.index(DOCS_LINK) + len(DOCS_LINK)],
            "citations": [citation("https://docs.python.org", "Docs", "Free threading landed")],
        },
        {
            "type": "text",
            "text": f" {PYTHON_LINK}",  # a second source for the same sentence: its own words are the link
            "citations": [citation("https://python.org", "Python", PYTHON_LINK)],
        },
        {"type": "text", "text": ". Enjoy.", "citations": None},
    ]
    assert "".join(block["text"] for block in message["content"][2:]) == SEARCH_TEXT
    assert message["usage"]["server_tool_use"] == {"web_search_requests": 1, "web_fetch_requests": 0}


def test_an_answer_of_another_model_has_no_search_blocks() -> None:
    message = from_chat_response(chat_completion("Hello"), model="gpt-4o-mini")
    assert message["content"] == [{"type": "text", "text": "Hello"}]
    assert "server_tool_use" not in message["usage"]


def test_a_searched_turn_in_history_keeps_its_pages_as_text() -> None:
    earlier = from_chat_response(chat_completion(SEARCH_TEXT, annotations=SEARCH_ANNOTATIONS), model=SEARCH_MODEL)
    params = request(SEARCH_MODEL, [user("Python news?"), assistant(earlier["content"]), user("And Rust?")])
    assert to_chat_request(params)["messages"][1] == {
        "role": "assistant",
        "content": "Web search results:\n- Python (https://python.org)\n- Docs (https://docs.python.org)\n\n"
        + SEARCH_TEXT,
    }


# -- streams: the SDK folds them into the non-streamed answer -----------------------------------------------------


def chunk(delta: JSON, finish_reason: str | None = None) -> JSON:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(usage: JSON) -> JSON:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [], "usage": usage}


def streamed(translator: ChatStreamTranslator, chunks: list[JSON]) -> list[tuple[str, JSON]]:
    events = [event for one in chunks for event in translator.feed(one)]
    return events + translator.finish()


def sdk_final_message(events: list[tuple[str, JSON]]) -> Any:
    anthropic = pytest.importorskip("anthropic")
    httpx2 = pytest.importorskip("httpx2")  # the HTTP client anthropic 2.x is built on
    body = b"".join(encode_sse(name, data) for name, data in events)

    def serve(_: Any) -> Any:
        return httpx2.Response(200, content=body, headers={"content-type": "text/event-stream"})

    client = anthropic.Anthropic(
        api_key="k", base_url="http://gateway.test", http_client=httpx2.Client(transport=httpx2.MockTransport(serve))
    )
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}]) as stream:
        return stream.get_final_message()


def test_a_streamed_search_answer_is_the_non_streamed_one() -> None:
    usage = {"prompt_tokens": 40, "completion_tokens": 60, "prompt_tokens_details": {"cached_tokens": 0}}
    pieces = [SEARCH_TEXT[i : i + 17] for i in range(0, len(SEARCH_TEXT), 17)]
    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in pieces]
    chunks += [chunk({"annotations": SEARCH_ANNOTATIONS}), chunk({}, "stop"), usage_chunk(usage)]
    translator = ChatStreamTranslator(model=SEARCH_MODEL, message_id="msg_1", searching=True)
    events = streamed(translator, chunks)
    final = sdk_final_message(events)

    anthropic = pytest.importorskip("anthropic")
    expected = from_chat_response(chat_completion(SEARCH_TEXT, annotations=SEARCH_ANNOTATIONS), model=SEARCH_MODEL)
    search_id = final.content[0].id
    for block in expected["content"][:2]:
        block["id" if block["type"] == "server_tool_use" else "tool_use_id"] = search_id
    assert (
        final.model_dump(mode="json")["content"]
        == (anthropic.types.Message.model_validate(expected).model_dump(mode="json")["content"])
    )
    assert final.usage.server_tool_use.web_search_requests == 1
    assert translator.usage == expected["usage"]


def test_streamed_reasoning_tokens_reach_the_sdks_final_usage() -> None:
    usage = {
        "prompt_tokens": 20,
        "completion_tokens": 120,
        "completion_tokens_details": {"reasoning_tokens": 96},
        "prompt_tokens_details": {"cached_tokens": 1024},
    }
    chunks = [chunk({"role": "assistant", "content": "391"}), chunk({}, "stop"), usage_chunk(usage)]
    final = sdk_final_message(streamed(ChatStreamTranslator(model="o4-mini", message_id="msg_1"), chunks))
    assert final.usage.output_tokens == 120 and final.usage.output_tokens_details.thinking_tokens == 96
    assert final.usage.cache_read_input_tokens == 1024 and final.usage.input_tokens == 0  # 20 - 1024, floored
    assert [block.type for block in final.content] == ["text"]  # Chat Completions returns no reasoning text


# -- tools -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CLIENT_TOOLS))
def test_anthropic_client_tools_become_functions_with_their_schema(kind: str) -> None:
    name, spec = CLIENT_TOOLS[kind]
    tool = {"type": kind, "name": name}
    (function,) = to_chat_request(request(tools=[tool]))["tools"]
    assert function == {"type": "function", "function": {"name": name, **spec}}
    jsonschema.Draft202012Validator.check_schema(spec["parameters"])


def test_text_editor_max_characters_is_told_to_the_model() -> None:
    tool = {"type": "text_editor_20250728", "name": "str_replace_based_edit_tool", "max_characters": 10000}
    (function,) = to_chat_request(request(tools=[tool]))["tools"]
    assert function["function"]["description"].endswith("The caller cuts view output at 10000 characters.")
    assert function["function"]["parameters"]["properties"]["command"]["enum"] == [
        "view",
        "create",
        "str_replace",
        "insert",
    ]


def test_input_examples_are_appended_to_the_description() -> None:
    tool = {**WEATHER, "description": "Weather for a city.", "input_examples": [{"city": "Paris"}, {"city": "Oslo"}]}
    (function,) = to_chat_request(request(tools=[tool]))["tools"]
    assert function["function"]["description"] == (
        'Weather for a city.\n\nExamples of input:\n{"city":"Paris"}\n{"city":"Oslo"}'
    )
    bare = {**WEATHER, "input_examples": [{"city": "Paris"}]}
    (function,) = to_chat_request(request(tools=[bare]))["tools"]
    assert function["function"]["description"] == 'Examples of input:\n{"city":"Paris"}'


# -- documents and search results ---------------------------------------------------------------------------------

SEARCH_RESULT = {
    "type": "search_result",
    "source": "https://docs.example.com/a",
    "title": "Install guide",
    "content": [{"type": "text", "text": "Run make."}, {"type": "text", "text": "Then make install."}],
}
SEARCH_RESULT_TEXT = "Search result: Install guide\nSource: https://docs.example.com/a\nRun make.\nThen make install."


def test_document_title_and_context_travel_as_text_before_the_document() -> None:
    document = {
        "type": "document",
        "title": "Q3 report",
        "context": "Written by finance.",
        "source": {"type": "text", "media_type": "text/plain", "data": "Revenue rose."},
    }
    params = request(messages=[user([document, {"type": "text", "text": "Summarise."}])])
    assert to_chat_request(params)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Document title: Q3 report\nDocument context: Written by finance."},
                {"type": "text", "text": "Revenue rose."},
                {"type": "text", "text": "Summarise."},
            ],
        }
    ]


def test_search_results_travel_as_text_in_user_turns_and_tool_results() -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "search_docs", "input": {"q": "install"}}
    params = request(
        messages=[
            user([SEARCH_RESULT]),
            assistant([call]),
            user([{"type": "tool_result", "tool_use_id": "toolu_1", "content": [SEARCH_RESULT]}]),
        ]
    )
    messages = to_chat_request(params)["messages"]
    assert messages[0] == {"role": "user", "content": [{"type": "text", "text": SEARCH_RESULT_TEXT}]}
    assert messages[2] == {"role": "tool", "tool_call_id": "toolu_1", "content": SEARCH_RESULT_TEXT}


# -- batches use the same translator ------------------------------------------------------------------------------


def test_a_batch_line_carries_the_same_mappings_and_its_result_the_same_usage() -> None:
    params = request(
        "o4-mini",
        [system("Be exact."), user("What is 17 * 23?")],
        thinking=enabled(2048),
        output_config={"format": {"type": "json_schema", "schema": CLOSED_OBJECT}},
    )
    line = to_batch_line("req-1", params)
    assert line["body"] == to_chat_request(params)
    assert line["body"]["reasoning_effort"] == "low" and line["body"]["response_format"]["json_schema"]["strict"]
    assert line["body"]["messages"][0] == {"role": "developer", "content": "Be exact."}

    usage = {"prompt_tokens": 30, "completion_tokens": 50, "completion_tokens_details": {"reasoning_tokens": 30}}
    output = {
        "custom_id": "req-1",
        "response": {"status_code": 200, "body": chat_completion('{"a":"391"}', usage=usage)},
    }
    result = from_batch_output_line(output)["result"]
    assert result["type"] == "succeeded"
    assert result["message"]["content"] == [{"type": "text", "text": '{"a":"391"}'}]
    assert result["message"]["usage"]["output_tokens_details"] == {"thinking_tokens": 30}


def test_a_search_models_refusal_is_plain_text_streamed_or_not() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 0}}
    chunks = [chunk({"role": "assistant", "refusal": "I can't "}), chunk({"refusal": "help."}), chunk({}, "stop")]
    final = sdk_final_message(
        streamed(ChatStreamTranslator(model=SEARCH_MODEL, searching=True), [*chunks, usage_chunk(usage)])
    )
    completion = chat_completion("", usage=usage)
    completion["choices"][0]["message"].update(content=None, refusal="I can't help.")
    message = from_chat_response(completion, model=SEARCH_MODEL)
    assert message["content"] == [{"type": "text", "text": "I can't help."}] and message["stop_reason"] == "refusal"
    assert [(block.type, block.text) for block in final.content] == [("text", "I can't help.")]
    assert final.stop_reason == "refusal"


def test_a_search_result_in_an_assistant_turn_is_part_of_its_text() -> None:
    params = request(
        messages=[user("Docs?"), assistant([SEARCH_RESULT, {"type": "text", "text": "See above."}]), user("Ok")]
    )
    assert to_chat_request(params)["messages"][1] == {
        "role": "assistant",
        "content": SEARCH_RESULT_TEXT + "\n\nSee above.",
    }
