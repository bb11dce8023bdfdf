"""The request model and the field policy against the newest official SDK's types (``anthropic`` 2.14, pinned in
the ``test`` extra), and ``docs/compatibility.md`` against the policy.

* Every field, message role, content block type, source type, tool type and variant the SDK types name has a
  policy row, and no row names something the SDK does not (but the listed beta and deprecated features).
* ``finops.core.params`` has the SDK's shape, field by field, but for the listed deliberate differences.
* The compatibility page is what ``python -m finops.core.policy.render`` writes.

Bumping the SDK pin runs all three: a new field, block or tool type fails here until it has a type and a row.
"""

from __future__ import annotations

import collections.abc
import io
import os
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import anthropic
import pydantic
import typing_extensions
from anthropic.types.message_count_tokens_params import MessageCountTokensParams as SDKCountTokensParams
from anthropic.types.message_create_params import MessageCreateParamsNonStreaming as SDKMessageParams
from anthropic.types.message_param import MessageParam as SDKMessageParam
from anthropic.types.messages.batch_create_params import BatchCreateParams as SDKBatchCreateParams
from anthropic.types.tool_union_param import ToolUnionParam as SDKToolUnionParam

from finops.core.params import BatchCreateParams, CountTokensParams, MessageParams
from finops.core.params.unions import required_keys
from finops.core.policy import ROWS
from finops.core.policy.render import render_compatibility
from finops.core.policy.rules import ANTHROPIC, BEDROCK_CLAUDE, Decision

REPO = Path(__file__).resolve().parents[2]
SDK_VERSION = "2.14.0"

# Rows for features the GA 2.14 types do not name: beta tool types and fields clients send with an
# ``anthropic-beta`` header (Claude Code: context editing), Claude Code's billing block in ``system``, the sampling
# fields Anthropic's API still accepts (deprecated), and batch-level fields.
ROWS_BEYOND_THE_SDK = {
    "context_management: clear_thinking_20251015",
    "context_management: clear_tool_uses_20250919",
    "context_management: compact_20260112",
    "system: x-anthropic-billing-header",
    "message.clear_at",
    "message.output_config",
    "temperature",
    "top_p",
    "top_k",
    "tool: bash_20241022",
    "tool: text_editor_20241022",
    "tool: computer_20241022",
    "tool: computer_20250124",
    "tool: computer_20251124",
    "tool: mcp_toolset",
    "tool: advisor_20260301",
}

# Where the request model knowingly differs from the SDK's types (the SDK path, then why).
DELIBERATE_DIFFERENCES = {
    "temperature": "deprecated in 2.14's types, still accepted by the API (its OpenAPI spec)",
    "context_management": "2.14's beta types: Claude Code sends it on every request (edit kinds typed only)",
    "top_p": "deprecated in 2.14's types, still accepted by the API",
    "top_k": "deprecated in 2.14's types, still accepted by the API",
    "stream": "one model for streaming and not: a bool, not Literal[False] / Literal[True]",
    "tool_use.caller": "nullable: answers carry caller null, and clients echo answers back",
    "server_tool_use.caller": "nullable, likewise",
    "web_search_tool_result.caller": "nullable, likewise",
    "web_fetch_tool_result.caller": "nullable, likewise",
    "tools(browser_toolset_20260801).configs": "a map of action -> config: Anthropic judges the action names",
    "tools(computer_toolset_20260801).configs": "a map of action -> config: Anthropic judges the action names",
    "thinking(adaptive).display": "also the beta value 'updates' (2.14's beta types), which Claude Code sends",
    "thinking(enabled).display": "likewise",
    "tools(custom).input_schema": "InputSchemaTyped | dict: the typed member allows any key, so any object",
}


def test_the_pinned_sdk_is_the_one_this_was_checked_against() -> None:
    assert anthropic.__version__ == SDK_VERSION


# -- walking typing annotations ------------------------------------------------------------------------------------

_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence, typing.List}  # noqa: UP006


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) in (typing.Annotated, typing.Required, typing.NotRequired) or get_origin(
        annotation
    ) in (typing_extensions.Required, typing_extensions.NotRequired):
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for argument in get_args(annotation) for member in _members(argument)]
    return [annotation]


