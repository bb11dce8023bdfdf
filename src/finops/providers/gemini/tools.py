"""Anthropic ``tools`` and ``tool_choice`` -> Gemini ``tools`` and ``toolConfig`` (pure).

* Custom tools become ``functionDeclarations`` (JSON Schema as is, in ``parametersJsonSchema``); their
  ``input_examples`` are appended to the description, which is how a model learns from them.
* Anthropic's client tools (``bash``, the text editors, ``memory``) become function declarations with the input
  schema Anthropic publishes for them, under the same name, so the client runs them as it does for Claude.
* ``web_search`` becomes Google Search grounding (``googleSearch``) and Python ``code_execution_20250522`` Gemini's
  ``codeExecution``; both run at Google, and their results come back as Anthropic's server-tool blocks.
* Gemini runs its built-in tools beside function declarations only on Gemini 3, and only when the client
  circulates the server-side tool calls, which the gateway does not translate: the combination is a 400 (Gemini
  before 3 refuses it itself: "Tool use with function calling is unsupported").

Everything else an Anthropic-defined tool asks for that Gemini cannot honour is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.types import JSON

WEB_SEARCH_TYPES = frozenset({"web_search_20250305", "web_search_20260209", "web_search_20260318"})
CODE_EXECUTION_TYPES = frozenset({"code_execution_20250522"})

_TOOL_CHOICE_MODE_MAP: dict[str, str] = {
    "auto": "AUTO",
    "any": "ANY",
    "tool": "ANY",  # plus allowedFunctionNames = [name]
    "none": "NONE",
}

# Google Search cannot be told where to look or how often: these would change the answer, so they are refused.
# ``max_uses`` is the exception: Gemini runs few queries per answer and reports each one (``webSearchQueries``),
# so the cap is documented as not enforceable rather than refused (Claude Code's WebSearch always sends it).
_WEB_SEARCH_REFUSED = ("allowed_domains", "blocked_domains", "user_location")

_STRING = {"type": "string"}
_PATH = {"type": "string", "description": "Absolute path to the file or directory."}
_VIEW_RANGE = {
    "type": "array",
    "items": {"type": "integer"},
    "description": "For view on a file: [start, end] line numbers, 1-indexed; end -1 reads to the end.",
}


def _editor_schema(commands: Sequence[str]) -> JSON:
    return {
        "type": "object",
        "properties": {
            "command": {"type": "string", "enum": list(commands), "description": "The command to run."},
            "path": _PATH,
            "file_text": {"type": "string", "description": "For create: the content of the new file."},
            "old_str": {"type": "string", "description": "For str_replace: the exact text to replace (unique)."},
            "new_str": {"type": "string", "description": "For str_replace and insert: the new text."},
            "insert_line": {"type": "integer", "description": "For insert: the line after which to insert (0 = top)."},
            "view_range": _VIEW_RANGE,
        },
        "required": ["command", "path"],
    }


_EDITOR_DESCRIPTION = (
    "View, create and edit text files. view shows a file with line numbers or lists a directory; create writes a "
    "new file; str_replace replaces one exact, unique occurrence of old_str with new_str; insert adds new_str "
    "after line insert_line."
)

_UNDOABLE_EDITOR = (
    _EDITOR_DESCRIPTION + " undo_edit reverts the last edit of the file.",
    _editor_schema(("view", "create", "str_replace", "insert", "undo_edit")),
)
_BASH = (
    "Run a command in a persistent bash shell and get its output. Set restart to true to restart the shell.",
    {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The bash command to run."},
            "restart": {"type": "boolean", "description": "Restart the shell instead of running a command."},
        },
    },
)

# Anthropic-defined client tools: (description, input schema) as Anthropic's tool documentation gives them.
_CLIENT_TOOLS: Mapping[str, tuple[str, JSON]] = {
    "bash_20250124": _BASH,
    "bash_20241022": _BASH,
    "text_editor_20250124": _UNDOABLE_EDITOR,
    "text_editor_20241022": _UNDOABLE_EDITOR,
    "text_editor_20250429": (_EDITOR_DESCRIPTION, _editor_schema(("view", "create", "str_replace", "insert"))),
    "text_editor_20250728": (_EDITOR_DESCRIPTION, _editor_schema(("view", "create", "str_replace", "insert"))),
    "memory_20250818": (
        "A memory directory (/memories) that persists across conversations: view, create, str_replace, insert, "
        "delete and rename files in it. Check it before starting a task; record progress as you go.",
        {
            "type": "object",
            "properties": {
                "command": {
                    "type": "string",
                    "enum": ["view", "create", "str_replace", "insert", "delete", "rename"],
                },
                "path": _PATH,
                "view_range": _VIEW_RANGE,
                "file_text": _STRING,
                "old_str": _STRING,
                "new_str": _STRING,
                "insert_line": {"type": "integer"},
                "insert_text": _STRING,
                "old_path": _STRING,
                "new_path": _STRING,
            },
            "required": ["command"],
        },
    ),
}
CLIENT_TOOL_TYPES = frozenset(_CLIENT_TOOLS)


def uses_web_search(tools: Sequence[Mapping[str, Any]] | None) -> bool:
    return any(tool.get("type") in WEB_SEARCH_TYPES for tool in tools or ())


def gemini_tools(
    tools: Sequence[Mapping[str, Any]], tool_choice: Mapping[str, Any] | None, *, combines_builtin: bool
) -> tuple[list[JSON], JSON | None]:
    """(Gemini ``tools``, ``toolConfig`` or None) for a request's ``tools`` and ``tool_choice``.

    ``combines_builtin`` says whether the model could run built-in tools beside functions (Gemini 3); the gateway
    refuses the combination either way, and says which models could take it."""
    declarations: list[JSON] = []
    builtin: list[JSON] = []
    for position, tool in enumerate(tools):
        kind = tool.get("type") or "custom"
        where = f"tools.{position}"
        if kind == "custom":
            declarations.append(_function_declaration(tool))
        elif kind in _CLIENT_TOOLS:
            declarations.append(_client_tool_declaration(tool, kind, where))
        elif kind in WEB_SEARCH_TYPES:
            _check_builtin(tool, where, refused=_WEB_SEARCH_REFUSED)
            builtin.append({"googleSearch": {}})
        elif kind in CODE_EXECUTION_TYPES:
            _check_builtin(tool, where, refused=())
            builtin.append({"codeExecution": {}})
        else:
            raise InvalidRequestError(f"{where}: tool type {kind!r} is not available on Gemini")
    if declarations and builtin:
        why = (
            "Gemini 3 runs them together only when the client circulates its server-side tool calls, which the "
            "gateway does not translate"
            if combines_builtin
            else "models before Gemini 3 refuse the combination"
        )
        raise InvalidRequestError(
            "tools: Gemini cannot combine its server tools (web_search as Google Search, code_execution) with "
            f"function tools in one request ({why}); send them in separate requests"
        )
    gemini: list[JSON] = [{"functionDeclarations": declarations}] if declarations else []
    if (tool_choice or {}).get("type") != "none":
        gemini += _unique(builtin)  # Anthropic's none rules out every tool; Gemini's mode NONE covers functions only
    return gemini, _tool_config(tool_choice, declarations)


def _unique(tools: list[JSON]) -> list[JSON]:
    seen: list[JSON] = []
    for tool in tools:
        if tool not in seen:
            seen.append(tool)
    return seen


def _check_builtin(tool: Mapping[str, Any], where: str, *, refused: Sequence[str]) -> None:
    for name in refused:
        if tool.get(name) not in (None, []):
            raise InvalidRequestError(
                f"{where}.{name}: not supported by provider 'gemini' (Google Search takes no {name.replace('_', ' ')})"
            )
    _check_anthropic_fields(tool, where)


def _check_anthropic_fields(tool: Mapping[str, Any], where: str) -> None:
    if tool.get("strict") is True:
        raise InvalidRequestError(f"{where}.strict: not supported by provider 'gemini' (no strict function schemas)")
    callers = tool.get("allowed_callers")
    if isinstance(callers, list) and any(caller != "direct" for caller in callers):
        raise InvalidRequestError(
            f"{where}.allowed_callers: not supported by provider 'gemini' (Anthropic's programmatic tool calling)"
        )


def _function_declaration(tool: Mapping[str, Any]) -> JSON:
    # The spec marks FunctionDeclaration.description required; Anthropic's is optional.
    description = tool.get("description") or ""
    examples = tool.get("input_examples")
    if examples:
        rendered = "\n".join(orjson.dumps(example).decode() for example in examples)
        description = f"{description}\n\nExamples of valid input:\n{rendered}".strip()
    # parametersJsonSchema takes JSON Schema as-is; ``parameters`` only accepts an OpenAPI subset.
    return {"name": tool["name"], "description": description, "parametersJsonSchema": tool["input_schema"]}


def _client_tool_declaration(tool: Mapping[str, Any], kind: str, where: str) -> JSON:
    _check_anthropic_fields(tool, where)
    description, schema = _CLIENT_TOOLS[kind]
    max_characters = tool.get("max_characters")
    if max_characters:
        description += f" view returns at most {max_characters} characters of a file."
    return _function_declaration(
        {"name": tool["name"], "description": description, "input_schema": schema, **_examples(tool)}
    )


def _examples(tool: Mapping[str, Any]) -> JSON:
    examples = tool.get("input_examples")
    return {"input_examples": examples} if examples else {}


def _tool_config(tool_choice: Mapping[str, Any] | None, declarations: list[JSON]) -> JSON | None:
    """``disable_parallel_tool_use`` has no Gemini switch (the field policy refuses it)."""
    if tool_choice is None:
        return None
    kind = tool_choice["type"]
    if kind == "none" and not declarations:
        return None
    if kind in ("any", "tool") and not declarations:
        raise InvalidRequestError(
            f"tool_choice.type: {kind!r} cannot make Gemini run a server tool (it decides when to search or run "
            "code); use 'auto'"
        )
    mode = _TOOL_CHOICE_MODE_MAP.get(kind)
    if mode is None:
        raise InvalidRequestError(f"tool_choice.type: {kind!r} is not one of auto, any, tool, none")
    if not declarations:
        return None  # auto with server tools only: Gemini's default
    config: JSON = {"mode": mode}
    if kind == "tool":
        name = tool_choice["name"]
        if name not in {declaration["name"] for declaration in declarations}:
            raise InvalidRequestError(f"tool_choice.name: {name!r} is not one of the declared tools")
        config["allowedFunctionNames"] = [name]
    return {"functionCallingConfig": config}
