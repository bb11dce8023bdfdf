"""Tool definitions and ``tool_choice``, as the official SDK types them (``anthropic`` 2.14 ``tool_union_param.py``,
``tool_param.py``, ``tool_choice_param.py`` and the server tools' ``*_param.py``).

A custom tool has no ``type`` (or ``"custom"``); every other ``type`` names a tool Anthropic defines. A ``type``
this gateway does not know passes unvalidated: the field policy decides, per provider, what happens to it.
"""

from __future__ import annotations

from typing import Annotated, Literal, Required

from typing_extensions import TypedDict

from .blocks import CacheControlEphemeralParam, CitationsConfigParam, JSONObject
from .unions import Kinds

AllowedCaller = Literal["direct", "code_execution_20250825", "code_execution_20260120", "code_execution_20260521"]

InputSchema = JSONObject
"""The SDK types it ``InputSchemaTyped | dict[str, object]``; the typed member allows extra keys, so any object."""


class ToolParam(TypedDict, total=False):
    """A custom (client) tool: the caller runs it."""

    input_schema: Required[InputSchema]
    name: Required[str]
    allowed_callers: list[AllowedCaller]
    cache_control: CacheControlEphemeralParam | None
    defer_loading: bool
    description: str
    eager_input_streaming: bool | None
    input_examples: list[JSONObject]
    strict: bool
    type: Literal["custom"] | None


class _AnthropicDefinedTool(TypedDict, total=False):
    """Fields every Anthropic-defined tool shares (the SDK repeats them in each type)."""

    allowed_callers: list[AllowedCaller]
    cache_control: CacheControlEphemeralParam | None
    defer_loading: bool
    strict: bool


class ToolBash20250124Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["bash"]]
    type: Required[Literal["bash_20250124"]]
    input_examples: list[JSONObject]


class CodeExecutionTool20250522Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20250522"]]


class CodeExecutionTool20250825Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20250825"]]


class CodeExecutionTool20260120Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20260120"]]


class CodeExecutionTool20260521Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["code_execution"]]
    type: Required[Literal["code_execution_20260521"]]


class MemoryTool20250818Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["memory"]]
    type: Required[Literal["memory_20250818"]]
    input_examples: list[JSONObject]


class ToolTextEditor20250124Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["str_replace_editor"]]
    type: Required[Literal["text_editor_20250124"]]
    input_examples: list[JSONObject]


class ToolTextEditor20250429Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["str_replace_based_edit_tool"]]
    type: Required[Literal["text_editor_20250429"]]
    input_examples: list[JSONObject]


class ToolTextEditor20250728Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["str_replace_based_edit_tool"]]
    type: Required[Literal["text_editor_20250728"]]
    input_examples: list[JSONObject]
    max_characters: int | None


class ToolsetMemberConfigParam(TypedDict, total=False):
    defer_loading: bool | None
    enabled: bool | None


class BrowserToolset20260801Param(TypedDict, total=False):
    type: Required[Literal["browser_toolset_20260801"]]
    cache_control: CacheControlEphemeralParam | None
    configs: dict[str, ToolsetMemberConfigParam | None] | None
    """Keyed by browser action (``navigate``, ``left_click``…); Anthropic judges the key names."""


class ComputerToolset20260801Param(TypedDict, total=False):
    type: Required[Literal["computer_toolset_20260801"]]
    cache_control: CacheControlEphemeralParam | None
    configs: dict[str, ToolsetMemberConfigParam | None] | None
    """Keyed by computer action (``screenshot``, ``type``…); Anthropic judges the key names."""


class UserLocationParam(TypedDict, total=False):
    type: Required[Literal["approximate"]]
    city: str | None
    country: str | None
    region: str | None
    timezone: str | None


class _WebSearchTool(_AnthropicDefinedTool, total=False):
    name: Required[Literal["web_search"]]
    allowed_domains: list[str] | None
    blocked_domains: list[str] | None
    max_uses: int | None
    user_location: UserLocationParam | None


class WebSearchTool20250305Param(_WebSearchTool, total=False):
    type: Required[Literal["web_search_20250305"]]


class WebSearchTool20260209Param(_WebSearchTool, total=False):
    type: Required[Literal["web_search_20260209"]]


class WebSearchTool20260318Param(_WebSearchTool, total=False):
    type: Required[Literal["web_search_20260318"]]
    response_inclusion: Literal["full", "excluded"]