def _item(annotation: Any) -> Any | None:
    """The item type of a list-like annotation (``Iterable[X]``, ``SequenceNotStr[X]``), else None."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if origin in _LISTS or (origin is not None and getattr(origin, "__name__", "") == "SequenceNotStr"):
        return get_args(annotation)[0]
    return None


def _typed_dicts(annotation: Any) -> list[type]:
    """The TypedDicts in a union or in a list's item union (the SDK's response models are left out)."""
    found = []
    for member in _members(annotation):
        item = _item(member)
        if item is not None:
            found += _typed_dicts(item)
        elif typing_extensions.is_typeddict(member):
            found.append(member)
    return found


def _hints(typed_dict: type) -> dict[str, Any]:
    return get_type_hints(typed_dict, include_extras=True)


def _kinds(typed_dict: type, field: str = "type") -> list[str]:
    values = [value for member in _members(_hints(typed_dict)[field]) for value in get_args(member)]
    return ["custom" if value is None else str(value) for value in values] or ["custom"]


def _optional_fields(typed_dict: type, *skip: str) -> list[str]:
    required = required_keys(typed_dict)
    return [name for name in _hints(typed_dict) if name not in required and name not in skip]


# -- every SDK feature has a row ------------------------------------------------------------------------------


def _translated_somewhere(key: str) -> bool:
    row = ROWS.get(key)
    return row is not None and any(
        rule.decision is not Decision.REFUSED
        for column, rule in row.rules.items()
        if column not in (ANTHROPIC, BEDROCK_CLAUDE)
    )


def _block_features(blocks: list[type], row: str) -> set[str]:
    """``row: kind`` per block type; the optional fields (and sources) of those some translator reads."""
    features = set()
    for block in blocks:
        for kind in _kinds(block):
            features.add(row.format(kind=kind))
            if not _translated_somewhere(row.format(kind=kind)):
                continue
            features |= {f"{kind}.{name}" for name in _optional_fields(block, "type")}
            hints = _hints(block)
            if "source" in hints:
                for source in _typed_dicts(hints["source"]):
                    features |= {f"{kind} source: {value}" for value in _kinds(source)}
                    if "content" in _hints(source):
                        features |= _block_features(_typed_dicts(_hints(source)["content"]), "document content: {kind}")
            if kind == "tool_result":
                features |= _block_features(_typed_dicts(hints["content"]), "tool_result content: {kind}")
    return features


def sdk_features() -> set[str]:
    features: set[str] = set()
    top_level = {**_hints(SDKMessageParams), **_hints(SDKCountTokensParams)}
    for name, annotation in top_level.items():
        if name in ("thinking", "tool_choice"):
            for variant in _typed_dicts(annotation):
                features |= {f"{name}: {kind}" for kind in _kinds(variant)}
                features |= {f"{name}.{field}" for field in _optional_fields(variant, "type")}
        elif name == "output_config":
            features |= {f"output_config.{field}" for field in _hints(_typed_dicts(annotation)[0])}
        elif name == "tools":
            for tool in _typed_dicts(annotation):
                features |= {f"tool: {kind}" for kind in _kinds(tool)}
                if _kinds(tool) == ["custom"]:
                    features |= {f"tool.{field}" for field in _optional_fields(tool, "type")}
        elif name == "system":
            features.add("system")
            features |= {
                f"text.{field}" for text in _typed_dicts(annotation) for field in _optional_fields(text, "type")
            }
        else:
            features.add(name)
    for message in _typed_dicts(SDKMessageParam):
        (role,) = _kinds(message, "role")
        features.add(f"role: {role}")
        if role != "system":  # a system message holds text blocks only, judged by its role
            features |= _block_features(_typed_dicts(_hints(message)["content"]), f"{role} turn: {{kind}}")
    features |= {f"batch.{name}" for name in _hints(SDKBatchCreateParams) if name != "requests"}
    return features


def test_every_field_role_block_and_tool_type_of_the_sdk_has_a_policy_row() -> None:
    features = sdk_features()
    assert len(features) > 100  # the walk really reached blocks, sources and tools
    assert sorted(features - set(ROWS)) == []


def test_every_policy_row_is_an_sdk_feature_or_a_known_extra() -> None:
    assert sorted(set(ROWS) - sdk_features() - ROWS_BEYOND_THE_SDK) == []
    assert sorted(ROWS_BEYOND_THE_SDK - set(ROWS)) == []


def test_anthropic_passes_everything_but_batch_fields_it_does_not_forward() -> None:
    for key, row in ROWS.items():
        if not key.startswith("batch."):
            assert row.rules[ANTHROPIC].decision is Decision.PASSTHROUGH, key


def test_every_row_says_how_or_why_wherever_it_translates_or_ignores() -> None:
    for key, row in ROWS.items():
        for column, rule in row.rules.items():
            if rule.decision in (Decision.TRANSLATED, Decision.IGNORED):
                assert rule.note, f"{key} on {column}: say how it is translated or why ignoring it is safe"


# -- the request model has the SDK's shape ----------------------------------------------------------------------


def _is_skipped(annotation: Any) -> bool:
    """Members that cannot arrive as JSON: the SDK's response models and file objects for base64 ``data``."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return True
    return annotation in (io.IOBase, typing.IO, os.PathLike) or get_origin(annotation) in (typing.IO, os.PathLike)


