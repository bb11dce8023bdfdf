"""What a request asks for, as the field policy names it: a row key per field, role, block, source and tool.

Walks a request the parse has already checked, so every known object has the shape its type says; objects of a
kind the model does not know (a new block type) are reported by kind and not entered. A key a known object does
not define is reported too (``text.foo``): no row names it, so the policy's rule for unknown features applies.

The walk runs on every request to a translating provider, so it yields bare ``(key, value)`` pairs and keeps the
location in ``Walk.path``; a ``Feature`` (with the location as Anthropic names it) is built only for a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from finops.core.params.billing import is_billing_block
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


def _skipped(types: Mapping[str, type]) -> Mapping[str, frozenset[str]]:
    """Per kind, the keys that are not features of their own: the kind itself and the required, structural fields."""
    return {kind: required_keys(member) | {"type"} for kind, member in types.items()}


_BLOCKS = _skipped(members_by_kind(ContentBlockParam))
_IMAGE_SOURCES = _skipped(members_by_kind(ImageSourceParam))
_DOCUMENT_SOURCES = _skipped(members_by_kind(DocumentSourceParam))
_TOOL_CHOICES = _skipped(members_by_kind(ToolChoiceParam))
_THINKING = _skipped(members_by_kind(ThinkingConfigParam))
_CUSTOM_TOOL = _skipped(members_by_kind(ToolUnionParam))["custom"]
_MESSAGE_KEYS = frozenset({"role", "content"})

_TRANSLATABLE_BLOCKS = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "code_execution_tool_result",
    }
)
"""Blocks whose fields and sources matter: every other kind is judged whole (refused or passed on)."""

# What a ``prefix: kind`` row key points at, for the refusal message.
_SUBJECTS = {
    "role": "role",
    "user turn": "content block type",
    "assistant turn": "content block type",
    "tool_result content": "content block type",
    "document content": "content block type",
    "image source": "source type",
    "document source": "source type",
    "tool": "tool type",
    "thinking": "type",
    "tool_choice": "type",
    "context_management": "edit type",
}
BILLING_BLOCK = "system: x-anthropic-billing-header"
"""The row of Claude Code's billing block (``core.params.billing``) in ``system``."""


