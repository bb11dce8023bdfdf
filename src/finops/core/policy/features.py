"""What a request asks for, as the field policy names it: one ``Feature`` per field, role, block, source and tool.

Walks a request the parse has already checked, so every known object has the shape its type says; objects of a
kind the model does not know (a new block type) are reported by kind and not entered. A key a known object does
not define is reported too (``text.foo``): no row names it, so the policy's rule for unknown features applies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from finops.core.params.blocks import DocumentSourceParam, ImageSourceParam
from finops.core.params.request import ContentBlockParam, ThinkingConfigParam
from finops.core.params.tools import ToolChoiceParam, ToolUnionParam
from finops.core.params.unions import members_by_kind, required_keys


@dataclass(frozen=True)
class Feature:
    key: str
    """The policy row that judges it (``document.title``)."""
    path: str
    """Where it is in the request, as Anthropic names fields (``messages.0.content.2.title``)."""
    value: Any
    subject: str = ""
    """What the path points at, when it is not the field itself (``content block type 'search_result'``)."""


def _required(types: Mapping[str, type]) -> Mapping[str, frozenset[str]]:
    return {kind: required_keys(member) for kind, member in types.items()}


_BLOCKS = _required(members_by_kind(ContentBlockParam))
_IMAGE_SOURCES = _required(members_by_kind(ImageSourceParam))
_DOCUMENT_SOURCES = _required(members_by_kind(DocumentSourceParam))
_TOOLS = _required(members_by_kind(ToolUnionParam))
_TOOL_CHOICES = _required(members_by_kind(ToolChoiceParam))
_THINKING = _required(members_by_kind(ThinkingConfigParam))

_TRANSLATABLE_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result"})
"""Blocks whose fields and sources matter: every other kind is judged whole (refused or passed on)."""


def _fields(obj: Mapping[str, Any], row: str, path: str, skip: frozenset[str]) -> Iterator[Feature]:
    """``row.key`` for each key of ``obj`` but the ones in ``skip`` (the kind and required, structural fields)."""
    for key, value in obj.items():
        if key not in skip:
            yield Feature(f"{row}.{key}", f"{path}.{key}", value)


def _kind(
    obj: Mapping[str, Any], row: str, path: str, known: Mapping[str, frozenset[str]], *, what: str, at: str
) -> Iterator[Feature]:
    """``row: kind`` at ``at`` (where the kind is named), then the object's own fields."""
    kind = obj["type"]
    yield Feature(f"{row}: {kind}", at, kind, f"{what} '{kind}'")
    if kind in known:
        yield from _fields(obj, row, path, known[kind] | {"type"})


def _block(block: Mapping[str, Any], path: str, turn_row: str) -> Iterator[Feature]:
    kind = block["type"]
    yield Feature(turn_row.format(kind=kind), path, kind, f"content block type '{kind}'")
    if kind not in _TRANSLATABLE_BLOCKS:
        return
    yield from _fields(block, kind, path, _BLOCKS[kind] | {"type"})
    source: Mapping[str, Any] = block.get("source") or {}
    if kind == "image":
        yield from _kind(
            source, "image source", f"{path}.source", _IMAGE_SOURCES, what="source type", at=f"{path}.source"
        )
    elif kind == "document":
        yield from _kind(
            source, "document source", f"{path}.source", _DOCUMENT_SOURCES, what="source type", at=f"{path}.source"
        )
        inner = source.get("content")
        if source["type"] == "content" and isinstance(inner, list):
            for index, item in enumerate(inner):
                yield from _block(item, f"{path}.source.content.{index}", "document content: {kind}")
    elif kind == "tool_result" and isinstance(block.get("content"), list):
        for index, item in enumerate(block["content"]):
            yield from _block(item, f"{path}.content.{index}", "tool_result content: {kind}")


def _text_blocks(blocks: Any, path: str) -> Iterator[Feature]:
    """The fields of ``system`` text blocks (and of a system message's): the text itself is the field's."""
    if isinstance(blocks, list):
        for index, block in enumerate(blocks):
            yield from _fields(block, "text", f"{path}.{index}", _BLOCKS["text"] | {"type"})


def _messages(messages: list[Mapping[str, Any]]) -> Iterator[Feature]:
    for index, message in enumerate(messages):
        path, role = f"messages.{index}", message["role"]
        yield Feature(f"role: {role}", f"{path}.role", role, f"role '{role}'")
        yield from _fields(message, "message", path, frozenset({"role", "content"}))
        content = message["content"]
        if role == "system":
            yield from _text_blocks(content, f"{path}.content")
        elif isinstance(content, list):
            for position, block in enumerate(content):
                yield from _block(block, f"{path}.content.{position}", f"{role} turn: {{kind}}")


def _tools(tools: list[Mapping[str, Any]]) -> Iterator[Feature]:
    for index, tool in enumerate(tools):
        kind = tool.get("type") or "custom"
        yield Feature(f"tool: {kind}", f"tools.{index}", kind, f"tool type '{kind}'")
        if kind == "custom":
            yield from _fields(tool, "tool", f"tools.{index}", _TOOLS["custom"] | {"type"})


def features(params: Mapping[str, Any]) -> Iterator[Feature]:
    """Every feature ``params`` uses, in the order a reader meets them."""
    for key, value in params.items():
        if key == "messages":
            yield Feature("messages", "messages", value)
            yield from _messages(value)
        elif key == "tools":
            yield from _tools(value)
        elif key == "tool_choice":
            yield from _kind(value, "tool_choice", "tool_choice", _TOOL_CHOICES, what="type", at="tool_choice.type")
        elif key == "thinking":
            yield from _kind(value, "thinking", "thinking", _THINKING, what="type", at="thinking.type")
        elif key == "output_config" and isinstance(value, dict):
            yield from _fields(value, "output_config", "output_config", frozenset())
        else:
            yield Feature(key, key, value)
            if key == "system":
                yield from _text_blocks(value, "system")