def shape(annotation: Any) -> Any:
    """A comparable description of a type: objects by field, unions by member, literals by value."""
    annotation = _strip(annotation)
    origin = get_origin(annotation)
    if annotation is type(None):
        return "null"
    if annotation in (str, int, float, bool):
        return annotation.__name__
    if annotation in (object, Any):
        return "any"
    if origin is Literal:
        return ("literal", tuple(sorted(repr(value) for value in get_args(annotation))))
    if origin in (Union, types.UnionType):
        members = [shape(member) for member in _members(annotation) if not _is_skipped(member)]
        labelled = {_label(member): member for member in members}
        if "str" in labelled and all(label in ("str", "literal") for label in labelled):
            return "str"  # ``Literal["claude-…", …] | str`` is a string
        return members[0] if len(members) == 1 else ("union", labelled)
    if _item(annotation) is not None:
        return ("list", shape(_item(annotation)))
    if origin is dict:
        return ("map", shape(get_args(annotation)[1]))
    if typing_extensions.is_typeddict(annotation):
        required = required_keys(annotation)
        return ("object", {name: (name in required, shape(hint)) for name, hint in _hints(annotation).items()})
    raise AssertionError(f"no shape for {annotation!r}")


def _label(shape_: Any) -> str:
    if isinstance(shape_, tuple) and shape_[0] == "object":
        for field in ("type", "role"):
            kind = shape_[1].get(field, (False, None))[1]
            if isinstance(kind, tuple) and kind[0] == "union":  # ``Literal["custom"] | None``
                kind = kind[1].get("literal")
            if isinstance(kind, tuple) and kind[0] == "literal":
                return ",".join(value.strip("'") for value in kind[1])
        return "object"
    return shape_[0] if isinstance(shape_, tuple) else shape_


def differences(path: str, sdk: Any, ours: Any) -> list[str]:
    if sdk == ours:
        return []
    if isinstance(sdk, tuple) and isinstance(ours, tuple) and sdk[0] == ours[0] and sdk[0] in ("list", "map"):
        return differences(path, sdk[1], ours[1])
    if isinstance(sdk, tuple) and isinstance(ours, tuple) and sdk[0] == ours[0] == "object":
        found = [f"{path}.{name}" for name in sorted(sdk[1].keys() ^ ours[1].keys())]
        for name in sorted(sdk[1].keys() & ours[1].keys()):
            (sdk_required, sdk_type), (our_required, our_type) = sdk[1][name], ours[1][name]
            where = f"{path}.{name}"
            found += [where] if sdk_required != our_required else differences(where, sdk_type, our_type)
        return found
    if isinstance(sdk, tuple) and isinstance(ours, tuple) and sdk[0] == ours[0] == "union":
        found = [f"{path}({label})" for label in sorted(sdk[1].keys() ^ ours[1].keys())]
        for label in sorted(sdk[1].keys() & ours[1].keys()):
            found += differences(f"{path}({label})", sdk[1][label], ours[1][label])
        return found
    return [path]


def _normalise(path: str) -> str:
    """One name per difference, wherever it appears: ``count_tokens.params.messages(user).content(list)(tool_use)
    .caller(null)`` is ``tool_use.caller``; the member label a difference ends on is dropped."""
    path = re.sub(r"^(messages|count_tokens|batch\.requests)\.params\.", "", path)
    path = re.sub(r"^messages\([a-z]+\)\.content\(list\)\(([a-z_]+)\)\.", r"\1.", path)
    return re.sub(r"\([a-z]+\)$", "", path)


def test_the_request_model_has_the_sdk_shape_but_for_deliberate_differences() -> None:
    found = differences("messages.params", shape(SDKMessageParams), shape(MessageParams))
    found += differences("count_tokens.params", shape(SDKCountTokensParams), shape(CountTokensParams))
    sdk_batch, our_batch = shape(SDKBatchCreateParams), shape(BatchCreateParams)
    found += differences("batch", sdk_batch, our_batch)
    assert sorted({_normalise(path) for path in found}) == sorted(DELIBERATE_DIFFERENCES)


def test_every_sdk_tool_type_is_a_typed_tool() -> None:
    from finops.core.params.tools import ToolUnionParam
    from finops.core.params.unions import members_by_kind

    sdk_kinds = {kind for tool in _typed_dicts(SDKToolUnionParam) for kind in _kinds(tool)}
    assert set(members_by_kind(ToolUnionParam)) == sdk_kinds


# -- the page -----------------------------------------------------------------------------------------------------


def test_the_compatibility_page_is_generated_from_the_policy() -> None:
    page = REPO / "docs" / "compatibility.md"
    assert page.read_text(encoding="utf-8") == render_compatibility(), (
        "docs/compatibility.md is stale: run `python -m finops.core.policy.render docs/compatibility.md`"
    )
