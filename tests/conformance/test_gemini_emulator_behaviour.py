"""The Gemini emulator behaves like a model an agent can finish with, proven through the official google-genai SDK.

Function calls only when asked, answers from function responses, ``responseJsonSchema``/``responseSchema``
structured output, ``thinkingConfig`` (budget, level, thought parts) with Google's refusals, Google Search
grounding metadata and Google's 404 for unknown models. Wire responses are validated against Google's OpenAPI
export with closed objects (``assert_schema``).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pydantic
import pytest
from google import genai
from google.genai import errors, types

from finops.emulators.gemini.app import create_app
from tests.conformance.test_gemini_emulator import WEATHER_TOOL, assert_schema
from tests.support.servers import serve_in_thread

API_KEY = "test-key"
READ_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="read_file",
            description="Read a text file from disk.",
            parameters_json_schema={
                "type": "object",
                "properties": {"path": {"type": "string"}},
                "required": ["path"],
            },
        )
    ]
)
SEARCH = types.Tool(google_search=types.GoogleSearch())


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve_in_thread(create_app(api_keys={API_KEY})) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> genai.Client:
    return genai.Client(api_key=API_KEY, http_options=types.HttpOptions(base_url=base_url))


@pytest.fixture
def raw(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{base_url}/v1beta", headers={"x-goog-api-key": API_KEY}, timeout=10) as http:
        yield http


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# --- function calling -----------------------------------------------------------------------------------------


def test_an_agent_reads_a_file_then_gets_an_answer_from_it(client: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=[READ_TOOL, WEATHER_TOOL], system_instruction="You are an agent.")
    question = types.Content(role="user", parts=[types.Part(text="Please read_file /data/plan.md and summarise it")])
    first = client.models.generate_content(model="gemini-2.5-flash", contents=[question], config=config)
    assert [call.name for call in first.function_calls or []] == ["read_file"]
    assert first.function_calls[0].args == {"path": "/data/plan.md"}  # type: ignore[index]

    result = types.Part.from_function_response(name="read_file", response={"content": "Ship on Friday."})
    history = [question, first.candidates[0].content, types.Content(role="user", parts=[result])]
    answer = client.models.generate_content(model="gemini-2.5-flash", contents=history, config=config)
    assert not answer.function_calls and "Ship on Friday." in (answer.text or "")


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Say hello", None),
        ("What is the weather like in Oslo?", "get_weather"),
        ("Read a text file from disk: notes.txt", "read_file"),
    ],
)
def test_auto_calls_a_function_only_when_asked(client: genai.Client, prompt: str, expected: str | None) -> None:
    config = types.GenerateContentConfig(tools=[READ_TOOL, WEATHER_TOOL])
    response = client.models.generate_content(model="gemini-2.0-flash", contents=prompt, config=config)
    assert [call.name for call in response.function_calls or []] == ([expected] if expected else [])
    if expected == "get_weather":
        assert response.function_calls[0].args["city"] == "Oslo"  # type: ignore[index]


# --- structured output ----------------------------------------------------------------------------------------


class Recipe(pydantic.BaseModel):
    title: str
    servings: int
    ingredients: list[str]


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def test_structured_output_in_both_schema_dialects(client: genai.Client, raw: httpx.Client) -> None:
    prompt = 'A recipe called "Pancakes" for 4 people.'
    typed = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=prompt,
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=Recipe),
    )
    assert isinstance(typed.parsed, Recipe)
    assert (typed.parsed.title, typed.parsed.servings) == ("Pancakes", 4)

    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "servings": {"type": "integer", "minimum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "uniqueItems": True},
        },
        "required": ["title", "servings", "tags"],
        "additionalProperties": False,
    }
    body = {
        "contents": [_user(prompt)],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": schema},
    }
    wire = raw.post("/models/gemini-2.5-flash:generateContent", json=body).json()
    assert_schema(wire, "GenerateContentResponse")
    jsonschema.validate(json.loads(wire["candidates"][0]["content"]["parts"][-1]["text"]), schema)

    mood = client.models.generate_content(
        model="gemini-2.0-flash",
        contents="I feel sad today",
        config=types.GenerateContentConfig(response_mime_type="text/x.enum", response_schema=Mood),
    )
    assert mood.text == "sad"

    both = {"responseMimeType": "application/json", "responseJsonSchema": schema, "responseSchema": {"type": "OBJECT"}}
    refused = raw.post("/models/gemini-2.5-flash:generateContent", json={**body, "generationConfig": both})
    assert refused.status_code == 400 and refused.json()["error"]["status"] == "INVALID_ARGUMENT"
    no_mime = raw.post(
        "/models/gemini-2.5-flash:generateContent", json={**body, "generationConfig": {"responseJsonSchema": schema}}
    )
    assert no_mime.status_code == 400 and "response_mime_type" in no_mime.json()["error"]["message"]


# --- thinking -------------------------------------------------------------------------------------------------


def test_thinking_config_budget_level_and_thought_parts(client: genai.Client) -> None:
    def usage(model: str, **thinking: Any) -> types.GenerateContentResponse:
        config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(**thinking))
        return client.models.generate_content(model=model, contents="Why is the sky blue?", config=config)

    shown = usage("gemini-2.5-flash", thinking_budget=1024, include_thoughts=True)
    parts = shown.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert parts[0].thought is True and parts[0].text and not parts[1].thought  # type: ignore[index]
    assert shown.usage_metadata.thoughts_token_count  # type: ignore[union-attr]
    capped = usage("gemini-2.5-flash", thinking_budget=10)
    assert capped.usage_metadata.thoughts_token_count == 10  # type: ignore[union-attr]
    assert not capped.candidates[0].content.parts[0].thought  # type: ignore[index, union-attr]
    off = usage("gemini-2.5-flash", thinking_budget=0)
    assert not off.usage_metadata.thoughts_token_count  # type: ignore[union-attr]
    assert not usage("gemini-2.5-flash-lite").usage_metadata.thoughts_token_count  # type: ignore[union-attr]

    low = usage("gemini-3-pro-preview", thinking_level=types.ThinkingLevel.LOW)
    high = usage("gemini-3-pro-preview", thinking_level=types.ThinkingLevel.HIGH)
    assert high.usage_metadata.thoughts_token_count > low.usage_metadata.thoughts_token_count  # type: ignore[operator, union-attr]


def test_max_output_tokens_bounds_thoughts_and_answer_together(client: genai.Client) -> None:
    """Google counts thoughts against ``maxOutputTokens``: a small allowance is thought away, and the answer is
    cut (or empty) with MAX_TOKENS, never longer than the caller allowed."""

    def answer(max_output_tokens: int) -> types.GenerateContentResponse:
        config = types.GenerateContentConfig(max_output_tokens=max_output_tokens)
        return client.models.generate_content(model="gemini-2.5-flash", contents="Why is the sky blue?", config=config)

    roomy, tight = answer(4096), answer(20)
    thoughts = roomy.usage_metadata.thoughts_token_count  # type: ignore[union-attr]
    assert thoughts and thoughts > 20 and roomy.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    usage = tight.usage_metadata
    assert usage.thoughts_token_count == 20 and not usage.candidates_token_count  # type: ignore[union-attr]
    assert tight.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS  # type: ignore[index]
    enough = answer(thoughts + 3)
    assert enough.usage_metadata.candidates_token_count == 3  # type: ignore[union-attr]
    assert enough.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS  # type: ignore[index]


@pytest.mark.parametrize(
    ("model", "thinking", "needle"),
    [
        ("gemini-2.5-pro", {"thinkingBudget": 0}, "only works in thinking mode"),
        ("gemini-2.5-flash", {"thinkingLevel": "LOW"}, "not supported"),
        ("gemini-3-pro-preview", {"thinkingLevel": "LOW", "thinkingBudget": 100}, "only one of"),
        ("gemini-2.0-flash", {"thinkingBudget": 512}, "not supported"),
        ("gemini-3-pro-preview", {"thinkingLevel": "MEDIUM"}, "Thinking level MEDIUM is not supported"),
        ("gemini-3-pro-preview", {"thinkingLevel": "MINIMAL"}, "Thinking level MINIMAL is not supported"),
    ],
)
def test_thinking_config_is_refused_where_google_refuses_it(
    raw: httpx.Client, model: str, thinking: dict[str, Any], needle: str
) -> None:
    body = {"contents": [_user("hi")], "generationConfig": {"thinkingConfig": thinking}}
    refused = raw.post(f"/models/{model}:generateContent", json=body)
    assert refused.status_code == 400 and needle in refused.json()["error"]["message"]


# --- grounding ------------------------------------------------------------------------------------------------


def test_google_search_grounds_the_answer(client: genai.Client, raw: httpx.Client, base_url: str) -> None:
    body = {"contents": [_user("Search the web for the latest Gemini news")], "tools": [{"google_search": {}}]}
    wire = raw.post("/models/gemini-2.5-flash:generateContent", json=body).json()
    assert_schema(wire, "GenerateContentResponse")
    grounding = wire["candidates"][0]["groundingMetadata"]
    assert grounding["webSearchQueries"] == ["the latest Gemini news"]
    chunks, supports = grounding["groundingChunks"], grounding["groundingSupports"]
    assert len(chunks) == 3 and all(c["web"]["uri"].startswith("https://example.") for c in chunks)
    text = wire["candidates"][0]["content"]["parts"][-1]["text"].encode()
    for support in supports:
        segment = support["segment"]
        assert text[segment["startIndex"] : segment["endIndex"]].decode() == segment["text"]
        assert all(0 <= index < len(chunks) for index in support["groundingChunkIndices"])
    assert wire["usageMetadata"]["toolUsePromptTokenCount"] > 0

    response = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="Search the web for the latest Gemini news",
        config=types.GenerateContentConfig(tools=[SEARCH]),
    )
    metadata = response.candidates[0].grounding_metadata  # type: ignore[index]
    assert metadata is not None and [c.web.uri for c in metadata.grounding_chunks or []] == [
        c["web"]["uri"] for c in chunks
    ]  # type: ignore[union-attr]

    streamed = list(
        client.models.generate_content_stream(
            model="gemini-2.5-flash",
            contents="Search the web for the latest Gemini news",
            config=types.GenerateContentConfig(tools=[SEARCH]),
        )
    )
    assert streamed[-1].candidates[0].grounding_metadata is not None  # type: ignore[index]

    plain = client.models.generate_content(
        model="gemini-2.5-flash", contents="What is 2 + 2?", config=types.GenerateContentConfig(tools=[SEARCH])
    )
    assert plain.candidates[0].grounding_metadata is None  # type: ignore[index]


def test_built_in_tools_beside_functions_only_on_gemini_3(client: genai.Client) -> None:
    both = types.GenerateContentConfig(tools=[types.Tool(google_search=types.GoogleSearch()), WEATHER_TOOL])
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-2.5-flash", contents="Search the web for news", config=both)
    assert (
        caught.value.code == 400
        and caught.value.message == "Tool use with function calling is unsupported by the model."
    )
    code_and_function = types.GenerateContentConfig(
        tools=[types.Tool(code_execution=types.ToolCodeExecution()), WEATHER_TOOL]
    )
    with pytest.raises(errors.ClientError):
        client.models.generate_content(model="gemini-2.0-flash", contents="hi", config=code_and_function)
    answer = client.models.generate_content(model="gemini-3-flash-preview", contents="hi", config=both)
    assert answer.text


# --- code execution -------------------------------------------------------------------------------------------


def test_code_execution_runs_python_and_answers_from_its_output(client: genai.Client, raw: httpx.Client) -> None:
    config = types.GenerateContentConfig(tools=[types.Tool(code_execution=types.ToolCodeExecution())])
    response = client.models.generate_content(
        model="gemini-2.5-flash", contents="Calculate 17 * 23 with Python code.", config=config
    )
    parts = response.candidates[0].content.parts  # type: ignore[index, union-attr]
    assert parts[0].executable_code.code == "print(17 * 23)"  # type: ignore[index, union-attr]
    assert parts[0].executable_code.language == types.Language.PYTHON  # type: ignore[index, union-attr]
    assert parts[1].code_execution_result.outcome == types.Outcome.OUTCOME_OK  # type: ignore[index, union-attr]
    assert parts[1].code_execution_result.output == "391\n"  # type: ignore[index, union-attr]
    assert "391" in (response.text or "")
    assert response.usage_metadata.tool_use_prompt_token_count  # type: ignore[union-attr]

    body = {"contents": [_user("Compute 1 / 0 in python")], "tools": [{"codeExecution": {}}]}
    wire = raw.post("/models/gemini-2.5-flash:generateContent", json=body).json()
    assert_schema(wire, "GenerateContentResponse")
    failed = wire["candidates"][0]["content"]["parts"][1]["codeExecutionResult"]
    assert failed == {"outcome": "OUTCOME_FAILED", "output": "ZeroDivisionError: division by zero\n"}

    plain = client.models.generate_content(model="gemini-2.5-flash", contents="Say hello.", config=config)
    assert all(part.executable_code is None for part in plain.candidates[0].content.parts)  # type: ignore[index, union-attr]


# --- models and roles -----------------------------------------------------------------------------------------


def test_unknown_models_and_wrong_methods_are_googles_404(client: genai.Client, raw: httpx.Client) -> None:
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(model="gemini-9-ultra", contents="hi")
    assert caught.value.code == 404 and caught.value.status == "NOT_FOUND"
    assert "models/gemini-9-ultra is not found for API version v1" in (caught.value.message or "")
    embedding = raw.post("/models/gemini-embedding-001:generateContent", json={"contents": [_user("hi")]})
    assert embedding.status_code == 404 and "not supported for generateContent" in embedding.json()["error"]["message"]
    chat = raw.post("/models/gemini-2.5-flash:embedContent", json={"content": {"parts": [{"text": "hi"}]}})
    assert chat.status_code == 404 and "not supported for embedContent" in chat.json()["error"]["message"]


def test_system_prompts_go_in_system_instruction_only(raw: httpx.Client) -> None:
    body = {"contents": [{"role": "system", "parts": [{"text": "Be brief."}]}, _user("hi")]}
    refused = raw.post("/models/gemini-2.5-flash:generateContent", json=body)
    assert refused.status_code == 400 and "valid role" in refused.json()["error"]["message"]
    body = {"systemInstruction": {"parts": [{"text": "Be brief."}]}, "contents": [_user("hi")]}
    assert raw.post("/models/gemini-2.5-flash:generateContent", json=body).status_code == 200
