"""Anthropic Messages -> a Bedrock Converse request (pure), for every family but Claude (InvokeModel, ``invoke.py``).

No I/O here: the adapter signs and sends what ``plan_converse`` builds, and reads the answer back with
``answers.py`` following the plan's ``AnswerShape``. Family differences (reasoning, caching, structured output)
come from ``families.py``; block conversion from ``content.py``.

Choices where Converse differs from Anthropic (recorded in ``docs/decisions.md``):

- ``role: "system"`` messages stay in place: botocore 1.44.8's ``ConversationRole`` lists ``system``. Turns of one
  role on either side of a system message merge (Converse alternates user and assistant), the system message
  following the merged turn.
- Top-level ``cache_control`` (Anthropic's automatic caching) is a ``cachePoint`` after the last message's content.
- ``output_config.format`` is ``outputConfig.textFormat`` where the family has it; on Nova a forced tool whose
  input is the answer (``AnswerShape.json_tool``): ``answers.py`` turns that tool call back into the answer's text.
- ``tool_choice: none`` has no Converse form: the tools are left out, unless the history holds tool blocks (Converse
  then requires them declared), in which case ``toolChoice`` is omitted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import CountTokensParams, MessageParams, ToolChoiceParam, ToolUnionParam
from finops.core.types import JSON
from finops.providers.bedrock import families
from finops.providers.bedrock.content import (
    ContentOptions,
    ContentTranslator,
    cache_point,
    check_tool_name,
    tool_description,
)
from finops.providers.bedrock.models import family_of

# How each model family takes top_k in ``additionalModelRequestFields`` (keyed by the ID's provider part).
# Families missing here (Meta Llama, AI21, ...) have no top_k; the field policy refuses it for them.
_TOP_K_FIELD_BUILDERS: dict[str, Callable[[int], JSON]] = {
    "anthropic": lambda k: {"top_k": k},
    "mistral": lambda k: {"top_k": k},
    "amazon": lambda k: {"inferenceConfig": {"topK": k}},
    "cohere": lambda k: {"k": k},
}

ANSWER_TOOL = "json_answer"
"""The forced tool that carries a structured answer on families without ``textFormat`` (a suffix avoids a clash)."""
_ANSWER_TOOL_DESCRIPTION = (
    "Give your final answer to the user by calling this tool: its input is the whole answer, as JSON matching "
    "the input schema. Call it once, after any other tool you need."
)


@dataclass(frozen=True)
class AnswerShape:
    """How to read a Converse answer back into Anthropic's form, as the request was translated."""

    json_tool: str | None = None
    """The forced answer tool: its call is the answer's text (JSON), not a tool use."""
    hide_thinking: bool = False
    """``thinking.display: omitted``: reasoning blocks come back with empty text (their signature kept)."""


@dataclass(frozen=True)
class ConversePlan:
    request: JSON
    """The Converse body (``modelId`` travels in the path)."""
    answer: AnswerShape


def to_converse_request(params: MessageParams | CountTokensParams) -> JSON:
    """The Converse request body for an Anthropic Messages body."""
    return plan_converse(params).request


def plan_converse(params: MessageParams | CountTokensParams) -> ConversePlan:
    model = params["model"]
    claude = family_of(model) == "anthropic"
    content = ContentTranslator(ContentOptions(caches=families.caches(model), claude=claude))

    messages = _messages(params, content)
    request: JSON = {"messages": messages}
    system = _system(params, content)
    if system:
        request["system"] = system
    # A count_tokens body has no sampling fields; reading them as a Messages body finds them absent.
    sampling = cast(MessageParams, params)
    inference = _inference_config(sampling)
    if inference:
        request["inferenceConfig"] = inference

    output_settings = params.get("output_config")
    output_format = output_settings.get("format") if output_settings else None
    method = families.structured_output(model) if output_format else None
    if output_format and method is None:
        raise InvalidRequestError(
            f"output_config.format: model {model} has neither structured output nor a forced tool choice on "
            "Bedrock, so its answer could not be held to the schema"
        )
    json_tool = _answer_tool_name(params.get("tools") or []) if method == "answer_tool" else None
    tool_config = _tool_config(
        params, messages, json_tool=json_tool, schema=output_format["schema"] if output_format else None
    )
    if tool_config:
        request["toolConfig"] = tool_config

    output_config: JSON = {}
    if output_format and method == "text_format":
        schema = orjson.dumps(output_format["schema"]).decode()
        output_config["textFormat"] = {"type": "json_schema", "structure": {"jsonSchema": {"schema": schema}}}
    effort = families.output_effort(model, output_settings)
    if effort:
        output_config["effort"] = effort
    if output_config:
        request["outputConfig"] = output_config

    thinking = params.get("thinking")
    extra = _merged(
        _top_k_fields(model, sampling.get("top_k")),
        families.reasoning_fields(model, thinking, output_settings.get("effort") if output_settings else None),
    )
    if extra:
        request["additionalModelRequestFields"] = extra

    hide = bool(thinking and thinking["type"] != "disabled" and thinking.get("display") == "omitted" and not claude)
    return ConversePlan(request, AnswerShape(json_tool=json_tool, hide_thinking=hide))


# -- messages and system ---------------------------------------------------------------------------------------


