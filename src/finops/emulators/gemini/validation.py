"""Checking a GenerateContentRequest the way Google refuses one (400 ``INVALID_ARGUMENT``).

Beyond the basics: ``thinkingConfig`` per model (older models take none; 2.5 Pro and Gemini 3 refuse a
``thinkingBudget`` of 0; only Gemini 3 takes ``thinkingLevel``, never together with a budget) and
structured output (``responseSchema`` or ``responseJsonSchema``, never both, and only with
``responseMimeType: application/json`` or ``text/x.enum``); built-in tools beside function declarations only on
Gemini 3 (Gemini 3 Pro takes only the LOW and HIGH thinking levels).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from finops.emulators._common.tool_policy import ToolChoice
from finops.emulators.gemini.catalog import is_thinking, traits
from finops.emulators.gemini.errors import GoogleError, invalid
from finops.emulators.gemini.wire import pick

FileCheck = Callable[[str], bool]
"""Says whether a ``fileData.fileUri`` names a file that exists (unknown URIs of other hosts pass)."""

_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
_THOUGHT_SIGNATURE_DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures"
_JSON_TYPES = ("application/json", "text/x.enum")
_LEVELS = ("THINKING_LEVEL_UNSPECIFIED", "MINIMAL", "LOW", "MEDIUM", "HIGH")


@dataclass(frozen=True)
class OutputFormat:
    mime_type: str
    schema: dict[str, Any] | None
    """The JSON schema (``responseJsonSchema``) or Gemini's OpenAPI-subset schema (``responseSchema``)."""


def output_format(body: dict[str, Any]) -> OutputFormat | None:
    """What ``responseMimeType``/``responseSchema``/``responseJsonSchema`` ask for (``None``: plain text)."""
    config = pick(body, "generationConfig") or {}
    mime = pick(config, "responseMimeType")
    openapi, json_schema = pick(config, "responseSchema"), pick(config, "responseJsonSchema")
    if openapi is not None and json_schema is not None:
        raise invalid(
            "* GenerateContentRequest.generation_config.response_schema: response_schema and "
            "response_json_schema cannot both be set.\n"
        )
    schema = json_schema if json_schema is not None else openapi
    if schema is not None and mime not in _JSON_TYPES:
        raise invalid(
            "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must be "
            "application/json or text/x.enum when a response schema is set.\n"
        )
    if mime not in _JSON_TYPES:
        return None
    if schema is not None and not isinstance(schema, dict):
        raise invalid("* GenerateContentRequest.generation_config.response_schema: must be an object.\n")
    return OutputFormat(str(mime), schema)


def check_thinking_config(config: Any, model: str) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid("Invalid JSON payload received. 'thinkingConfig' must be an object.")
    info = traits(model)
    budget, level = pick(config, "thinkingBudget"), pick(config, "thinkingLevel")
    if not info.thinks:
        if budget or level or pick(config, "includeThoughts"):
            raise invalid(f"Thinking is not supported for models/{model}.")
        return
    if budget is not None and level is not None:
        raise invalid("You can only set only one of thinking budget and thinking level.")
    unsupported = level != "THINKING_LEVEL_UNSPECIFIED" and level not in info.thinking_levels
    if level is not None and (not info.thinking_levels or unsupported):
        raise invalid(
            f"Thinking level {level} is not supported for models/{model}."
            if level in _LEVELS
            else f"Invalid value at 'generation_config.thinking_config.thinking_level', \"{level}\""
        )
    if budget is not None:
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < -1:
            raise invalid("* GenerateContentRequest.generation_config.thinking_config.thinking_budget: invalid\n")
        if budget == 0 and not info.can_stop_thinking:
            raise invalid("Budget 0 is invalid. This model only works in thinking mode.")


def contents_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    contents = pick(body, "contents")
    if not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified\n")
    if not isinstance(contents, list):
        raise invalid("Invalid JSON payload received. 'contents' must be a list.")
    return contents


def _validate_parts(parts: Any, where: str, file_check: FileCheck) -> None:
    if not isinstance(parts, list) or not parts:
        raise invalid(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            raise invalid(f"Invalid JSON payload received. {where}.parts[{index}] must be an object.")
        present = [name for name in _DATA_FIELDS if pick(part, name) is not None]
        if len(present) != 1:
            raise invalid(
                f"* GenerateContentRequest.{where}.parts[{index}].data: "
                "required oneof field 'data' must have one initialized field\n"
            )
        kind = present[0]
        if kind in ("functionCall", "functionResponse") and not pick(pick(part, kind), "name"):
            raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].{kind}.name: Name cannot be empty.\n")
        if kind == "inlineData":
            blob = pick(part, "inlineData")
            if not pick(blob, "mimeType"):
                raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].inline_data.mime_type: required\n")
            try:
                base64.b64decode(str(pick(blob, "data", "")), validate=False)
            except ValueError as exc:
                raise invalid(f"Invalid value at '{where}.parts[{index}].inline_data.data' (TYPE_BYTES)") from exc
        if kind == "fileData":
            uri = str(pick(pick(part, "fileData"), "fileUri") or "")
            if not uri:
                raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].file_data.file_uri: required\n")
            if not file_check(uri):
                raise GoogleError(
                    403,
                    f"You do not have permission to access the File {uri.rsplit('/', 1)[-1]} or it may not exist.",
                    "PERMISSION_DENIED",
                )


