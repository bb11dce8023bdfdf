"""Chat Completions request validation: the 400/404s OpenAI gives, then one parsed :class:`ChatRequest`.

Shared by ``POST /v1/chat/completions`` and the batch runner, so a batch line fails exactly when the same
body sent directly would fail, with the same status and error. Beyond the basics it checks what OpenAI checks
for the newer parameters:

- ``response_format``: ``json_schema`` needs a ``name`` and a ``schema``; with ``strict: true`` every object
  must set ``additionalProperties: false`` and list every property in ``required``; ``json_object`` needs the
  word "json" somewhere in the messages.
- ``reasoning_effort`` only on reasoning models (o-series, GPT-5 and later); those refuse ``max_tokens``
  (``max_completion_tokens`` instead) and a ``temperature``/``top_p`` other than 1 unless the effort is
  ``none``.
- ``web_search_options`` only on the search models.
- ``tool_choice``: ``none``, ``auto``, ``required``, a named function, or ``allowed_tools``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from finops.emulators._common.tool_policy import ChoiceMode, ToolChoice, ToolSpec
from finops.emulators.openai import catalog
from finops.emulators.openai.errors import OpenAIError, bad_request

ROLES = ("system", "developer", "user", "assistant", "tool")
_PART_TYPES = {
    "system": {"text"},
    "developer": {"text"},
    "user": {"text", "image_url", "input_audio", "file"},
    "assistant": {"text", "refusal"},
    "tool": {"text"},
}
_MAX_STOP = 4
_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
_MODES: dict[str, ChoiceMode] = {"none": "none", "auto": "auto", "required": "any"}
_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_DEFAULT_CACHE_TTL = 600.0
_EXTENDED_CACHE_TTL = 24 * 3600.0


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stop: list[str]
    max_tokens: int | None
    tool_definitions: list[dict[str, Any]]
    """The ``function`` objects as sent (their JSON is billed as prompt tokens)."""
    tools: list[ToolSpec]
    tool_choice: ToolChoice
    response_format: dict[str, Any] | None
    """``{"type": "json_schema", "schema": {...}}`` or ``{"type": "json_object"}``; ``None`` for text."""
    reasoning_effort: str | None
    """The effort a reasoning model spends (default ``medium``); ``None`` for other models."""
    web_search: bool
    cache_scope: str
    cache_ttl: float


def parse_chat_request(body: Any) -> ChatRequest:
    """Validate ``body`` as the chat endpoint does; raises :class:`OpenAIError`."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", param="model")
    messages = _validate_messages(body.get("messages"))
    _check_model(model)
    stop = _validate_stop(body.get("stop"))
    reasoning = catalog.is_reasoning_model(model)
    effort = _validate_reasoning(body, reasoning)
    max_tokens = _validate_max_tokens(body, reasoning=reasoning)
    definitions = _validate_tools(body.get("tools"))
    tool_choice = _validate_tool_choice(body.get("tool_choice"), definitions)
    if body.get("n") not in (None, 1):
        raise bad_request("The emulator only supports n=1.", param="n", code="unsupported_value")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    search = catalog.is_search_model(model)
    if body.get("web_search_options") is not None and not search:
        raise bad_request(
            "Unsupported parameter: 'web_search_options' is not supported with this model.",
            param="web_search_options",
            code="unsupported_parameter",
        )
    _validate_safety_identifier(body.get("safety_identifier"))
    _validate_web_search_options(body.get("web_search_options"))
    retention = body.get("prompt_cache_retention")
    return ChatRequest(
        model=model,
        messages=messages,
        stop=stop,
        max_tokens=max_tokens,
        tool_definitions=definitions,
        tools=[_tool_spec(definition) for definition in definitions],
        tool_choice=tool_choice,
        response_format=_validate_response_format(body.get("response_format"), messages),
        reasoning_effort=effort,
        web_search=search,
        cache_scope=f"{catalog.base_model(model)}\x00{body.get('prompt_cache_key') or ''}",
        cache_ttl=_EXTENDED_CACHE_TTL if retention == "24h" else _DEFAULT_CACHE_TTL,
    )


_MAX_SAFETY_IDENTIFIER = 64