def _messages(params: MessageParams | CountTokensParams, content: ContentTranslator) -> list[JSON]:
    result: list[JSON] = []
    last_turn: JSON | None = None  # the latest user or assistant message (system messages stay out of alternation)
    for position, message in enumerate(params["messages"]):
        where = f"messages.{position}.content"
        if message["role"] not in ("user", "assistant", "system"):
            raise InvalidRequestError(
                f"messages.{position}.role: expected 'user', 'assistant' or 'system', got {message['role']!r}"
            )
        if message["role"] == "system":
            text = message["content"]
            blocks = [{"text": text}] if isinstance(text, str) and text else []
            if not isinstance(text, str):
                blocks = content.system_text(text)
            if blocks:
                result.append({"role": "system", "content": blocks})
            continue
        blocks = content.message(message["content"], where=where)
        if not blocks:
            continue  # only dropped blocks (earlier reasoning): Converse refuses empty turns
        if last_turn is not None and last_turn["role"] == message["role"]:
            # Anthropic merges consecutive turns of one role; Converse insists they alternate.
            last_turn["content"].extend(blocks)
            continue
        last_turn = {"role": message["role"], "content": blocks}
        result.append(last_turn)
    control = params.get("cache_control")
    if control and result and families.caches(params["model"]):
        result[-1]["content"].append(cache_point(control))
    return result


def _system(params: MessageParams | CountTokensParams, content: ContentTranslator) -> list[JSON]:
    system = params.get("system")
    if not system:
        return []
    if isinstance(system, str):
        return [{"text": system}]
    return content.system_text(system)


def _inference_config(params: MessageParams) -> JSON:
    config: JSON = {}
    max_tokens = params.get("max_tokens")
    if max_tokens is not None:
        if max_tokens < 1:
            # Anthropic allows 0 (cache pre-warm only); Converse requires at least one output token.
            raise InvalidRequestError("max_tokens: Bedrock requires at least 1")
        config["maxTokens"] = max_tokens
    if params.get("temperature") is not None:
        config["temperature"] = params.get("temperature")
    if params.get("top_p") is not None:
        config["topP"] = params.get("top_p")
    stop_sequences = params.get("stop_sequences")
    if stop_sequences:
        config["stopSequences"] = list(stop_sequences)
    return config


# -- tools --------------------------------------------------------------------------------------------------------


def _tool_config(
    params: MessageParams | CountTokensParams,
    messages: list[JSON],
    *,
    json_tool: str | None,
    schema: dict[str, object] | None,
) -> JSON | None:
    tools = params.get("tools") or []
    choice: ToolChoiceParam = params.get("tool_choice") or {"type": "auto"}
    caches_tools = families.caches_tools(params["model"])
    specs = [entry for index, tool in enumerate(tools) for entry in _tool(tool, index, caches=caches_tools)]
    if json_tool is not None and choice["type"] not in ("any", "tool"):
        # The answer goes through the answer tool: with other tools the model must call one of them or it ("any");
        # alone, it must call it. ``any``/``tool`` already force a tool call, so no text (and no format) remains.
        answer = {
            "toolSpec": {"name": json_tool, "description": _ANSWER_TOOL_DESCRIPTION, "inputSchema": {"json": schema}}
        }
        if choice["type"] == "none":
            kept = specs if _has_tool_blocks(messages) else []
            return {"tools": [*kept, answer], "toolChoice": {"tool": {"name": json_tool}}}
        forced = {"any": {}} if specs else {"tool": {"name": json_tool}}
        return {"tools": [*specs, answer], "toolChoice": forced}
    if not specs:
        return None
    if choice["type"] == "none":
        if not _has_tool_blocks(messages):
            return None  # Converse has no "none": leaving the tools out is the only way to guarantee no call
        # Tool blocks in the history need the tools declared; without toolChoice the model decides, as with auto.
        return {"tools": specs}
    config: JSON = {"tools": specs}
    if choice["type"] == "any":
        config["toolChoice"] = {"any": {}}
    elif choice["type"] == "tool":
        config["toolChoice"] = {"tool": {"name": choice["name"]}}
    else:
        config["toolChoice"] = {"auto": {}}
    return config


def _tool(tool: ToolUnionParam, index: int, *, caches: bool) -> list[JSON]:
    where = f"tools.{index}"
    if "type" in tool and tool["type"] not in (None, "custom"):
        raise InvalidRequestError(f"{where}: tool type {tool['type']!r} is not available on Bedrock Converse")
    custom: Any = tool  # a custom tool (``ToolParam``): the kinds above are the rest of the union
    check_tool_name(custom["name"], where=where)
    spec: JSON = {"name": custom["name"], "inputSchema": {"json": custom.get("input_schema") or {"type": "object"}}}
    description = tool_description(custom.get("description"), custom.get("input_examples"))
    if description:
        spec["description"] = description
    if custom.get("strict"):
        spec["strict"] = True
    entries: list[JSON] = [{"toolSpec": spec}]
    control = custom.get("cache_control")
    if control and caches:
        entries.append(cache_point(control))
    return entries


def _answer_tool_name(tools: Sequence[ToolUnionParam]) -> str:
    taken = {str(tool.get("name")) for tool in tools}
    name, counter = ANSWER_TOOL, 2
    while name in taken:
        name, counter = f"{ANSWER_TOOL}_{counter}", counter + 1
    return name


def _has_tool_blocks(messages: list[JSON]) -> bool:
    return any("toolUse" in block or "toolResult" in block for m in messages for block in m["content"])


# -- family fields ------------------------------------------------------------------------------------------------


def _top_k_fields(model: str, top_k: int | None) -> JSON:
    builder = _TOP_K_FIELD_BUILDERS.get(family_of(model))
    return builder(top_k) if builder and top_k is not None else {}


def _merged(*parts: JSON) -> JSON:
    """``additionalModelRequestFields`` from several parts; objects present in two parts are merged."""
    result: JSON = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(result.get(key), dict):
                result[key] = _merged(result[key], value)
            else:
                result[key] = value
    return result
