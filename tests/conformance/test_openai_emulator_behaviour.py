"""The OpenAI emulator behaves like a model an agent can finish with, proven through the official ``openai`` SDK.

Tool calls only when asked (``auto`` used to call one on every turn), answers from tool results, Structured
Outputs (``json_schema`` with ``strict``, ``json_object``), reasoning models' ``reasoning_effort`` and reasoning
tokens, search models' ``url_citation`` annotations and OpenAI's 404s. Response bodies are validated against
``specs/openai/openapi.json`` (``check_response``), request bodies against the request schema.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pydantic
import pytest

from finops.emulators.openai.app import create_app
from tests.conformance.test_openai_emulator import check_request, check_response
from tests.support.emulator import EmulatorHandle
from tests.support.servers import serve_in_thread

API_KEY = "sk-emulator-test"
CHAT = "/v1/chat/completions"
READ_FILE = {
    "type": "function",
    "function": {
        "name": "read_file",
        "description": "Read a text file from disk.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOLS = [READ_FILE, WEATHER]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(api_keys={API_KEY})) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[openai.OpenAI]:
    EmulatorHandle(base_url).reset()
    sdk = openai.OpenAI(base_url=f"{base_url}/v1", api_key=API_KEY, max_retries=0, _strict_response_validation=True)
    yield sdk
    sdk.close()


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {API_KEY}"}, timeout=10) as raw:
        yield raw


def _post(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    check_request("CreateChatCompletionRequest", body)
    response = http.post(CHAT, json=body)
    assert response.status_code == 200, response.text
    return check_response("CreateChatCompletionResponse", response.json())


# --- tools ----------------------------------------------------------------------------------------------------


def test_an_agent_reads_a_file_then_gets_an_answer_from_it(client: openai.OpenAI, base_url: str) -> None:
    messages: list[Any] = [
        {"role": "developer", "content": "You are a coding agent."},
        {"role": "user", "content": "Please read_file /srv/notes.txt and tell me the code word."},
    ]
    first = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    calls = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls" and calls is not None and len(calls) == 1
    assert calls[0].function.name == "read_file"  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments) == {"path": "/srv/notes.txt"}  # type: ignore[union-attr]

    messages += [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": calls[0].id, "content": "The code word is HALIBUT."},
    ]
    answer = client.chat.completions.create(model="gpt-4.1", messages=messages, tools=TOOLS)  # type: ignore[arg-type]
    assert answer.choices[0].finish_reason == "stop" and not answer.choices[0].message.tool_calls
    assert "The code word is HALIBUT." in (answer.choices[0].message.content or "")

    # A gateway may put the rest of the tool-result turn (an agent's reminder) in a user message after it.
    reminder = {"role": "user", "content": "<system-reminder>Remember to read_file carefully.</system-reminder>"}
    again = client.chat.completions.create(model="gpt-4.1", messages=[*messages, reminder], tools=TOOLS)  # type: ignore[arg-type]
    assert again.choices[0].finish_reason == "stop" and "HALIBUT" in (again.choices[0].message.content or "")
    assert EmulatorHandle(base_url).request_count() == 3


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        pytest.param("Hello there!", None, id="small-talk"),
        pytest.param("What's the weather in Lisbon?", "get_weather", id="by-name"),
        pytest.param("Read a text file from disk for me: ./a.md", "read_file", id="by-description"),
        pytest.param("Please read the file", None, id="no-path-no-call"),
    ],
)
def test_auto_calls_a_tool_only_when_asked(http: httpx.Client, prompt: str, expected: str | None) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], "tools": TOOLS}
    message = _post(http, body)["choices"][0]["message"]
    if expected is None:
        assert message.get("tool_calls") is None and message["content"]
        return
    assert [call["function"]["name"] for call in message["tool_calls"]] == [expected]
    if expected == "get_weather":
        assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "Lisbon"}


def test_allowed_tools_restrict_the_choice(http: httpx.Client) -> None:
    allowed = {
        "type": "allowed_tools",
        "allowed_tools": {"mode": "required", "tools": [{"type": "function", "function": {"name": "get_weather"}}]},
    }
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": TOOLS,
        "tool_choice": allowed,
    }
    calls = _post(http, body)["choices"][0]["message"]["tool_calls"]
    assert [call["function"]["name"] for call in calls] == ["get_weather"]
    unknown = {
        **allowed,
        "allowed_tools": {"mode": "auto", "tools": [{"type": "function", "function": {"name": "nope"}}]},
    }
    refused = http.post(CHAT, json={**body, "tool_choice": unknown})
    assert refused.status_code == 400 and "nope" in refused.json()["error"]["message"]


# --- structured outputs ---------------------------------------------------------------------------------------


class Invoice(pydantic.BaseModel):
    customer: str
    total: float
    paid: bool
    lines: list[str]


def test_parse_returns_an_object_of_the_schema(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model="gpt-4o-2024-08-06",
        messages=[{"role": "user", "content": 'Invoice for "Globex": 1250.5 dollars, paid.'}],
        response_format=Invoice,
    )
    invoice = completion.choices[0].message.parsed
    assert isinstance(invoice, Invoice)
    assert invoice.customer == "Globex" and invoice.total == 1250.5


def test_json_schema_answers_validate_and_strict_schemas_are_checked(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "nested": {
                "type": "object",
                "properties": {"ok": {"type": "boolean"}},
                "required": ["ok"],
                "additionalProperties": False,
            },
        },
        "required": ["city", "days", "unit", "nested"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "json_schema": {"name": "forecast", "schema": schema, "strict": True}}
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Forecast for 3 days in Oslo, in fahrenheit"}],
        "response_format": fmt,
    }
    answer = json.loads(_post(http, body)["choices"][0]["message"]["content"])
    jsonschema.validate(answer, schema)
    assert answer == {"city": "Oslo", "days": 3, "unit": "fahrenheit", "nested": {"ok": True}}

    open_schema = {**schema, "additionalProperties": True}
    refused = http.post(
        CHAT, json={**body, "response_format": {**fmt, "json_schema": {**fmt["json_schema"], "schema": open_schema}}}
    )
    assert refused.status_code == 400
    assert "'additionalProperties' is required to be supplied and to be false" in refused.json()["error"]["message"]
    partial = {**schema, "required": ["city"]}
    refused = http.post(
        CHAT, json={**body, "response_format": {**fmt, "json_schema": {**fmt["json_schema"], "schema": partial}}}
    )
    assert refused.status_code == 400 and "Missing 'days'" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        pytest.param(
            {"type": "array", "items": {"type": "string"}},
            "schema must be a JSON Schema of 'type: \"object\"', got 'type: \"array\"'.",
            id="array_root",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 2}},
                "required": ["name"],
                "additionalProperties": False,
            },
            "In context=('properties', 'name'), 'minLength' is not permitted.",
            id="min_length",
        ),
        pytest.param(
            {
                "type": "object",
                "properties": {"pet": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
                "required": ["pet"],
                "additionalProperties": False,
            },
            "In context=('properties', 'pet'), 'oneOf' is not permitted.",
            id="one_of",
        ),
    ],
)
def test_strict_mode_refuses_what_its_subset_lacks_and_non_strict_takes_it(
    http: httpx.Client, schema: dict[str, Any], problem: str
) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Name a pet"}]}
    strict = {"type": "json_schema", "json_schema": {"name": "pet", "schema": schema, "strict": True}}
    refused = http.post(CHAT, json={**body, "response_format": strict})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["message"] == f"Invalid schema for response_format 'pet': {problem}"
    assert (error["param"], error["code"]) == ("response_format", "invalid_json_schema")

    loose = {"type": "json_schema", "json_schema": {"name": "pet", "schema": schema, "strict": False}}
    answer = json.loads(_post(http, {**body, "response_format": loose})["choices"][0]["message"]["content"])
    jsonschema.validate(answer, schema)


def test_json_object_mode_needs_the_word_json(http: httpx.Client) -> None:
    body = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Give me the answer as JSON: 2 + 2"}],
        "response_format": {"type": "json_object"},
    }
    assert json.loads(_post(http, body)["choices"][0]["message"]["content"])["answer"].startswith("2 + 2 = 4")
    body["messages"] = [{"role": "user", "content": "2 + 2"}]
    refused = http.post(CHAT, json=body)
    assert refused.status_code == 400 and "must contain the word 'json'" in refused.json()["error"]["message"]


# --- reasoning ------------------------------------------------------------------------------------------------


def test_reasoning_models_report_reasoning_tokens_by_effort(client: openai.OpenAI) -> None:
    ask = [{"role": "user", "content": "Plan a three-step migration."}]
    usage = {}
    for effort in ("low", "high"):
        completion = client.chat.completions.create(model="o4-mini", messages=ask, reasoning_effort=effort)  # type: ignore[arg-type]
        details = completion.usage.completion_tokens_details  # type: ignore[union-attr]
        assert details is not None and details.reasoning_tokens
        assert completion.choices[0].message.content and completion.usage is not None
        assert completion.usage.completion_tokens > details.reasoning_tokens  # reasoning is billed as output
        usage[effort] = details.reasoning_tokens
    assert usage["high"] > usage["low"]
    plain = client.chat.completions.create(model="gpt-4o", messages=ask)  # type: ignore[arg-type]
    assert (
        plain.usage
        and plain.usage.completion_tokens_details
        and plain.usage.completion_tokens_details.reasoning_tokens == 0
    )

    starved = client.chat.completions.create(model="o3", messages=ask, max_completion_tokens=5)  # type: ignore[arg-type]
    assert starved.choices[0].finish_reason == "length" and starved.choices[0].message.content == ""
    assert starved.usage and starved.usage.completion_tokens == 5


@pytest.mark.parametrize(
    ("model", "extra", "param"),
    [
        ("gpt-4o", {"reasoning_effort": "low"}, "reasoning_effort"),
        ("o3", {"max_tokens": 50}, "max_tokens"),
        ("gpt-5", {"temperature": 0.2}, "temperature"),
    ],
)
def test_reasoning_parameters_are_refused_where_openai_refuses_them(
    client: openai.OpenAI, model: str, extra: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    assert caught.value.param == param and caught.value.code in ("unsupported_parameter", "unsupported_value")


@pytest.mark.parametrize(
    ("model", "effort", "reasons"),
    [
        ("gpt-5.1", "none", False),
        ("gpt-5.1", None, False),  # from GPT-5.1 on the default is no reasoning
        ("gpt-5", "minimal", True),
        ("gpt-5.2", "xhigh", True),
        ("gpt-5.6-sol", "max", True),
        ("o1-mini", None, True),  # reasons at its fixed effort
    ],
)
def test_each_reasoning_model_takes_its_own_efforts(
    client: openai.OpenAI, model: str, effort: str | None, reasons: bool
) -> None:
    extra = {"reasoning_effort": effort} if effort else {}
    completion = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], **extra)
    details = completion.usage.completion_tokens_details  # type: ignore[union-attr]
    assert details is not None and bool(details.reasoning_tokens) is reasons


@pytest.mark.parametrize(
    ("model", "effort", "message", "code"),
    [
        (
            "gpt-5.1",
            "minimal",
            "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model. Supported values are: 'none', "
            "'low', 'medium', and 'high'.",
            "unsupported_value",
        ),
        (
            "o4-mini",
            "xhigh",
            "Unsupported value: 'xhigh' is not supported with the 'o4-mini' model. Supported values are: 'low', "
            "'medium', and 'high'.",
            "unsupported_value",
        ),
        (
            "o1-mini",
            "low",
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
            "unsupported_parameter",
        ),
    ],
)
def test_an_effort_the_model_lacks_is_refused_as_openai_does(
    client: openai.OpenAI, model: str, effort: str, message: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "hi"}],
            reasoning_effort=effort,  # type: ignore[arg-type]
        )
    assert caught.value.body["message"] == message  # type: ignore[index]
    assert (caught.value.param, caught.value.code) == ("reasoning_effort", code)


# --- web search -----------------------------------------------------------------------------------------------


def test_search_models_cite_their_sources(client: openai.OpenAI, http: httpx.Client, base_url: str) -> None:
    body = {
        "model": "gpt-4o-mini-search-preview",
        "messages": [{"role": "user", "content": "What happened in the latest Python release?"}],
        "web_search_options": {"search_context_size": "low"},
    }
    message = _post(http, body)["choices"][0]["message"]
    content, annotations = message["content"], message["annotations"]
    assert len(annotations) == 3
    for annotation in annotations:
        citation = annotation["url_citation"]
        assert annotation["type"] == "url_citation" and citation["url"].startswith("https://example.")
        assert content[citation["start_index"] : citation["end_index"]] == f"([{citation['title']}]({citation['url']}))"

    sdk_message = client.chat.completions.create(**body).choices[0].message  # type: ignore[arg-type]
    assert [a.url_citation.url for a in sdk_message.annotations or []] == [
        a["url_citation"]["url"] for a in annotations
    ]

    with httpx.stream(
        "POST", f"{base_url}{CHAT}", json={**body, "stream": True}, headers={"authorization": f"Bearer {API_KEY}"}
    ) as response:
        chunks = [json.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: {")]
    streamed = [a for c in chunks for a in c["choices"][0]["delta"].get("annotations", [])]
    assert streamed == annotations

    refused = http.post(CHAT, json={**body, "model": "gpt-4o"})
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "web_search_options"


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"search_context_size": "huge"}, "web_search_options.search_context_size"),
        ({"user_location": {"type": "exact", "approximate": {}}}, "web_search_options.user_location.type"),
        (
            {"user_location": {"type": "approximate", "approximate": {"street": "Main St"}}},
            "web_search_options.user_location.approximate",
        ),
    ],
)
def test_web_search_options_are_checked(http: httpx.Client, options: dict[str, Any], param: str) -> None:
    body = {
        "model": "gpt-4o-mini-search-preview",
        "messages": [{"role": "user", "content": "Latest news?"}],
        "web_search_options": options,
    }
    refused = http.post(CHAT, json=body)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == param
    located = {"user_location": {"type": "approximate", "approximate": {"city": "Paris", "country": "FR"}}}
    assert _post(http, {**body, "web_search_options": located})["choices"][0]["message"]["annotations"]


# --- models ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "code"),
    [("gpt-7-ultra", "model_not_found"), ("text-embedding-3-small", None)],
)
def test_models_that_cannot_chat_are_404(client: openai.OpenAI, model: str, code: str | None) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.code == code
    check_response("ErrorResponse", caught.value.response.json())


def test_every_sdk_chat_model_is_served(client: openai.OpenAI) -> None:
    for model in ("gpt-5.1-mini", "gpt-4o-2024-11-20", "ft:gpt-4o-mini-2024-07-18:acme::abc123", "chatgpt-4o-latest"):
        assert client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}]).model == model
    assert client.models.retrieve("gpt-5.2").id == "gpt-5.2"


def test_safety_identifier_is_at_most_64_characters(client: openai.OpenAI) -> None:
    ask: list[Any] = [{"role": "user", "content": "Hi"}]
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=ask, safety_identifier="u" * 64)
    assert answer.choices[0].message.content
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=ask, safety_identifier="u" * 65)
    assert caught.value.code == "string_above_max_length" and caught.value.param == "safety_identifier"