class Walk:
    """``for key, value in Walk(params)``: the features of ``params``, in the order a reader meets them; while a
    pair is being looked at, ``path`` holds its location (``["messages", 0, "content", 2, "title"]``)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params
        self.path: list[str | int] = []

    def feature(self, key: str, value: Any) -> Feature:
        prefix, colon, kind = key.partition(": ")
        subject = f"{_SUBJECTS[prefix]} '{kind}'" if colon and prefix in _SUBJECTS else ""
        path = ".".join(map(str, self.path))
        if prefix in ("thinking", "tool_choice", "context_management") and colon:
            path += ".type"
        return Feature(key, path, value, subject)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        path = self.path
        for key, value in self.params.items():
            path.append(key)
            if key == "messages":
                yield "messages", value
                yield from self._messages(value)
            elif key == "tools":
                yield from self._tools(value)
            elif key == "tool_choice":
                yield from self._kind(value, "tool_choice", _TOOL_CHOICES)
            elif key == "thinking":
                yield from self._kind(value, "thinking", _THINKING)
            elif key == "output_config" and isinstance(value, dict):
                yield from self._fields(value, "output_config", frozenset())
            elif key == "context_management" and isinstance(value, dict):
                yield from self._context_management(value)
            else:
                yield key, value
                if key == "system" and isinstance(value, list):
                    yield from self._system(value)
            path.pop()

    def _fields(self, obj: Mapping[str, Any], row: str, skip: frozenset[str]) -> Iterator[tuple[str, Any]]:
        """``row.key`` for each key of ``obj`` not in ``skip``."""
        path = self.path
        for key, value in obj.items():
            if key not in skip:
                path.append(key)
                yield f"{row}.{key}", value
                path.pop()

    def _kind(self, obj: Mapping[str, Any], row: str, known: Mapping[str, frozenset[str]]) -> Iterator[tuple[str, Any]]:
        """``row: kind``, then the object's own fields."""
        kind = obj["type"]
        yield f"{row}: {kind}", kind
        if kind in known:
            yield from self._fields(obj, row, known[kind])

    def _messages(self, messages: list[Mapping[str, Any]]) -> Iterator[tuple[str, Any]]:
        path = self.path
        for index, message in enumerate(messages):
            path.append(index)
            role = message["role"]
            path.append("role")
            yield f"role: {role}", role
            path.pop()
            if len(message) > 2:
                for key, value in self._fields(message, "message", _MESSAGE_KEYS):
                    if key == "message.output_config" and isinstance(value, dict):  # judged as the request's
                        yield from self._fields(value, "output_config", frozenset())
                    else:
                        yield key, value
            content = message["content"]
            if isinstance(content, list):
                path.append("content")
                if role == "system":
                    yield from self._text_blocks(content)
                else:
                    yield from self._blocks(content, f"{role} turn")
                path.pop()
            path.pop()

    def _blocks(self, blocks: list[Mapping[str, Any]], row: str) -> Iterator[tuple[str, Any]]:
        path = self.path
        for index, block in enumerate(blocks):
            path.append(index)
            kind = block["type"]
            yield f"{row}: {kind}", kind
            if kind in _TRANSLATABLE_BLOCKS:
                if len(block) > 2:
                    yield from self._fields(block, kind, _BLOCKS[kind])
                if kind == "image" or kind == "document":
                    yield from self._source(block["source"], kind)
                elif kind == "tool_result" and isinstance(block.get("content"), list):
                    path.append("content")
                    yield from self._blocks(block["content"], "tool_result content")
                    path.pop()
            path.pop()

    def _source(self, source: Mapping[str, Any], block: str) -> Iterator[tuple[str, Any]]:
        path = self.path
        path.append("source")
        yield from self._kind(source, f"{block} source", _IMAGE_SOURCES if block == "image" else _DOCUMENT_SOURCES)
        inner = source.get("content")
        if source["type"] == "content" and isinstance(inner, list):
            path.append("content")
            yield from self._blocks(inner, "document content")
            path.pop()
        path.pop()

    def _context_management(self, config: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
        """``context_management: kind`` per edit (and ``context_management.key`` for any other key)."""
        path = self.path
        for key, value in config.items():
            path.append(key)
            if key == "edits" and isinstance(value, list):
                for index, edit in enumerate(value):
                    path.append(index)
                    yield f"context_management: {edit['type']}", edit["type"]
                    path.pop()
            else:
                yield f"context_management.{key}", value
            path.pop()

    def _system(self, blocks: list[Mapping[str, Any]]) -> Iterator[tuple[str, Any]]:
        path = self.path
        for index, block in enumerate(blocks):
            if is_billing_block(block):
                path.append(index)
                yield BILLING_BLOCK, block["text"]
                path.pop()
        yield from self._text_blocks(blocks)

    def _text_blocks(self, blocks: list[Mapping[str, Any]]) -> Iterator[tuple[str, Any]]:
        """The fields of ``system`` text blocks (and of a system message's): the text itself is the field's."""
        path = self.path
        for index, block in enumerate(blocks):
            if len(block) > 2:
                path.append(index)
                yield from self._fields(block, "text", _BLOCKS["text"])
                path.pop()

    def _tools(self, tools: list[Mapping[str, Any]]) -> Iterator[tuple[str, Any]]:
        path = self.path
        for index, tool in enumerate(tools):
            path.append(index)
            kind = tool.get("type") or "custom"
            yield f"tool: {kind}", kind
            if kind == "custom":
                yield from self._fields(tool, "tool", _CUSTOM_TOOL)
            path.pop()


def features(params: Mapping[str, Any]) -> Iterator[Feature]:
    """Every feature ``params`` uses, with its location (for tests and tools; the policy walks ``Walk`` itself)."""
    walk = Walk(params)
    for key, value in walk:
        yield walk.feature(key, value)
