"""Table-driven tests for the issue-12 mappings of the Gemini translator: system messages anywhere, thinking and
effort per model family, structured output, server tools (Google Search grounding, code execution), Anthropic's
client tools, documents and search results; and their answers, streamed and not, through the official SDK."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx2
import pytest

from finops.core.errors import InvalidRequestError
from finops.providers.gemini.blocks import blocks_from_events
from finops.providers.gemini.stream import GenerateStreamTranslator
from finops.providers.gemini.translate import from_generate_response, grounded, to_generate_request
from finops.providers.sse import encode_sse

JSON = dict[str, Any]
HI = [{"role": "user", "content": "hi"}]
HI_CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]
WEATHER_TOOL = {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}
SEARCH_TOOL = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
CODE_TOOL = {"type": "code_execution_20250522", "name": "code_execution"}


def body(model: str = "gemini-2.5-flash", **fields: Any) -> JSON:
    return {"model": model, "max_tokens": 100, "messages": HI, **fields}


def note(text: str) -> JSON:
    return {"text": f"<system-reminder>\n{text}\n</system-reminder>"}


# ------------------------------------------------------------------------------------------------------------
# System messages
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SystemCase:
    id: str
    params: JSON
    system: JSON | None
    contents: list[JSON]


SYSTEM_CASES = [
    SystemCase(
        id="leading_system_messages_join_the_system_prompt",
        params=body(
            system="Top.",
            messages=[
                {"role": "system", "content": "First."},
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Second.", "cache_control": {"type": "ephemeral"}}],
                },
                {"role": "user", "content": "hi"},
            ],
        ),
        system={"parts": [{"text": "Top."}, {"text": "First."}, {"text": "Second."}]},
        contents=HI_CONTENTS,
    ),
    SystemCase(
        id="mid_conversation_system_message_stays_in_place",
        params=body(
            messages=[
                {"role": "user", "content": "Hello!"},
                {"role": "assistant", "content": "Hi! How can I help?"},
                {"role": "system", "content": "From now on, answer in French."},
                {"role": "user", "content": "What is 2 + 2?"},
            ]
        ),
        system=None,
        contents=[
            {"role": "user", "parts": [{"text": "Hello!"}]},
            {"role": "model", "parts": [{"text": "Hi! How can I help?"}]},
            {"role": "user", "parts": [note("From now on, answer in French."), {"text": "What is 2 + 2?"}]},
        ],
    ),
    SystemCase(
        id="system_message_last_is_a_user_turn_of_its_own",
        params=body(
            messages=[
                {"role": "user", "content": "Hello!"},
                {"role": "assistant", "content": "Hi!"},
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Cite."}],
                },
            ]
        ),
        system=None,
        contents=[
            {"role": "user", "parts": [{"text": "Hello!"}]},
            {"role": "model", "parts": [{"text": "Hi!"}]},
            {"role": "user", "parts": [note("Be brief.\nCite.")]},
        ],
    ),
    SystemCase(
        id="system_message_after_the_first_user_turn_joins_it",  # where Claude Code puts its environment
        params=body(messages=[{"role": "user", "content": "Read notes.txt"}, {"role": "system", "content": "Env."}]),
        system=None,
        contents=[{"role": "user", "parts": [{"text": "Read notes.txt"}, note("Env.")]}],
    ),
    SystemCase(
        id="function_responses_stay_first_in_a_merged_user_turn",
        params=body(
            messages=[
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}}],
                },
                {"role": "system", "content": "Answer in one line."},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
            ]
        ),
        system=None,
        contents=[
            {"role": "user", "parts": [{"text": "weather?"}]},
            {"role": "model", "parts": [{"functionCall": {"id": "t1", "name": "get_weather", "args": {}}}]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "t1", "name": "get_weather", "response": {"content": "sunny"}}},
                    note("Answer in one line."),
                ],
            },
        ],
    ),
]


@pytest.mark.parametrize("case", SYSTEM_CASES, ids=lambda case: case.id)
def test_system_messages(case: SystemCase) -> None:
    _, request = to_generate_request(case.params)
    assert request.get("systemInstruction") == case.system
    assert request["contents"] == case.contents


# ------------------------------------------------------------------------------------------------------------
# Thinking and effort, per model family
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThinkingCase:
    id: str
    model: str
    thinking: JSON | None
    effort: str | None
    expected: JSON | None


THINKING_CASES = [
    # Gemini 2.5: a budget.
    ThinkingCase("25_enabled_budget", "gemini-2.5-flash", {"type": "enabled", "budget_tokens": 2048}, None,
                 {"thinkingBudget": 2048, "includeThoughts": True}),
    ThinkingCase("25_enabled_budget_clamped_to_the_model", "gemini-2.5-flash",
                 {"type": "enabled", "budget_tokens": 31999}, None, {"thinkingBudget": 24576, "includeThoughts": True}),
    ThinkingCase("25_pro_clamped_higher", "gemini-2.5-pro", {"type": "enabled", "budget_tokens": 40000}, None,
                 {"thinkingBudget": 32768, "includeThoughts": True}),
    ThinkingCase("25_adaptive_dynamic", "gemini-2.5-flash", {"type": "adaptive"}, None,
                 {"thinkingBudget": -1, "includeThoughts": True}),
    ThinkingCase("25_adaptive_low_effort", "gemini-2.5-flash", {"type": "adaptive"}, "low",
                 {"thinkingBudget": 1024, "includeThoughts": True}),
    ThinkingCase("25_adaptive_high_effort_stays_dynamic", "gemini-2.5-flash", {"type": "adaptive"}, "high",
                 {"thinkingBudget": -1, "includeThoughts": True}),
    ThinkingCase("25_adaptive_max_effort_is_the_largest_budget", "gemini-2.5-pro", {"type": "adaptive"}, "max",
                 {"thinkingBudget": 32768, "includeThoughts": True}),
    ThinkingCase("25_effort_caps_an_enabled_budget", "gemini-2.5-flash", {"type": "enabled", "budget_tokens": 20000},
                 "medium", {"thinkingBudget": 8192, "includeThoughts": True}),
    ThinkingCase("25_effort_alone_sets_a_hidden_budget", "gemini-2.5-flash", None, "low", {"thinkingBudget": 1024}),
    ThinkingCase("25_high_effort_alone_is_the_default", "gemini-2.5-flash", None, "high", None),
    ThinkingCase("25_display_omitted_shows_no_thoughts", "gemini-2.5-flash",
                 {"type": "enabled", "budget_tokens": 2048, "display": "omitted"}, None, {"thinkingBudget": 2048}),
    ThinkingCase("25_display_summarized", "gemini-2.5-flash", {"type": "adaptive", "display": "summarized"}, None,
                 {"thinkingBudget": -1, "includeThoughts": True}),
    ThinkingCase("25_flash_disabled", "gemini-2.5-flash", {"type": "disabled"}, None, {"thinkingBudget": 0}),
    ThinkingCase("25_flash_lite_disabled", "gemini-2.5-flash-lite", {"type": "disabled"}, "high",
                 {"thinkingBudget": 0}),
    ThinkingCase("25_between_tools_is_disabled", "gemini-2.5-flash", {"type": "between_tools"}, None,
                 {"thinkingBudget": 0}),
    ThinkingCase("25_pro_disabled_is_its_least", "gemini-2.5-pro", {"type": "disabled"}, None, {"thinkingBudget": 128}),
    # Gemini 3: a level.
    ThinkingCase("3_pro_small_budget_low", "gemini-3-pro-preview", {"type": "enabled", "budget_tokens": 2048}, None,
                 {"thinkingLevel": "LOW", "includeThoughts": True}),
    ThinkingCase("3_pro_mid_budget_high", "gemini-3-pro-preview", {"type": "enabled", "budget_tokens": 10000}, None,
                 {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ThinkingCase("3_flash_mid_budget_medium", "gemini-3-flash-preview", {"type": "enabled", "budget_tokens": 10000},
                 None, {"thinkingLevel": "MEDIUM", "includeThoughts": True}),
    ThinkingCase("3_flash_big_budget_high", "gemini-3-flash-preview", {"type": "enabled", "budget_tokens": 31999},
                 None, {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ThinkingCase("3_adaptive_dynamic_default", "gemini-3-pro-preview", {"type": "adaptive"}, None,
                 {"includeThoughts": True}),
    ThinkingCase("3_pro_medium_effort_is_high", "gemini-3-pro-preview", {"type": "adaptive"}, "medium",
                 {"thinkingLevel": "HIGH", "includeThoughts": True}),
    ThinkingCase("3_flash_medium_effort", "gemini-3-flash-preview", None, "medium", {"thinkingLevel": "MEDIUM"}),
    ThinkingCase("3_low_effort_beats_the_budget", "gemini-3-flash-preview",
                 {"type": "enabled", "budget_tokens": 31999}, "low", {"thinkingLevel": "LOW", "includeThoughts": True}),
    ThinkingCase("3_xhigh_effort", "gemini-3-pro-preview", None, "xhigh", {"thinkingLevel": "HIGH"}),
    ThinkingCase("3_pro_disabled_is_low", "gemini-3-pro-preview", {"type": "disabled"}, None, {"thinkingLevel": "LOW"}),
    ThinkingCase("3_flash_disabled_is_minimal", "gemini-3-flash-preview", {"type": "disabled"}, None,
                 {"thinkingLevel": "MINIMAL"}),
    # Models that do not think; names the gateway does not know.
    ThinkingCase("20_disabled_needs_nothing", "gemini-2.0-flash", {"type": "disabled"}, None, None),
    ThinkingCase("alias_adaptive_is_dynamic", "gemini-flash-latest", {"type": "adaptive"}, None,
                 {"thinkingBudget": -1, "includeThoughts": True}),
    ThinkingCase("alias_disabled_leaves_the_default", "gemini-flash-latest", {"type": "disabled"}, None, None),
]  # fmt: skip


@pytest.mark.parametrize("case", THINKING_CASES, ids=lambda case: case.id)
def test_thinking_config(case: ThinkingCase) -> None:
    params = body(case.model)
    if case.thinking is not None:
        params["thinking"] = case.thinking
    if case.effort is not None:
        params["output_config"] = {"effort": case.effort}
    _, request = to_generate_request(params)
    assert request["generationConfig"].get("thinkingConfig") == case.expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (body("gemini-2.0-flash", thinking={"type": "adaptive"}), r"^thinking: gemini-2.0-flash does not think"),
        (body("gemma-3-27b-it", output_config={"effort": "low"}), r"^output_config.effort: gemma-3-27b-it does not"),
        (
            body("gemini-1.5-pro", thinking={"type": "enabled", "budget_tokens": 1024}),
            r"gemini-1.5-pro does not think",
        ),
    ],
    ids=["adaptive_on_20", "effort_on_gemma", "enabled_on_15"],
)
def test_thinking_on_models_that_cannot_think_is_refused(params: JSON, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        to_generate_request(params)


def test_structured_output_sends_the_json_schema_as_is() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temp": {"type": "number", "minimum": -90}},
        "required": ["city", "temp"],
        "additionalProperties": False,
    }
    params = body(output_config={"format": {"type": "json_schema", "schema": schema}, "effort": "low"})
    _, request = to_generate_request(params)
    assert request["generationConfig"] == {
        "maxOutputTokens": 100,
        "thinkingConfig": {"thinkingBudget": 1024},
        "responseMimeType": "application/json",
        "responseJsonSchema": schema,
    }


# ------------------------------------------------------------------------------------------------------------
# Tools
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolsCase:
    id: str
    params: JSON
    tools: list[JSON] | None
    tool_config: JSON | None = None


def declaration(name: str, description: str, schema: JSON) -> JSON:
    return {"name": name, "description": description, "parametersJsonSchema": schema}


TOOLS_CASES = [
    ToolsCase("web_search_is_google_search", body(tools=[SEARCH_TOOL]), [{"googleSearch": {}}]),
    ToolsCase(
        "web_search_with_auto_choice",
        body(tools=[SEARCH_TOOL], tool_choice={"type": "auto"}),
        [{"googleSearch": {}}],
    ),
    ToolsCase("web_search_ruled_out_by_none", body(tools=[SEARCH_TOOL], tool_choice={"type": "none"}), None),
    ToolsCase(
        "search_and_code_execution_together",
        body(tools=[SEARCH_TOOL, CODE_TOOL]),
        [{"googleSearch": {}}, {"codeExecution": {}}],
    ),
    ToolsCase(
        "input_examples_join_the_description",
        body(
            tools=[{**WEATHER_TOOL, "description": "Weather.", "input_examples": [{"city": "Paris"}, {"city": "Oslo"}]}]
        ),
        [
            {
                "functionDeclarations": [
                    declaration(
                        "get_weather",
                        'Weather.\n\nExamples of valid input:\n{"city":"Paris"}\n{"city":"Oslo"}',
                        WEATHER_TOOL["input_schema"],
                    )
                ]
            }
        ],
    ),
    ToolsCase(
        "tool_choice_none_with_functions",
        body(tools=[WEATHER_TOOL], tool_choice={"type": "none"}),
        [{"functionDeclarations": [declaration("get_weather", "", WEATHER_TOOL["input_schema"])]}],
        {"functionCallingConfig": {"mode": "NONE"}},
    ),
]


@pytest.mark.parametrize("case", TOOLS_CASES, ids=lambda case: case.id)
def test_tools(case: ToolsCase) -> None:
    _, request = to_generate_request(case.params)
    assert request.get("tools") == case.tools
    assert request.get("toolConfig") == case.tool_config


@pytest.mark.parametrize(
    ("kind", "name", "commands"),
    [
        ("bash_20250124", "bash", None),
        ("text_editor_20250728", "str_replace_based_edit_tool", ["view", "create", "str_replace", "insert"]),
        ("text_editor_20250124", "str_replace_editor", ["view", "create", "str_replace", "insert", "undo_edit"]),
        ("memory_20250818", "memory", ["view", "create", "str_replace", "insert", "delete", "rename"]),
    ],
)
def test_anthropic_client_tools_are_function_declarations_under_their_names(
    kind: str, name: str, commands: list[str] | None
) -> None:
    _, request = to_generate_request(
        body(tools=[{"type": kind, "name": name}], tool_choice={"type": "tool", "name": name})
    )
    (declared,) = request["tools"][0]["functionDeclarations"]
    assert declared["name"] == name and declared["description"]
    schema = declared["parametersJsonSchema"]
    assert schema["type"] == "object" and "command" in schema["properties"]
    assert schema["properties"]["command"].get("enum") == commands
    assert request["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            body(tools=[SEARCH_TOOL, WEATHER_TOOL]),
            r"^tools: Gemini cannot combine its server tools .* \(models before Gemini 3 refuse the combination\)",
        ),
        (
            body("gemini-3-pro-preview", tools=[CODE_TOOL, WEATHER_TOOL]),
            r"Gemini 3 runs them together only when the client circulates its server-side tool calls",
        ),
        (body(tools=[{**SEARCH_TOOL, "allowed_domains": ["a.com"]}]), r"^tools\.0\.allowed_domains: not supported"),
        (body(tools=[{**SEARCH_TOOL, "blocked_domains": ["a.com"]}]), r"^tools\.0\.blocked_domains: not supported"),
        (
            body(tools=[{**SEARCH_TOOL, "user_location": {"type": "approximate", "city": "Paris"}}]),
            r"^tools\.0\.user_location: not supported",
        ),
        (body(tools=[SEARCH_TOOL], tool_choice={"type": "any"}), r"cannot make Gemini run a server tool"),
        (
            body(tools=[{"type": "code_execution_20250825", "name": "code_execution"}]),
            r"tool type 'code_execution_20250825' is not available on Gemini",
        ),
        (body(tools=[{"type": "bash_20250124", "name": "bash", "strict": True}]), r"^tools\.0\.strict: not supported"),
    ],
    ids=[
        "search_beside_functions",
        "code_beside_functions_on_gemini_3",
        "allowed_domains",
        "blocked_domains",
        "user_location",
        "forced_search",
        "bash_code_execution",
        "strict_client_tool",
    ],
)
def test_tools_refused(params: JSON, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        to_generate_request(params)


def test_grounded_only_when_search_can_run() -> None:
    assert grounded(body(tools=[SEARCH_TOOL]))
    assert not grounded(body(tools=[SEARCH_TOOL], tool_choice={"type": "none"}))
    assert not grounded(body(tools=[CODE_TOOL]))


# ------------------------------------------------------------------------------------------------------------
# Blocks: documents, search results, earlier server-tool turns
# ------------------------------------------------------------------------------------------------------------

PDF = {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}
SEARCH_RESULT = {
    "type": "search_result",
    "source": "https://wiki.example/paris",
    "title": "Paris",
    "content": [{"type": "text", "text": "Paris is the capital of France."}, {"type": "text", "text": "Pop. 2M."}],
}
SEARCH_RESULT_TEXT = (
    "Search result: Paris\nSource: https://wiki.example/paris\nParis is the capital of France.\nPop. 2M."
)


@dataclass(frozen=True)
class BlocksCase:
    id: str
    messages: list[JSON]
    contents: list[JSON]
    tools: list[JSON] = field(default_factory=list)


BLOCKS_CASES = [
    BlocksCase(
        "document_title_and_context_before_it",
        [{"role": "user", "content": [{"type": "document", "source": PDF, "title": "Q3", "context": "Sales"}]}],
        [
            {
                "role": "user",
                "parts": [
                    {"text": "Document title: Q3\nDocument context: Sales"},
                    {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                ],
            }
        ],
    ),
    BlocksCase(
        "search_result_as_text",
        [{"role": "user", "content": [SEARCH_RESULT, {"type": "text", "text": "Summarise."}]}],
        [{"role": "user", "parts": [{"text": SEARCH_RESULT_TEXT}, {"text": "Summarise."}]}],
    ),
    BlocksCase(
        "search_result_inside_a_tool_result",
        [
            {"role": "user", "content": "look it up"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "lookup", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [SEARCH_RESULT]}]},
        ],
        [
            {"role": "user", "parts": [{"text": "look it up"}]},
            {"role": "model", "parts": [{"functionCall": {"id": "t1", "name": "lookup", "args": {}}}]},
            {
                "role": "user",
                "parts": [
                    {"functionResponse": {"id": "t1", "name": "lookup", "response": {"content": SEARCH_RESULT_TEXT}}}
                ],
            },
        ],
    ),
    BlocksCase(
        "earlier_web_search_leaves_only_the_answer_text",
        [
            {"role": "user", "content": "Search the web for Paris"},
            {
                "role": "assistant",
                "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "Paris"}},
                    {
                        "type": "web_search_tool_result",
                        "tool_use_id": "srvtoolu_1",
                        "content": [
                            {"type": "web_search_result", "url": "https://a.example", "title": "A",
                             "encrypted_content": "x"}
                        ],
                    },
                    {
                        "type": "text",
                        "text": "Paris is big.",
                        "citations": [
                            {
                                "type": "web_search_result_location",
                                "url": "https://a.example",
                                "title": "A",
                                "encrypted_index": "x",
                                "cited_text": "Paris is big.",
                            }
                        ],
                    },
                ],
            },
            {"role": "user", "content": "Thanks"},
        ],
        [
            {"role": "user", "parts": [{"text": "Search the web for Paris"}]},
            {"role": "model", "parts": [{"text": "Paris is big."}]},
            {"role": "user", "parts": [{"text": "Thanks"}]},
        ],
    ),
    BlocksCase(
        "earlier_code_execution_is_gemini_s_own_pair",
        [
            {"role": "user", "content": "Calculate 2 * 3 in Python"},
            {
                "role": "assistant",
                "content": [
                    {"type": "server_tool_use", "id": "srvtoolu_1", "name": "code_execution",
                     "input": {"code": "print(2 * 3)"}},
                    {
                        "type": "code_execution_tool_result",
                        "tool_use_id": "srvtoolu_1",
                        "content": {"type": "code_execution_result", "stdout": "6\n", "stderr": "",
                                    "return_code": 0, "content": []},
                    },
                    {
                        "type": "code_execution_tool_result",
                        "tool_use_id": "srvtoolu_2",
                        "content": {"type": "code_execution_result", "stdout": "", "stderr": "boom",
                                    "return_code": 1, "content": []},
                    },
                    {
                        "type": "code_execution_tool_result",
                        "tool_use_id": "srvtoolu_3",
                        "content": {"type": "code_execution_tool_result_error",
                                    "error_code": "execution_time_exceeded"},
                    },
                    {"type": "text", "text": "It is 6."},
                ],
            },
            {"role": "user", "content": "Thanks"},
        ],
        [
            {"role": "user", "parts": [{"text": "Calculate 2 * 3 in Python"}]},
            {
                "role": "model",
                "parts": [
                    {"executableCode": {"language": "PYTHON", "code": "print(2 * 3)"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "6\n"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_FAILED", "output": "boom"}},
                    {"codeExecutionResult": {"outcome": "OUTCOME_DEADLINE_EXCEEDED"}},
                    {"text": "It is 6."},
                ],
            },
            {"role": "user", "parts": [{"text": "Thanks"}]},
        ],
    ),
]  # fmt: skip


@pytest.mark.parametrize("case", BLOCKS_CASES, ids=lambda case: case.id)
def test_blocks(case: BlocksCase) -> None:
    _, request = to_generate_request(body(messages=case.messages))
    assert request["contents"] == case.contents


def test_search_result_citations_are_refused() -> None:
    block = {**SEARCH_RESULT, "citations": {"enabled": True}}
    with pytest.raises(InvalidRequestError, match=r"messages\.0\.content\.0\.citations: Gemini cites no"):
        to_generate_request(body(messages=[{"role": "user", "content": [block]}]))


def test_an_earlier_server_tool_gemini_does_not_run_is_refused() -> None:
    block = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_fetch", "input": {"url": "https://a"}}
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [block]}]
    with pytest.raises(InvalidRequestError, match=r"messages\.1\.content\.0: a server_tool_use of 'web_fetch'"):
        to_generate_request(body(messages=messages))


# ------------------------------------------------------------------------------------------------------------
# Answers: grounding, code execution, thinking usage; streamed and not
# ------------------------------------------------------------------------------------------------------------

ANSWER = "Paris is the capital of France. It has 2 million people. Ask me more."
_FIRST = len(b"Paris is the capital of France.")
_SECOND_START = _FIRST + 1
_SECOND_END = len(b"Paris is the capital of France. It has 2 million people.")
GROUNDING = {
    "webSearchQueries": ["capital of France", "Paris population"],
    "groundingChunks": [
        {"web": {"uri": "https://a.example/paris", "title": "a.example"}},
        {"web": {"uri": "https://b.example/pop", "title": "b.example"}},
    ],
    "groundingSupports": [
        {
            "segment": {"startIndex": 0, "endIndex": _FIRST, "text": "Paris is the capital of France."},
            "groundingChunkIndices": [0],
        },
        {
            "segment": {"startIndex": _SECOND_START, "endIndex": _SECOND_END, "text": "It has 2 million people."},
            "groundingChunkIndices": [1, 0],
        },
    ],
    "searchEntryPoint": {"renderedContent": "<div></div>"},
}  # fmt: skip
USAGE = {
    "promptTokenCount": 40,
    "candidatesTokenCount": 20,
    "thoughtsTokenCount": 7,
    "toolUsePromptTokenCount": 30,
    "cachedContentTokenCount": 8,
}


def opaque(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def citation(url: str, title: str, cited: str) -> JSON:
    return {
        "type": "web_search_result_location",
        "url": url,
        "title": title,
        "cited_text": cited,
        "encrypted_index": opaque(url),
    }


def grounded_response() -> JSON:
    candidate = {
        "content": {"role": "model", "parts": [{"text": "Let me search.", "thought": True}, {"text": ANSWER}]},
        "finishReason": "STOP",
        "groundingMetadata": GROUNDING,
    }
    return {"candidates": [candidate], "usageMetadata": USAGE}


def without_ids(content: list[JSON]) -> list[JSON]:
    """The blocks with server-tool ids replaced by their position (they are minted per answer)."""
    ids = {block["id"]: f"search{n}" for n, block in enumerate(content) if block["type"] == "server_tool_use"}
    out = []
    for block in content:
        block = dict(block)
        if "id" in block and block["id"] in ids:
            block["id"] = ids[block["id"]]
        if block.get("tool_use_id") in ids:
            block["tool_use_id"] = ids[block["tool_use_id"]]
        out.append(block)
    return out


def test_grounded_answer_is_searches_then_cited_text() -> None:
    message = from_generate_response(grounded_response(), model="gemini-2.5-flash")
    assert all(
        block["id"].startswith("srvtoolu_") for block in message["content"] if block["type"] == "server_tool_use"
    )
    page_a = {"type": "web_search_result", "url": "https://a.example/paris", "title": "a.example",
              "encrypted_content": opaque("https://a.example/paris"), "page_age": None}  # fmt: skip
    page_b = {
        **page_a,
        "url": "https://b.example/pop",
        "title": "b.example",
        "encrypted_content": opaque("https://b.example/pop"),
    }
    assert without_ids(message["content"]) == [
        {"type": "thinking", "thinking": "Let me search.", "signature": ""},
        {"type": "server_tool_use", "id": "search1", "name": "web_search", "input": {"query": "capital of France"}},
        {"type": "web_search_tool_result", "tool_use_id": "search1", "content": [page_a, page_b]},
        {"type": "server_tool_use", "id": "search3", "name": "web_search", "input": {"query": "Paris population"}},
        {"type": "web_search_tool_result", "tool_use_id": "search3", "content": []},
        {
            "type": "text",
            "text": "Paris is the capital of France.",
            "citations": [citation("https://a.example/paris", "a.example", "Paris is the capital of France.")],
        },
        {"type": "text", "text": " "},
        {
            "type": "text",
            "text": "It has 2 million people.",
            "citations": [
                citation("https://b.example/pop", "b.example", "It has 2 million people."),
                citation("https://a.example/paris", "a.example", "It has 2 million people."),
            ],
        },
        {"type": "text", "text": " Ask me more."},
    ]
    assert message["usage"] == {
        "input_tokens": 62,  # prompt 40 + the search results read 30, less 8 read from the cache
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 8,
        "output_tokens": 27,
        "output_tokens_details": {"thinking_tokens": 7},
        "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 0},
    }
    assert message["stop_reason"] == "end_turn"


def test_an_offered_search_that_did_not_run_is_a_plain_answer() -> None:
    response = {"candidates": [{"content": {"parts": [{"text": "4"}]}, "finishReason": "STOP"}], "usageMetadata": USAGE}
    translator = GenerateStreamTranslator(model="gemini-2.5-flash", grounded=True)
    events = translator.feed(response) + translator.finish()
    assert blocks_from_events(events) == [{"type": "text", "text": "4"}]
    assert "server_tool_use" not in translator.usage


def test_code_execution_parts_are_anthropic_code_execution_blocks() -> None:
    parts = [
        {"executableCode": {"language": "PYTHON", "code": "print(17 * 23)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "391\n"}},
        {"executableCode": {"language": "PYTHON", "code": "1/0"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_FAILED", "output": "ZeroDivisionError"}},
        {"executableCode": {"language": "PYTHON", "code": "while True: pass"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_DEADLINE_EXCEEDED"}},
        {"text": "17 * 23 = 391."},
    ]
    response = {"candidates": [{"content": {"parts": parts}, "finishReason": "STOP"}], "usageMetadata": USAGE}
    content = from_generate_response(response, model="gemini-2.5-flash")["content"]
    uses = [block for block in content if block["type"] == "server_tool_use"]
    results = [block for block in content if block["type"] == "code_execution_tool_result"]
    assert [use["input"] for use in uses] == [{"code": "print(17 * 23)"}, {"code": "1/0"}, {"code": "while True: pass"}]
    assert [result["tool_use_id"] for result in results] == [use["id"] for use in uses]
    assert [result["content"] for result in results] == [
        {"type": "code_execution_result", "stdout": "391\n", "stderr": "", "return_code": 0, "content": []},
        {"type": "code_execution_result", "stdout": "", "stderr": "ZeroDivisionError", "return_code": 1, "content": []},
        {"type": "code_execution_tool_result_error", "error_code": "execution_time_exceeded"},
    ]
    assert content[-1] == {"type": "text", "text": "17 * 23 = 391."}


def grounded_chunks() -> list[JSON]:
    """The grounded answer as Gemini streams it: thoughts, text in pieces, the grounding in the last chunk."""
    words = ANSWER.split(" ")
    pieces = [" ".join(words[:4]), " " + " ".join(words[4:9]), " " + " ".join(words[9:])]
    chunks: list[JSON] = [{"candidates": [{"content": {"parts": [{"text": "Let me search.", "thought": True}]}}]}]
    chunks += [
        {"candidates": [{"content": {"parts": [{"text": piece}]}}], "usageMetadata": {"promptTokenCount": 40}}
        for piece in pieces
    ]
    chunks[-1]["candidates"][0].update(finishReason="STOP", groundingMetadata=GROUNDING)
    chunks[-1]["usageMetadata"] = USAGE
    return chunks


def pruned(value: Any) -> Any:
    """``value`` without null fields, as the SDK's ``model_dump(exclude_none=True)`` shows a block."""
    if isinstance(value, dict):
        return {key: pruned(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [pruned(item) for item in value]
    return value


def sdk_final_message(sse: bytes) -> anthropic.types.Message:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=sse)

    client = anthropic.Anthropic(
        api_key="test",
        base_url="http://gateway.test",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    with client.messages.stream(model="m", max_tokens=10, messages=[{"role": "user", "content": "x"}]) as stream:
        return stream.get_final_message()


def test_grounded_stream_reads_in_the_sdk_as_the_whole_answer() -> None:
    translator = GenerateStreamTranslator(model="gemini-2.5-flash", message_id="msg_1", grounded=True)
    events = [event for chunk in grounded_chunks() for event in translator.feed(chunk)] + translator.finish()
    names = [name for name, _ in events]
    assert names[:4] == ["message_start", "content_block_start", "content_block_delta", "content_block_stop"]
    assert names[-2:] == ["message_delta", "message_stop"]

    final = sdk_final_message(b"".join(encode_sse(name, data) for name, data in events))
    whole = from_generate_response(grounded_response(), model="gemini-2.5-flash")
    assert without_ids([block.model_dump(exclude_none=True) for block in final.content]) == without_ids(
        pruned(whole["content"])
    )
    assert final.usage.server_tool_use is not None and final.usage.server_tool_use.web_search_requests == 2
    assert final.usage.output_tokens_details is not None and final.usage.output_tokens_details.thinking_tokens == 7
    assert (final.usage.input_tokens, final.usage.cache_read_input_tokens, final.usage.output_tokens) == (62, 8, 27)


# ------------------------------------------------------------------------------------------------------------
# Structured output on models before Gemini 2.5: the OpenAPI subset
# ------------------------------------------------------------------------------------------------------------

ZOD_WEATHER = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "City name"},
        "temperature_c": {"type": "number", "minimum": -90},
        "conditions": {"type": "string", "enum": ["sunny", "cloudy"]},
        "note": {"type": ["string", "null"]},
        "kind": {"const": "report"},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "maxItems": 3},
    },
    "required": ["city", "temperature_c", "conditions", "note", "kind", "tags"],
    "additionalProperties": False,
    "$defs": {"tag": {"type": "string", "minLength": 1}},
}