def _validate_safety_identifier(value: Any) -> None:
    """OpenAI's end-user ID for abuse detection: a string of at most 64 characters."""
    if value is None:
        return
    if not isinstance(value, str):
        raise bad_request(
            f"Invalid type for 'safety_identifier': expected a string, but got {type(value).__name__} instead.",
            param="safety_identifier",
            code="invalid_type",
        )
    if len(value) > _MAX_SAFETY_IDENTIFIER:
        raise bad_request(
            f"Invalid 'safety_identifier': string too long. Expected a string with maximum length "
            f"{_MAX_SAFETY_IDENTIFIER}, but got a string with length {len(value)} instead.",
            param="safety_identifier",
            code="string_above_max_length",
        )


def _tool_spec(function: dict[str, Any]) -> ToolSpec:
    return ToolSpec(str(function["name"]), str(function.get("description") or ""), function.get("parameters") or {})


def _check_model(model: str) -> None:
    if catalog.is_chat_model(model):
        return
    if model in catalog.EMBEDDING_MODELS:
        raise OpenAIError(
            404,
            "This is not a chat model and thus not supported in the v1/chat/completions endpoint. "
            "Did you mean to use v1/completions?",
            param="model",
        )
    raise OpenAIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def _validate_messages(messages: Any) -> list[dict[str, Any]]:
    if messages is None:
        raise bad_request(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    if not isinstance(messages, list):
        raise bad_request("Invalid type for 'messages': expected an array.", param="messages", code="invalid_type")
    if not messages:
        raise bad_request("Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise bad_request(f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(
                f"Invalid value: '{role}'. Supported values are: {', '.join(repr(r) for r in ROLES)}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        _validate_content(message, role, where)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise bad_request(
                f"Missing required parameter: '{where}.tool_call_id'.",
                param=f"{where}.tool_call_id",
                code="missing_required_parameter",
            )
    return messages


def _validate_content(message: dict[str, Any], role: str, where: str) -> None:
    content = message.get("content")
    if content is None:
        # Only an assistant turn that carries tool calls may omit its content.
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        raise bad_request(
            f"Missing required parameter: '{where}.content'.",
            param=f"{where}.content",
            code="missing_required_parameter",
        )
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise bad_request(
            f"Invalid type for '{where}.content': expected a string or an array.",
            param=f"{where}.content",
            code="invalid_type",
        )
    for part_index, part in enumerate(content):
        part_where = f"{where}.content[{part_index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in _PART_TYPES[role]:
            allowed = ", ".join(repr(k) for k in sorted(_PART_TYPES[role]))
            raise bad_request(
                f"Invalid value: '{kind}'. Supported values are: {allowed}.",
                param=f"{part_where}.type",
                code="invalid_value",
            )
        if kind == "text" and not isinstance(part.get("text"), str):
            raise bad_request(
                f"Missing required parameter: '{part_where}.text'.",
                param=f"{part_where}.text",
                code="missing_required_parameter",
            )
        if kind == "image_url" and not isinstance((part.get("image_url") or {}).get("url"), str):
            raise bad_request(
                f"Missing required parameter: '{part_where}.image_url.url'.",
                param=f"{part_where}.image_url.url",
                code="missing_required_parameter",
            )
        if kind == "file":
            file = part.get("file") or {}
            if not isinstance(file, dict) or not (file.get("file_data") or file.get("file_id")):
                raise bad_request(
                    f"Invalid '{part_where}.file': one of 'file_data' or 'file_id' is required.",
                    param=f"{part_where}.file",
                )


def _validate_stop(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise bad_request("Invalid type for 'stop': expected a string or an array of strings.", param="stop")
    if len(stop) > _MAX_STOP:
        raise bad_request(
            f"Invalid 'stop': array too long. Expected an array with maximum length {_MAX_STOP}, "
            f"but got an array with length {len(stop)} instead.",
            param="stop",
            code="array_above_max_length",
        )
    return stop


def _validate_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise bad_request("Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise bad_request(
                f"Invalid 'tools[{index}]': expected a function tool.",
                param=f"tools[{index}]",
                code="invalid_value",
            )
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise bad_request(
                f"Missing required parameter: 'tools[{index}].function.name'.",
                param=f"tools[{index}].function.name",
                code="missing_required_parameter",
            )
    return [tool["function"] for tool in tools]


def _validate_max_tokens(body: dict[str, Any], *, reasoning: bool) -> int | None:
    if reasoning and body.get("max_tokens") is not None:
        raise bad_request(
            "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    # max_completion_tokens wins over the deprecated max_tokens, as on the real API.
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1.",
                param=name,
                code="integer_below_min_value",
            )
        return value
    return None


def _validate_reasoning(body: dict[str, Any], reasoning: bool) -> str | None:
    effort = body.get("reasoning_effort")
    if effort is not None and not reasoning:
        raise bad_request(
            "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
            param="reasoning_effort",
            code="unsupported_parameter",
        )
    if not reasoning:
        return None
    if effort is not None and effort not in _EFFORTS:
        allowed = ", ".join(repr(e) for e in _EFFORTS)
        raise bad_request(
            f"Invalid value: '{effort}'. Supported values are: {allowed}.",
            param="reasoning_effort",
            code="invalid_value",
        )
    model = str(body.get("model"))
    supported = catalog.reasoning_efforts(model)
    if effort is not None and effort not in supported:
        if not supported:
            raise bad_request(
                "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
                param="reasoning_effort",
                code="unsupported_parameter",
            )
        raise bad_request(
            f"Unsupported value: '{effort}' is not supported with the '{model}' model. Supported values are: "
            f"{_listed(supported)}.",
            param="reasoning_effort",
            code="unsupported_value",
        )
    effort = effort or catalog.default_effort(model)
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None and value != 1 and effort != "none":
            raise bad_request(
                f"Unsupported value: '{name}' does not support {value} with this model. "
                "Only the default (1) value is supported.",
                param=name,
                code="unsupported_value",
            )
    return str(effort)


def _validate_web_search_options(options: Any) -> None:
    """The spec's ``web_search_options``: ``search_context_size`` low/medium/high, ``user_location`` approximate."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise bad_request(
            "Invalid type for 'web_search_options': expected an object.",
            param="web_search_options",
            code="invalid_type",
        )
    size = options.get("search_context_size")
    if size is not None and size not in ("low", "medium", "high"):
        raise bad_request(
            f"Invalid value: '{size}'. Supported values are: 'low', 'medium', and 'high'.",
            param="web_search_options.search_context_size",
            code="invalid_value",
        )
    location = options.get("user_location")
    if location is None:
        return
    if not isinstance(location, dict) or location.get("type") != "approximate":
        raise bad_request(
            "Invalid value for 'web_search_options.user_location.type': expected 'approximate'.",
            param="web_search_options.user_location.type",
            code="invalid_value",
        )
    approximate = location.get("approximate")
    fields = ("city", "country", "region", "timezone")
    if not isinstance(approximate, dict) or any(
        key not in fields or not isinstance(value, str) for key, value in approximate.items()
    ):
        raise bad_request(
            "Invalid 'web_search_options.user_location.approximate': expected an object of city, country, region "
            "and timezone strings.",
            param="web_search_options.user_location.approximate",
        )


def _listed(values: tuple[str, ...]) -> str:
    """``'a', 'b', and 'c'``, as OpenAI lists the values it supports."""
    quoted = [f"'{value}'" for value in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def _validate_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> ToolChoice:
    if choice is None:
        return ToolChoice(mode="auto" if tools else "none")
    if not tools:
        raise bad_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    names = {tool["name"] for tool in tools}
    if choice in ("none", "auto", "required"):
        return ToolChoice(mode=_MODES[choice])
    if isinstance(choice, dict) and choice.get("type") == "allowed_tools":
        return _allowed_tools(choice.get("allowed_tools"), names)
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(name, str):
        raise bad_request(
            "Invalid value for 'tool_choice': expected 'none', 'auto', 'required', a named function or "
            "'allowed_tools'.",
            param="tool_choice",
            code="invalid_value",
        )
    if name not in names:
        raise bad_request(
            f"Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' parameter.",
            param="tool_choice",
        )
    return ToolChoice(mode="tool", name=name)


def _allowed_tools(spec: Any, names: set[str]) -> ToolChoice:
    mode = spec.get("mode") if isinstance(spec, dict) else None
    listed = spec.get("tools") if isinstance(spec, dict) else None
    if mode not in ("auto", "required") or not isinstance(listed, list) or not listed:
        raise bad_request(
            "Invalid value for 'tool_choice.allowed_tools': expected a mode ('auto' or 'required') and tools.",
            param="tool_choice.allowed_tools",
            code="invalid_value",
        )
    allowed = tuple(str((entry.get("function") or {}).get("name")) for entry in listed if isinstance(entry, dict))
    unknown = [name for name in allowed if name not in names]
    if unknown:
        raise bad_request(
            f"Invalid value for 'tool_choice.allowed_tools': no function named '{unknown[0]}' was specified "
            "in the 'tools' parameter.",
            param="tool_choice.allowed_tools",
        )
    return ToolChoice(mode="auto" if mode == "auto" else "any", allowed=allowed)


def _validate_response_format(spec: Any, messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    if spec is None:
        return None
    kind = spec.get("type") if isinstance(spec, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        if not any("json" in message_text(m).lower() for m in messages):
            raise bad_request(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                param="messages",
            )
        return {"type": "json_object"}
    if kind != "json_schema":
        raise bad_request(
            f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object' and 'json_schema'.",
            param="response_format.type",
            code="invalid_value",
        )
    definition = spec.get("json_schema")
    if not isinstance(definition, dict) or not isinstance(definition.get("name"), str):
        raise bad_request(
            "Missing required parameter: 'response_format.json_schema.name'.",
            param="response_format.json_schema.name",
            code="missing_required_parameter",
        )
    name = definition["name"]
    if not _SCHEMA_NAME.match(name):
        raise bad_request(
            f"Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that "
            f"matches the pattern '{_SCHEMA_NAME.pattern}'.",
            param="response_format.json_schema.name",
            code="invalid_value",
        )
    schema = definition.get("schema") or {}
    if not isinstance(schema, dict):
        raise bad_request("Invalid type for 'response_format.json_schema.schema': expected an object.")
    if definition.get("strict"):
        problem = _root_problem(schema) or _strict_problem(schema, "()")
        if problem:
            raise bad_request(
                f"Invalid schema for response_format '{name}': {problem}",
                param="response_format",
                code="invalid_json_schema",
            )
    return {"type": "json_schema", "schema": schema}


_NOT_PERMITTED = frozenset(
    {
        "allOf",
        "oneOf",
        "not",
        "if",
        "then",
        "else",
        "dependentRequired",
        "dependentSchemas",
        "patternProperties",
        "unevaluatedProperties",
        "propertyNames",
        "minProperties",
        "maxProperties",
        "unevaluatedItems",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "uniqueItems",
        "minLength",
        "maxLength",
        "default",
    }
)
"""Keywords strict mode refuses (OpenAI's "Supported schemas" lists what it takes; these are the common rest)."""


def _root_problem(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind == "object":
        return None
    return f"schema must be a JSON Schema of 'type: \"object\"', got 'type: \"{kind}\"'."


def _strict_problem(node: Any, context: str) -> str | None:
    """Structured Outputs' strict-mode rules: every object closed, every property required, only the supported
    keywords."""
    if isinstance(node, list):
        return next((p for item in node if (p := _strict_problem(item, context))), None)
    if not isinstance(node, dict):
        return None
    refused = next((key for key in node if key in _NOT_PERMITTED), None)
    if refused is not None:
        return f"In context={context}, '{refused}' is not permitted."
    properties = node.get("properties")
    if node.get("type") == "object" or isinstance(properties, dict):
        if node.get("additionalProperties") is not False:
            return f"In context={context}, 'additionalProperties' is required to be supplied and to be false."
        missing = [key for key in properties or {} if key not in (node.get("required") or [])]
        if missing:
            return (
                f"In context={context}, 'required' is required to be supplied and to be an array including every "
                f"key in properties. Missing '{missing[0]}'."
            )
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            for prop, sub in value.items():
                if problem := _strict_problem(sub, f"('properties', '{prop}')"):
                    return problem
        elif key in ("items", "anyOf", "$defs", "definitions", "allOf", "oneOf", "prefixItems"):
            inner = value.values() if isinstance(value, dict) and key in ("$defs", "definitions") else value
            if problem := _strict_problem(list(inner) if not isinstance(inner, list | dict) else inner, context):
                return problem
    return None


def message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text") or part.get("refusal") or "" for part in content if part.get("type") in ("text", "refusal")
        )
    return ""
