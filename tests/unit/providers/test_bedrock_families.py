"""Table-driven tests of what the Converse translation does per model family (Claude over Converse, Nova 1, Nova 2,
Llama, Mistral, Cohere, gpt-oss, DeepSeek R1): system messages, cache points, structured output, reasoning, and the
blocks only some families read. Every request built here is checked against botocore's ``bedrock-runtime`` model.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from finops.core.errors import InvalidRequestError
from finops.core.params import parse_message_params
from finops.providers.bedrock.translate import ANSWER_TOOL, AnswerShape, plan_converse, to_converse_request
from tests.unit.providers.test_bedrock_shapes import assert_valid_converse

JSON = dict[str, Any]

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-lite-v1:0"
NOVA_2 = "us.amazon.nova-2-lite-v1:0"
LLAMA = "meta.llama3-1-70b-instruct-v1:0"
MISTRAL = "mistral.mistral-large-2407-v1:0"
COHERE = "cohere.command-r-plus-v1:0"
GPT_OSS = "openai.gpt-oss-120b-1:0"
DEEPSEEK_R1 = "us.deepseek.r1-v1:0"
TITAN = "amazon.titan-text-premier-v1:0"

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
TOOL = {"name": "get_weather", "description": "Current weather", "input_schema": SCHEMA}
CACHED = {"type": "ephemeral"}
POINT = {"cachePoint": {"type": "default"}}
FORMAT = {"format": {"type": "json_schema", "schema": SCHEMA}}


def params(model: str, *messages: JSON, **fields: Any) -> JSON:
    """A request as the core hands it over: parsed against the SDK types first."""
    body = {"model": model, "max_tokens": 4096, "messages": list(messages) or [user("Hi")], **fields}
    return dict(parse_message_params(body))


def user(*content: Any) -> JSON:
    return {
        "role": "user",
        "content": content[0] if len(content) == 1 and isinstance(content[0], str) else list(content),
    }


def assistant(*content: Any) -> JSON:
    return {"role": "assistant", "content": list(content)}


def text(value: str, **extra: Any) -> JSON:
    return {"type": "text", "text": value, **extra}


@dataclass(frozen=True)
class Case:
    id: str
    params: JSON
    expected: JSON
    """The keys of the Converse request that matter to the case (``messages`` etc.), compared exactly."""


def _check(case: Case) -> JSON:
    request = to_converse_request(case.params)
    assert_valid_converse(request, case.params["model"])
    for key, value in case.expected.items():
        assert request.get(key) == value, f"{key}: {request.get(key)!r}"
    return request


# -- system messages ------------------------------------------------------------------------------------------

SYSTEM_CASES = [
    Case(
        id=f"{family}_system_message_in_place",
        params=params(
            model,
            user("Hello!"),
            assistant(text("Hi! How can I help?")),
            {"role": "system", "content": "From now on, answer in French."},
            user("What is 2 + 2?"),
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Hello!"}]},
                {"role": "assistant", "content": [{"text": "Hi! How can I help?"}]},
                {"role": "system", "content": [{"text": "From now on, answer in French."}]},
                {"role": "user", "content": [{"text": "What is 2 + 2?"}]},
            ]
        },
    )
    for family, model in (("nova", NOVA), ("llama", LLAMA), ("mistral", MISTRAL), ("claude", CLAUDE))
] + [
    Case(
        id="claude_code_system_message_after_the_first_turn_with_its_cache_point",
        params=params(
            NOVA,
            user("Read notes.txt"),
            {"role": "system", "content": [text("<env>cwd: /tmp</env>", cache_control=CACHED)]},
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Read notes.txt"}]},
                {"role": "system", "content": [{"text": "<env>cwd: /tmp</env>"}, POINT]},
            ]
        },
    ),
    Case(
        id="turns_of_one_role_around_a_system_message_merge_before_it",
        params=params(LLAMA, user("Part one"), {"role": "system", "content": "Be brief."}, user("Part two")),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Part one"}, {"text": "Part two"}]},
                {"role": "system", "content": [{"text": "Be brief."}]},
            ]
        },
    ),
]


@pytest.mark.parametrize("case", SYSTEM_CASES, ids=lambda c: c.id)
def test_system_messages(case: Case) -> None:
    _check(case)


# -- prompt caching -------------------------------------------------------------------------------------------

LONG = "Rule: answer politely. " * 50


def _cached_request(model: str) -> JSON:
    return params(
        model,
        user(text(LONG, cache_control={"type": "ephemeral", "ttl": "1h"}), text("What is 2 + 2?")),
        system=[text("You are terse.", cache_control=CACHED)],
        tools=[{**TOOL, "cache_control": CACHED}],
        cache_control=CACHED,
    )


CACHE_CASES = [
    Case(
        id="nova_system_messages_and_top_level_but_not_tools",
        params=_cached_request(NOVA),
        expected={
            "system": [{"text": "You are terse."}, POINT],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": LONG},
                        {"cachePoint": {"type": "default", "ttl": "1h"}},
                        {"text": "What is 2 + 2?"},
                        POINT,
                    ],
                }
            ],
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": "get_weather",
                            "inputSchema": {"json": SCHEMA},
                            "description": "Current weather",
                        }
                    }
                ],
                "toolChoice": {"auto": {}},
            },
        },
    ),
    Case(
        id="claude_over_converse_caches_after_tools_too",
        params=_cached_request(CLAUDE),
        expected={
            "system": [{"text": "You are terse."}, POINT],
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": "get_weather",
                            "inputSchema": {"json": SCHEMA},
                            "description": "Current weather",
                        }
                    },
                    POINT,
                ],
                "toolChoice": {"auto": {}},
            },
        },
    ),
    *(
        Case(
            id=f"{family}_has_no_prompt_caching",
            params=_cached_request(model),
            expected={
                "system": [{"text": "You are terse."}],
                "messages": [{"role": "user", "content": [{"text": LONG}, {"text": "What is 2 + 2?"}]}],
            },
        )
        for family, model in (("llama", LLAMA), ("mistral", MISTRAL), ("cohere", COHERE), ("titan", TITAN))
    ),
    Case(
        id="nova_tool_result_and_its_marked_text_get_a_cache_point_after_the_result",
        params=params(
            NOVA,
            user("Weather?"),
            assistant({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}),
            user({"type": "tool_result", "tool_use_id": "toolu_1", "content": [text("18C", cache_control=CACHED)]}),
            tools=[TOOL],
        ),
        expected={
            "messages": [
                {"role": "user", "content": [{"text": "Weather?"}]},
                {
                    "role": "assistant",
                    "content": [
                        {"toolUse": {"toolUseId": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"toolResult": {"toolUseId": "toolu_1", "content": [{"text": "18C"}], "status": "success"}},
                        POINT,
                    ],
                },
            ]
        },
    ),
]


@pytest.mark.parametrize("case", CACHE_CASES, ids=lambda c: c.id)
def test_cache_points(case: Case) -> None:
    _check(case)


# -- structured output ----------------------------------------------------------------------------------------


def _answer_tool(schema: JSON = SCHEMA, name: str = ANSWER_TOOL) -> JSON:
    plan = plan_converse(params(NOVA, output_config=FORMAT))
    description = plan.request["toolConfig"]["tools"][0]["toolSpec"]["description"]
    return {"toolSpec": {"name": name, "description": description, "inputSchema": {"json": schema}}}


TOOL_SPEC = {"toolSpec": {"name": "get_weather", "inputSchema": {"json": SCHEMA}, "description": "Current weather"}}

STRUCTURED_CASES = [
    Case(
        id="nova_alone_forces_the_answer_tool",
        params=params(NOVA, output_config=FORMAT),
        expected={"toolConfig": {"tools": [_answer_tool()], "toolChoice": {"tool": {"name": ANSWER_TOOL}}}},
    ),
    Case(
        id="nova_with_tools_must_call_one_of_them_or_answer",
        params=params(NOVA, output_config=FORMAT, tools=[TOOL]),
        expected={"toolConfig": {"tools": [TOOL_SPEC, _answer_tool()], "toolChoice": {"any": {}}}},
    ),
    Case(
        id="nova_tool_choice_none_forces_the_answer_tool_only",
        params=params(NOVA, output_config=FORMAT, tools=[TOOL], tool_choice={"type": "none"}),
        expected={"toolConfig": {"tools": [_answer_tool()], "toolChoice": {"tool": {"name": ANSWER_TOOL}}}},
    ),
    Case(
        id="nova_forced_user_tool_leaves_no_text_to_format",
        params=params(NOVA, output_config=FORMAT, tools=[TOOL], tool_choice={"type": "tool", "name": "get_weather"}),
        expected={"toolConfig": {"tools": [TOOL_SPEC], "toolChoice": {"tool": {"name": "get_weather"}}}},
    ),
    Case(
        id="nova_answer_tool_name_avoids_a_user_tool_of_that_name",
        params=params(NOVA, output_config=FORMAT, tools=[{**TOOL, "name": ANSWER_TOOL}]),
        expected={
            "toolConfig": {
                "tools": [
                    {"toolSpec": {**TOOL_SPEC["toolSpec"], "name": ANSWER_TOOL}},
                    _answer_tool(name="json_answer_2"),
                ],
                "toolChoice": {"any": {}},
            }
        },
    ),
    *(
        Case(
            id=f"{family}_text_format",
            params=params(model, output_config=FORMAT),
            expected={
                "outputConfig": {
                    "textFormat": {
                        "type": "json_schema",
                        "structure": {"jsonSchema": {"schema": orjson.dumps(SCHEMA).decode()}},
                    }
                },
                "toolConfig": None,
            },
        )
        for family, model in (("claude", CLAUDE), ("mistral", MISTRAL), ("gpt_oss", GPT_OSS))
    ),
]


@pytest.mark.parametrize("case", STRUCTURED_CASES, ids=lambda c: c.id)
def test_structured_output(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("model", [LLAMA, COHERE, TITAN])
def test_structured_output_is_refused_where_nothing_holds_the_model_to_the_schema(model: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"output_config\.format: model .* has neither structured output"):
        to_converse_request(params(model, output_config=FORMAT))


def test_the_plan_says_which_tool_carries_the_answer() -> None:
    assert plan_converse(params(NOVA, output_config=FORMAT)).answer == AnswerShape(json_tool=ANSWER_TOOL)
    assert plan_converse(params(MISTRAL, output_config=FORMAT)).answer == AnswerShape()


# -- reasoning ------------------------------------------------------------------------------------------------

ADAPTIVE = {"type": "adaptive"}


def _enabled(budget: int) -> JSON:
    return {"type": "enabled", "budget_tokens": budget}


def _nova_reasoning(level: str) -> JSON:
    return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": level}}


REASONING_CASES = [
    Case(
        "nova2_budget_2048_is_low",
        params(NOVA_2, thinking=_enabled(2048)),
        {"additionalModelRequestFields": _nova_reasoning("low")},
    ),
    Case(
        "nova2_budget_8000_is_medium",
        params(NOVA_2, thinking=_enabled(8000), max_tokens=9000),
        {"additionalModelRequestFields": _nova_reasoning("medium")},
    ),
    Case(
        "nova2_budget_31999_is_high",
        params(NOVA_2, thinking=_enabled(31999), max_tokens=32000),
        {"additionalModelRequestFields": _nova_reasoning("high")},
    ),
    Case(
        "nova2_adaptive_defaults_to_high",
        params(NOVA_2, thinking=ADAPTIVE),
        {"additionalModelRequestFields": _nova_reasoning("high")},
    ),
    Case(
        "nova2_adaptive_follows_effort",
        params(NOVA_2, thinking=ADAPTIVE, output_config={"effort": "medium"}),
        {"additionalModelRequestFields": _nova_reasoning("medium"), "outputConfig": None},
    ),
    Case(
        "nova2_adaptive_max_effort_is_high",
        params(NOVA_2, thinking=ADAPTIVE, output_config={"effort": "max"}),
        {"additionalModelRequestFields": _nova_reasoning("high")},
    ),
    Case(
        "nova2_top_k_and_reasoning_share_the_extra_fields",
        params(NOVA_2, thinking=ADAPTIVE, top_k=20),
        {"additionalModelRequestFields": {"inferenceConfig": {"topK": 20}, **_nova_reasoning("high")}},
    ),
    Case(
        "nova1_adaptive_and_effort_answer_without_thinking",
        params(NOVA, thinking={"type": "adaptive", "display": "summarized"}, output_config={"effort": "high"}),
        {"additionalModelRequestFields": None, "outputConfig": None},
    ),
    Case(
        "llama_adaptive_answers_without_thinking",
        params(LLAMA, thinking=ADAPTIVE),
        {"additionalModelRequestFields": None},
    ),
    Case(
        "thinking_disabled_asks_nothing",
        params(NOVA_2, thinking={"type": "disabled"}),
        {"additionalModelRequestFields": None},
    ),
    Case(
        "gpt_oss_effort",
        params(GPT_OSS, thinking=_enabled(20000), max_tokens=30000),
        {"additionalModelRequestFields": {"reasoning_effort": "high"}},
    ),
    Case(
        "deepseek_r1_always_reasons",
        params(DEEPSEEK_R1, thinking=_enabled(2048)),
        {"additionalModelRequestFields": None},
    ),
    Case(
        "claude_thinking_and_effort",
        params(CLAUDE, thinking={"type": "enabled", "budget_tokens": 2048}, output_config={"effort": "high"}),
        {
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 2048}},
            "outputConfig": {"effort": "high"},
        },
    ),
]


@pytest.mark.parametrize("case", REASONING_CASES, ids=lambda c: c.id)
def test_reasoning(case: Case) -> None:
    _check(case)


@pytest.mark.parametrize("model", [NOVA, LLAMA, MISTRAL, COHERE])
def test_thinking_enabled_on_a_model_that_cannot_reason_is_a_400(model: str) -> None:
    with pytest.raises(InvalidRequestError, match=rf"thinking: model {model} cannot reason on Bedrock"):
        to_converse_request(params(model, thinking=_enabled(2048)))


def test_omitted_thinking_is_read_back_empty_except_on_claude() -> None:
    omitted = {"type": "adaptive", "display": "omitted"}
    assert plan_converse(params(NOVA_2, thinking=omitted)).answer == AnswerShape(hide_thinking=True)
    # Claude gets the display setting itself, in its own thinking object.
    claude = plan_converse(params(CLAUDE, thinking=omitted))
    assert claude.answer == AnswerShape()
    assert claude.request["additionalModelRequestFields"] == {"thinking": omitted}


def _history(model: str) -> JSON:
    return params(
        model,
        user("Weather in Paris?"),
        assistant(
            {"type": "thinking", "thinking": "I should call the tool.", "signature": "sig-1"},
            {"type": "redacted_thinking", "data": base64.b64encode(b"hidden").decode()},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ),
        user({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}),
        tools=[TOOL],
        thinking=_enabled(2048),
    )


def test_claude_gets_its_signed_reasoning_back_for_the_tool_round_trip() -> None:
    request = _check(Case("claude_history", _history(CLAUDE), {}))
    assert request["messages"][1]["content"][:2] == [
        {"reasoningContent": {"reasoningText": {"text": "I should call the tool.", "signature": "sig-1"}}},
        {"reasoningContent": {"redactedContent": base64.b64encode(b"hidden").decode()}},
    ]


def test_other_families_do_not_get_earlier_reasoning() -> None:
    request = _check(Case("nova_history", _history(NOVA_2), {}))
    assert request["messages"][1]["content"] == [
        {"toolUse": {"toolUseId": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}}
    ]


# -- blocks and tool fields -----------------------------------------------------------------------------------

SEARCH_RESULT = {
    "type": "search_result",
    "source": "https://example.com/paris",
    "title": "Paris weather",
    "content": [text("Sunny, 18C.")],
    "citations": {"enabled": True},
}
PDF = {"type": "base64", "media_type": "application/pdf", "data": base64.b64encode(b"%PDF-1.4").decode()}
PNG = {"type": "base64", "media_type": "image/png", "data": base64.b64encode(b"\x89PNG").decode()}

BLOCK_CASES = [
    Case(
        id="claude_reads_search_results_as_such",
        params=params(CLAUDE, user(SEARCH_RESULT, text("Weather?"))),
        expected={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "searchResult": {
                                "source": "https://example.com/paris",
                                "title": "Paris weather",
                                "content": [{"text": "Sunny, 18C."}],
                                "citations": {"enabled": True},
                            }
                        },
                        {"text": "Weather?"},
                    ],
                }
            ]
        },
    ),
    Case(
        id="nova_reads_a_search_result_as_text",
        params=params(NOVA, user({**SEARCH_RESULT, "citations": {"enabled": False}}, text("Weather?"))),
        expected={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"text": "Search result: Paris weather\nSource: https://example.com/paris\nSunny, 18C."},
                        {"text": "Weather?"},
                    ],
                }
            ]
        },
    ),
    Case(
        id="document_citations_and_images_beside_a_built_document",
        params=params(
            CLAUDE,
            user(
                {"type": "document", "source": PDF, "title": "Report", "citations": {"enabled": True}},
                {
                    "type": "document",
                    "title": "Slides",
                    "source": {"type": "content", "content": [text("Slide one"), {"type": "image", "source": PNG}]},
                },
                text("Summarise"),
            ),
        ),
        expected={
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "document": {
                                "format": "pdf",
                                "name": "Report",
                                "source": {"bytes": PDF["data"]},
                                "citations": {"enabled": True},
                            }
                        },
                        {
                            "document": {
                                "format": "txt",
                                "name": "Slides",
                                "source": {"bytes": base64.b64encode(b"Slide one").decode()},
                            }
                        },
                        {"image": {"format": "png", "source": {"bytes": PNG["data"]}}},
                        {"text": "Summarise"},
                    ],
                }
            ]
        },
    ),
    Case(
        id="strict_tools_and_input_examples",
        params=params(
            NOVA,
            tools=[{**TOOL, "strict": True, "input_examples": [{"city": "Paris"}, {"city": "Rome"}]}],
        ),
        expected={
            "toolConfig": {
                "tools": [
                    {
                        "toolSpec": {
                            "name": "get_weather",
                            "inputSchema": {"json": SCHEMA},
                            "description": "Current weather\n\nExamples of valid input:\n"
                            + '{"city":"Paris"}\n{"city":"Rome"}',
                            "strict": True,
                        }
                    }
                ],
                "toolChoice": {"auto": {}},
            }
        },
    ),
]


@pytest.mark.parametrize("case", BLOCK_CASES, ids=lambda c: c.id)
def test_blocks_and_tool_fields(case: Case) -> None:
    _check(case)