class WebFetchURLSourceToolReferenceParam(TypedDict, total=False):
    name: Required[str]
    type: Required[Literal["tool_reference"]]


class WebFetchURLSourceAllParam(TypedDict, total=False):
    type: Required[Literal["all"]]


class WebFetchURLSourceNoneParam(TypedDict, total=False):
    type: Required[Literal["none"]]


class WebFetchURLSourceOnlyParam(TypedDict, total=False):
    tools: Required[list[WebFetchURLSourceToolReferenceParam]]
    type: Required[Literal["only"]]


class WebFetchURLSourceExceptParam(TypedDict, total=False):
    tools: Required[list[WebFetchURLSourceToolReferenceParam]]
    type: Required[Literal["except"]]


WebFetchURLSourceParam = Annotated[
    WebFetchURLSourceAllParam | WebFetchURLSourceNoneParam | WebFetchURLSourceOnlyParam | WebFetchURLSourceExceptParam,
    Kinds(),
]

WebFetchUserInputSourceParam = Annotated[
    WebFetchURLSourceAllParam | WebFetchURLSourceNoneParam,
    Kinds(),
]


class WebFetchURLSourcesParam(TypedDict, total=False):
    client_tool_results: WebFetchURLSourceParam
    server_tool_results: WebFetchURLSourceParam
    user_input: WebFetchUserInputSourceParam


class _WebFetchTool(_AnthropicDefinedTool, total=False):
    name: Required[Literal["web_fetch"]]
    allowed_domains: list[str] | None
    blocked_domains: list[str] | None
    citations: CitationsConfigParam | None
    max_content_tokens: int | None
    max_uses: int | None
    url_sources: WebFetchURLSourcesParam | None


class WebFetchTool20250910Param(_WebFetchTool, total=False):
    type: Required[Literal["web_fetch_20250910"]]


class WebFetchTool20260209Param(_WebFetchTool, total=False):
    type: Required[Literal["web_fetch_20260209"]]


class WebFetchTool20260309Param(_WebFetchTool, total=False):
    type: Required[Literal["web_fetch_20260309"]]
    use_cache: bool


class WebFetchTool20260318Param(_WebFetchTool, total=False):
    type: Required[Literal["web_fetch_20260318"]]
    response_inclusion: Literal["full", "excluded"]
    use_cache: bool


class ToolSearchToolBm25_20251119Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["tool_search_tool_bm25"]]
    type: Required[Literal["tool_search_tool_bm25_20251119", "tool_search_tool_bm25"]]


class ToolSearchToolRegex20251119Param(_AnthropicDefinedTool, total=False):
    name: Required[Literal["tool_search_tool_regex"]]
    type: Required[Literal["tool_search_tool_regex_20251119", "tool_search_tool_regex"]]


ToolUnionParam = Annotated[
    ToolParam
    | ToolBash20250124Param
    | CodeExecutionTool20250522Param
    | CodeExecutionTool20250825Param
    | CodeExecutionTool20260120Param
    | CodeExecutionTool20260521Param
    | BrowserToolset20260801Param
    | MemoryTool20250818Param
    | ComputerToolset20260801Param
    | ToolTextEditor20250124Param
    | ToolTextEditor20250429Param
    | ToolTextEditor20250728Param
    | WebSearchTool20250305Param
    | WebFetchTool20250910Param
    | WebSearchTool20260209Param
    | WebFetchTool20260209Param
    | WebFetchTool20260309Param
    | WebSearchTool20260318Param
    | WebFetchTool20260318Param
    | ToolSearchToolBm25_20251119Param
    | ToolSearchToolRegex20251119Param,
    Kinds(open=True, absent="custom"),
]


# -- tool_choice -----------------------------------------------------------------------------------------------


class ToolChoiceAutoParam(TypedDict, total=False):
    type: Required[Literal["auto"]]
    disable_parallel_tool_use: bool


class ToolChoiceAnyParam(TypedDict, total=False):
    type: Required[Literal["any"]]
    disable_parallel_tool_use: bool


class ToolChoiceToolParam(TypedDict, total=False):
    name: Required[str]
    type: Required[Literal["tool"]]
    disable_parallel_tool_use: bool


class ToolChoiceNoneParam(TypedDict, total=False):
    type: Required[Literal["none"]]


ToolChoiceParam = Annotated[
    ToolChoiceAutoParam | ToolChoiceAnyParam | ToolChoiceToolParam | ToolChoiceNoneParam,
    Kinds(open=True),
]
