"""Anthropic ``tools`` and ``tool_choice`` as Chat Completions ``tools``, ``tool_choice`` and ``web_search_options``.
Pure.

- A custom tool becomes a ``function`` (``strict`` kept; ``input_examples`` appended to the description as JSON
  lines, since functions have no examples field).
- bash, the text editor and memory become functions with Anthropic's published input schema
  (``anthropic_tools``).
- A ``web_search_*`` tool becomes ``web_search_options`` on a search model (``web_search``), not a function.
- ``tool_choice`` ``auto``/``any``/``tool``/``none`` -> ``auto``/``required``/a named function/``none``;
  ``disable_parallel_tool_use: true`` -> ``parallel_tool_calls: false``. With no function left (only web search),
  neither is sent: OpenAI refuses them without tools, and a search model searches whatever the choice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.types import JSON
from finops.providers.openai.anthropic_tools import CLIENT_TOOLS, client_tool_function
from finops.providers.openai.web_search import is_web_search_tool, web_search_options

_TOOL_CHOICES: dict[str, str] = {"auto": "auto", "any": "required", "none": "none"}
_EXAMPLES_HEADING = "Examples of input:"


def chat_tools(tools: Sequence[Mapping[str, Any]], tool_choice: Mapping[str, Any] | None, model: str) -> JSON:
    """The body fields for ``tools`` and ``tool_choice`` (``tools``, ``tool_choice``, ``parallel_tool_calls``,
    ``web_search_options``)."""
    body: JSON = {}
    functions: list[JSON] = []
    searches: set[str] = set()
    for index, tool in enumerate(tools):
        where = f"tools.{index}"
        if is_web_search_tool(tool):
            body["web_search_options"] = web_search_options(tool, where, model)
            searches.add(str(tool.get("name")))
        else:
            functions.append({"type": "function", "function": _function(tool, where)})
    if not functions:
        return body
    body["tools"] = functions
    # OpenAI rejects tool_choice / parallel_tool_calls without tools, so both live under this branch.
    if tool_choice:
        body["tool_choice"] = _tool_choice(tool_choice, searches)
        if tool_choice.get("disable_parallel_tool_use"):
            body["parallel_tool_calls"] = False
    return body


def _function(tool: Mapping[str, Any], where: str) -> JSON:
    kind = tool.get("type")
    if kind in CLIENT_TOOLS:
        return client_tool_function(tool)
    if kind not in (None, "custom"):
        raise InvalidRequestError(
            f"{where}: tool type {kind!r} is an Anthropic server tool and is not available on the openai provider; "
            "define it as a custom tool with an input_schema"
        )
    function: JSON = {"name": tool["name"]}
    description = _described(tool.get("description") or "", tool.get("input_examples"))
    if description:
        function["description"] = description
    function["parameters"] = tool["input_schema"]
    if "strict" in tool:
        function["strict"] = tool["strict"]
    return function


def _described(description: str, examples: Any) -> str:
    if not examples:
        return description
    lines = [orjson.dumps(example).decode() for example in examples]
    return "\n".join([description, "", _EXAMPLES_HEADING, *lines] if description else [_EXAMPLES_HEADING, *lines])


def _tool_choice(tool_choice: Mapping[str, Any], searches: set[str]) -> str | JSON:
    kind = tool_choice.get("type")
    if kind == "tool":
        name = tool_choice["name"]
        if name in searches:
            raise InvalidRequestError(
                f"tool_choice.name: {name!r} cannot be forced on the openai provider beside function tools; a search "
                "model searches on every request, so web search needs no tool_choice"
            )
        return {"type": "function", "function": {"name": name}}
    if isinstance(kind, str) and kind in _TOOL_CHOICES:
        return _TOOL_CHOICES[kind]
    raise InvalidRequestError(f"tool_choice: type {kind!r} is not supported by the openai provider")