def test_older_models_get_the_openapi_subset_of_the_same_schema() -> None:
    params = body("gemini-2.0-flash", output_config={"format": {"type": "json_schema", "schema": ZOD_WEATHER}})
    _, request = to_generate_request(params)
    config = request["generationConfig"]
    assert config["responseMimeType"] == "application/json" and "responseJsonSchema" not in config
    assert config["responseSchema"] == {
        "type": "OBJECT",
        "properties": {
            "city": {"type": "STRING", "description": "City name"},
            "temperature_c": {"type": "NUMBER", "minimum": -90},
            "conditions": {"type": "STRING", "enum": ["sunny", "cloudy"]},
            "note": {"type": "STRING", "nullable": True},
            "kind": {"enum": ["report"]},
            "tags": {"type": "ARRAY", "items": {"type": "STRING", "minLength": 1}, "maxItems": 3},
        },
        "propertyOrdering": ["city", "temperature_c", "conditions", "note", "kind", "tags"],
        "required": ["city", "temperature_c", "conditions", "note", "kind", "tags"],
    }


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "object", "properties": {"x": {"oneOf": [{"type": "string"}]}}}, r"schema\.properties\.x\.oneOf"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, r"schema\.additionalProperties"),
        ({"type": ["string", "number"]}, r"schema\.type: a value of several types"),
        (
            {"$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}}, "$ref": "#/$defs/n"},
            r"schema\.properties\.next\.\$ref: a recursive schema",
        ),
        ({"type": "object", "not": {"type": "null"}}, r"schema\.not"),
    ],
    ids=["one_of", "open_additional_properties", "several_types", "recursion", "not"],
)
def test_what_the_subset_cannot_say_is_refused_with_a_pointer_to_gemini_25(schema: JSON, where: str) -> None:
    params = body("gemini-1.5-flash", output_config={"format": {"type": "json_schema", "schema": schema}})
    with pytest.raises(InvalidRequestError, match=rf"^output_config\.format\.{where}.*use a Gemini 2\.5 or later"):
        to_generate_request(params)


