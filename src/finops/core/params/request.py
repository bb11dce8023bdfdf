"""The bodies of ``POST /v1/messages``, ``/v1/messages/count_tokens`` and ``/v1/messages/batches``, as the official
SDK types them (``anthropic`` 2.14: ``message_create_params.py``, ``message_param.py``,
``message_count_tokens_params.py``, ``messages/batch_create_params.py``).

Three fields the 2.14 types no longer carry are kept, because Anthropic's API still accepts them (deprecated, with
ranges, in its OpenAPI spec) and older SDKs send them: ``temperature``, ``top_p`` and ``top_k``.

Every object allows keys this model does not name (``extra="allow"``, set on the three roots and inherited by every
nested ``TypedDict``): they stay in the dict for the field policy to judge and, on Anthropic, for the upstream.
"""

from __future__ import annotations

from typing import Annotated, Literal, Required

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

from .blocks import (
    CacheControlEphemeralParam,
    ContainerUploadBlockParam,
    DocumentBlockParam,
    ImageBlockParam,
    JSONObject,
    RedactedThinkingBlockParam,
    SearchResultBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from .server_blocks import (
    BashCodeExecutionToolResultBlockParam,
    CodeExecutionToolResultBlockParam,
    ServerToolUseBlockParam,
    TextEditorCodeExecutionToolResultBlockParam,
    ToolSearchToolResultBlockParam,
    WebFetchToolResultBlockParam,
    WebSearchToolResultBlockParam,
)
from .tools import ToolChoiceParam, ToolUnionParam
from .unions import JSONTypes, Kinds

_ROOT = ConfigDict(extra="allow", strict=True)
"""Unknown keys are kept (the policy judges them); no value is coerced (``"1"`` is not an integer)."""

ContentBlockParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | SearchResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ServerToolUseBlockParam
    | WebSearchToolResultBlockParam
    | WebFetchToolResultBlockParam
    | CodeExecutionToolResultBlockParam
    | BashCodeExecutionToolResultBlockParam
    | TextEditorCodeExecutionToolResultBlockParam
    | ToolSearchToolResultBlockParam
    | ContainerUploadBlockParam,
    Kinds(open=True),
]
"""A block in a user or assistant turn. Blocks the SDK lets a client echo from an answer (``TextBlock``,
``ToolUseBlock``…) have the same JSON shape as these."""

MessageContentParam = Annotated[str | list[ContentBlockParam], JSONTypes(fallback="list")]
SystemContentParam = Annotated[str | list[TextBlockParam], JSONTypes(fallback="list")]


class UserMessageParam(TypedDict):
    content: MessageContentParam
    role: Literal["user"]


class AssistantMessageParam(TypedDict):
    content: MessageContentParam
    role: Literal["assistant"]


class SystemMessageParam(TypedDict):
    """A system instruction inside the conversation (``role: "system"``, text only), as Claude Code sends."""

    content: SystemContentParam
    role: Literal["system"]


MessageParam = Annotated[
    UserMessageParam | AssistantMessageParam | SystemMessageParam,
    Kinds(field="role"),
]


ThinkingDisplay = Literal["summarized", "omitted", "updates"]
"""2.14's GA types name the first two; ``updates`` is its beta types' value (``thinking-display-updates-…``),
which Claude Code sends."""


class ThinkingConfigEnabledParam(TypedDict, total=False):
    budget_tokens: Required[int]
    type: Required[Literal["enabled"]]
    display: ThinkingDisplay | None


class ThinkingConfigDisabledParam(TypedDict, total=False):
    type: Required[Literal["disabled"]]


class ThinkingConfigBetweenToolsParam(TypedDict, total=False):
    type: Required[Literal["between_tools"]]


class ThinkingConfigAdaptiveParam(TypedDict, total=False):
    type: Required[Literal["adaptive"]]
    display: ThinkingDisplay | None


ThinkingConfigParam = Annotated[
    ThinkingConfigEnabledParam
    | ThinkingConfigDisabledParam
    | ThinkingConfigBetweenToolsParam
    | ThinkingConfigAdaptiveParam,
    Kinds(open=True),
]


class JSONOutputFormatParam(TypedDict, total=False):
    schema: Required[JSONObject]
    type: Required[Literal["json_schema"]]


class OutputConfigParam(TypedDict, total=False):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None
    format: JSONOutputFormatParam | None


class ClearToolUsesEditParam(TypedDict, total=False):
    type: Required[Literal["clear_tool_uses_20250919"]]


class ClearThinkingEditParam(TypedDict, total=False):
    type: Required[Literal["clear_thinking_20251015"]]
    keep: object
    """``"all"``, ``{type: "all"}`` or ``{type: "thinking_turns", value: N}``: read by ``core.normalize``."""


class CompactEditParam(TypedDict, total=False):
    type: Required[Literal["compact_20260112"]]


ContextManagementEditParam = Annotated[
    ClearToolUsesEditParam | ClearThinkingEditParam | CompactEditParam,
    Kinds(open=True),
]


class ContextManagementParam(TypedDict, total=False):
    """Anthropic's server-side context editing (beta ``context-management-2025-06-27``; 2.14's beta types), which
    Claude Code sends on every request. Only the edit kinds are typed: Anthropic judges the rest of an edit, and
    the field policy decides what other providers do with each kind."""

    edits: list[ContextManagementEditParam]


class MetadataParam(TypedDict, total=False):
    user_id: str | None


class DiagnosticsParam(TypedDict, total=False):
    previous_message_id: str | None


class SkillParams(TypedDict, total=False):
    skill_id: Required[str]
    type: Required[Literal["anthropic", "custom"]]
    version: str


class ContainerParams(TypedDict, total=False):
    id: str | None
    skills: list[SkillParams] | None


ContainerParam = Annotated[ContainerParams | str, JSONTypes(fallback="object")]
"""A container to reuse: its ID, or ``{id, skills}``."""

Model = Annotated[str, Field(min_length=1)]


class _CommonParams(TypedDict, total=False):
    """What ``/v1/messages`` and ``/v1/messages/count_tokens`` share."""

    messages: Required[list[MessageParam]]
    model: Required[Model]
    cache_control: CacheControlEphemeralParam | None
    context_management: ContextManagementParam | None
    output_config: OutputConfigParam
    speed: Literal["standard", "fast"] | None
    system: SystemContentParam
    thinking: ThinkingConfigParam
    tool_choice: ToolChoiceParam
    tools: list[ToolUnionParam]
    user_profile_id: str
    workspace_id: str


@with_config(_ROOT)
class MessageParams(_CommonParams, total=False):
    """A ``POST /v1/messages`` body (and each batch request's ``params``)."""

    max_tokens: Required[Annotated[int, Field(ge=0)]]
    container: ContainerParam | None
    diagnostics: DiagnosticsParam | None
    inference_geo: str | None
    metadata: MetadataParam
    service_tier: Literal["auto", "standard_only"]
    stop_sequences: list[str]
    stream: bool
    temperature: float
    top_k: int
    top_p: float


@with_config(_ROOT)
class CountTokensParams(_CommonParams, total=False):
    """A ``POST /v1/messages/count_tokens`` body."""


class BatchRequestParam(TypedDict):
    custom_id: str
    params: MessageParams


@with_config(_ROOT)
class BatchCreateParams(TypedDict, total=False):
    """A ``POST /v1/messages/batches`` body."""

    requests: Required[list[BatchRequestParam]]
    user_profile_id: str
    workspace_id: str