def _validate_generation_config(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid("Invalid JSON payload received. 'generationConfig' must be an object.")
    checks: list[tuple[str, float, float]] = [("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)]
    for name, low, high in checks:
        value = pick(config, name)
        if value is not None and not (isinstance(value, int | float) and low <= value <= high):
            raise invalid(f"* GenerateContentRequest.generation_config.{name}: must be in [{low}, {high}]\n")
    top_k = pick(config, "topK")
    if top_k is not None and (not isinstance(top_k, int | float) or top_k < 1):
        raise invalid("* GenerateContentRequest.generation_config.top_k: must be a positive integer\n")
    count = pick(config, "candidateCount")
    if count is not None and (not isinstance(count, int) or not 1 <= count <= 8):
        raise invalid("* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8\n")
    max_tokens = pick(config, "maxOutputTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 0):
        raise invalid("* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n")
    stops = pick(config, "stopSequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 5):
        raise invalid("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences\n")


def declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = []
    for tool in pick(body, "tools") or []:
        for declaration in pick(tool, "functionDeclarations") or []:
            if not pick(declaration, "name"):
                raise invalid(
                    "* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty.\n"
                )
            declared.append(declaration)
    return declared


_BUILTIN_TOOLS = ("googleSearch", "googleSearchRetrieval", "codeExecution", "urlContext")


def check_tool_combination(body: dict[str, Any], model: str, declared: list[dict[str, Any]]) -> None:
    """Built-in tools beside function declarations: only Gemini 3 takes both (Google's tool-combination guide);
    earlier models answer with this 400."""
    builtin = any(pick(tool, name) is not None for tool in pick(body, "tools") or [] for name in _BUILTIN_TOOLS)
    if builtin and declared and not traits(model).combines_tools:
        raise invalid("Tool use with function calling is unsupported by the model.")


def calling_config(body: dict[str, Any], declared: list[dict[str, Any]]) -> ToolChoice:
    config = pick(pick(body, "toolConfig"), "functionCallingConfig") or {}
    mode = str(pick(config, "mode") or "AUTO").upper()
    if mode in ("MODE_UNSPECIFIED", "VALIDATED"):
        mode = "AUTO"
    if mode not in ("AUTO", "ANY", "NONE"):
        raise invalid(f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\"")
    allowed = list(pick(config, "allowedFunctionNames") or [])
    names = {str(pick(d, "name")) for d in declared}
    if allowed and mode != "ANY":
        raise invalid("allowed_function_names should only be set when the function calling mode is ANY.")
    if mode == "ANY" and not declared:
        raise invalid("Function calling mode is ANY but no function declarations were provided.")
    for name in allowed:
        if name not in names:
            raise invalid(f"allowed_function_names contains '{name}', which is not a declared function.")
    mapped = {"AUTO": "auto", "ANY": "any", "NONE": "none"}[mode]
    return ToolChoice(mode=mapped, allowed=tuple(str(name) for name in allowed))  # type: ignore[arg-type]


def _check_thought_signatures(contents: list[dict[str, Any]], model: str) -> None:
    """Thinking models need the signature of every function call in the current turn replayed.

    The current turn starts after the last user content holding text (function responses do not start a turn);
    within it, the first functionCall part of each model step must carry its ``thoughtSignature``.
    """
    if not is_thinking(model):
        return
    start = 0
    for index, content in enumerate(contents):
        parts = pick(content, "parts") or []
        if pick(content, "role", "user") == "user" and any(pick(p, "text") is not None for p in parts):
            start = index + 1
    for index in range(start, len(contents)):
        content = contents[index]
        if pick(content, "role") != "model":
            continue
        calls = [p for p in pick(content, "parts") or [] if pick(p, "functionCall") is not None]
        if calls and not pick(calls[0], "thoughtSignature"):
            name = pick(pick(calls[0], "functionCall"), "name")
            raise invalid(
                "Function call is missing a thought_signature in functionCall parts. "
                "This is required for tools to work correctly, and missing thought_signature "
                "may lead to degraded model performance. "
                f"Additional data, function call `default_api:{name}` , position {index + 1}. "
                f"Please refer to {_THOUGHT_SIGNATURE_DOCS} for more details."
            )


def validate(body: dict[str, Any], model: str, file_check: FileCheck) -> None:
    """Raise the 400 the real API gives for a malformed GenerateContentRequest."""
    contents = contents_of(body)
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            raise invalid(f"Invalid JSON payload received. contents[{index}] must be an object.")
        role = pick(content, "role")
        if role not in (None, "", "user", "model", "function"):
            raise invalid("Please use a valid role: user, model.")
        _validate_parts(pick(content, "parts"), f"contents[{index}]", file_check)
    system = pick(body, "systemInstruction")
    if system is not None:
        _validate_parts(pick(system, "parts"), "system_instruction", file_check)
    _validate_generation_config(pick(body, "generationConfig"))
    check_thinking_config(pick(pick(body, "generationConfig"), "thinkingConfig"), model)
    output_format(body)
    declared = declarations(body)
    calling_config(body, declared)
    check_tool_combination(body, model, declared)
    _check_thought_signatures(contents, model)