def test_code_execution_streams_as_whole_blocks_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    ids = iter(["srvtoolu_A", "srvtoolu_B"])
    monkeypatch.setattr("finops.providers.gemini.blocks.new_server_tool_use_id", lambda: next(ids))
    chunks = [
        {"candidates": [{"content": {"parts": [{"executableCode": {"language": "PYTHON", "code": "print(2 * 3)"}}]}}]},
        {"candidates": [{"content": {"parts": [{"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "6\n"}}]}}]},
        {
            "candidates": [{"content": {"parts": [{"text": "It is 6."}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 12, "toolUsePromptTokenCount": 2},
        },
    ]
    translator = GenerateStreamTranslator(model="gemini-2.5-flash", message_id="msg_1")
    events = [event for chunk in chunks for event in translator.feed(chunk)] + translator.finish()
    result = {"type": "code_execution_result", "stdout": "6\n", "stderr": "", "return_code": 0, "content": []}
    block_events = [(name, data) for name, data in events if name.startswith("content_block")]
    assert block_events == [
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {
            "type": "server_tool_use", "id": "srvtoolu_A", "name": "code_execution", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
            "type": "input_json_delta", "partial_json": '{"code":"print(2 * 3)"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {
            "type": "code_execution_tool_result", "tool_use_id": "srvtoolu_A", "content": result}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 2, "content_block": {
            "type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 2, "delta": {
            "type": "text_delta", "text": "It is 6."}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 2}),
    ]  # fmt: skip
    assert translator.usage["input_tokens"] == 11 and translator.usage["output_tokens"] == 12
    final = sdk_final_message(b"".join(encode_sse(name, data) for name, data in events))
    assert [block.type for block in final.content] == ["server_tool_use", "code_execution_tool_result", "text"]
