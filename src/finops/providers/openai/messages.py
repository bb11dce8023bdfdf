"""An Anthropic conversation (``system`` and ``messages``) as Chat Completions ``messages``. Pure.

- ``system`` opens the conversation and each ``role: "system"`` message stays where it is, in order, as a
  ``system`` message, or a ``developer`` message on reasoning models, as OpenAI asks for o1 and later (the caller
  of ``chat_messages`` chooses the role). Text blocks are joined by newlines.
- A user turn becomes its ``tool`` messages first (they must follow the assistant's tool calls), then one user
  message with the rest: text, images, documents (a document's ``title`` and ``context`` as a text part before
  it) and search results (as text: title, source, content). Media a tool returned cannot ride in a ``tool``
  message and opens that user message; ``is_error`` becomes an ``Error: `` prefix.
- An assistant turn becomes one assistant message: its text and its tool calls. Earlier reasoning (``thinking``,
  ``redacted_thinking``) is dropped (OpenAI keeps its own hidden, Anthropic drops it from the context too); an
  earlier web search's ``server_tool_use`` is dropped and its results become a line of text naming each page,
  which is what the model needs of them (their encrypted content is Anthropic's); a search result is text there too.

A block the field policy lets through but that has no Chat Completions form here raises ``InvalidRequestError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import (
    ContentBlockParam,
    DocumentBlockParam,
    ImageBlockParam,
    MessageParams,
    SearchResultBlockParam,
    TextBlockParam,
    ToolResultBlockParam,
    ToolResultContentBlockParam,
    ToolUseBlockParam,
)
from finops.core.params.blocks import ContentSourceBlockParam
from finops.core.params.server_blocks import WebSearchToolResultBlockParam
from finops.core.types import JSON

InstructionsRole = Literal["system", "developer"]
UserBlock = ContentBlockParam | ToolResultContentBlockParam | ContentSourceBlockParam
"""A block in a user turn, a tool result or a document built from blocks."""

# Anthropic's own turns are concatenated segments of one reply (citations split them), so they rejoin with
# nothing in between; system blocks and tool-result blocks are separate pieces of text, so a newline.
_ASSISTANT_TEXT_SEPARATOR = ""
_BLOCK_TEXT_SEPARATOR = "\n"

TOOL_ERROR_PREFIX = "Error: "
"""Chat Completions has no is_error flag on tool messages; the model learns of the failure from this prefix."""

_DROPPED_ASSISTANT_BLOCKS = frozenset({"thinking", "redacted_thinking"})


def chat_messages(params: MessageParams, instructions_role: InstructionsRole) -> list[JSON]:
    """``system`` and ``messages`` as Chat Completions messages."""
    messages: list[JSON] = []
    system = params.get("system")
    if system:
        messages.append({"role": instructions_role, "content": _system_text(system)})
    for position, turn in enumerate(params["messages"]):
        where = f"messages.{position}"
        if turn["role"] == "user":
            messages.extend(_user_turn(turn["content"], where))
        elif turn["role"] == "assistant":
            assistant = _assistant_turn(turn["content"], where)
            if assistant is not None:
                messages.append(assistant)
        else:
            text = _system_text(turn["content"])
            if text:
                messages.append({"role": instructions_role, "content": text})
    return messages


def _system_text(content: str | list[TextBlockParam]) -> str:
    if isinstance(content, str):
        return content
    return _BLOCK_TEXT_SEPARATOR.join(block["text"] for block in content)


# -- user turns -------------------------------------------------------------------------------------------------


def _user_turn(content: str | list[ContentBlockParam], where: str) -> list[JSON]:
    """One user turn can become several messages: tool results first, then whatever the user added."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[JSON] = []
    moved_from_tool_results: list[JSON] = []
    parts: list[JSON] = []
    for index, block in enumerate(content):
        block_where = f"{where}.content.{index}"
        if block["type"] == "tool_result":
            tool_message, media_parts = _tool_result(block, block_where)
            tool_messages.append(tool_message)
            moved_from_tool_results.extend(media_parts)
        else:
            parts.extend(_user_block(block, block_where))
    # Tool messages must directly follow the assistant's tool_calls message, so they go first; media the tool
    # returned cannot ride in a tool message and opens the user message that follows.
    remaining = moved_from_tool_results + parts
    if remaining:
        return [*tool_messages, {"role": "user", "content": remaining}]
    return tool_messages


def _user_block(block: UserBlock, where: str) -> list[JSON]:
    if block["type"] == "text":
        return [{"type": "text", "text": block["text"]}]
    if block["type"] == "image":
        return [_image(block, where)]
    if block["type"] == "document":
        return _document(block, where)
    if block["type"] == "search_result":
        return [{"type": "text", "text": _search_result_text(block, where)}]
    raise InvalidRequestError(f"{where}: content block type {block['type']!r} is not supported by the openai provider")


def _image(block: ImageBlockParam, where: str) -> JSON:
    source = block["source"]
    if source["type"] == "base64":
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source["type"] == "url":
        url = source["url"]
    else:
        raise _unsupported_source("image", source, where)
    return {"type": "image_url", "image_url": {"url": url}}


def _document(block: DocumentBlockParam, where: str) -> list[JSON]:
    # Chat Completions has no place for a document's title or context: they travel as text just before it.
    about = [f"Document title: {block['title']}"] if block.get("title") else []
    if block.get("context"):
        about.append(f"Document context: {block['context']}")
    heading = [{"type": "text", "text": _BLOCK_TEXT_SEPARATOR.join(about)}] if about else []
    return heading + _document_parts(block, where)


def _document_parts(block: DocumentBlockParam, where: str) -> list[JSON]:
    source = block["source"]
    if source["type"] == "base64":
        media_type = source.get("media_type")
        if media_type != "application/pdf":
            raise InvalidRequestError(
                f"{where}: base64 documents must be application/pdf for the openai provider, got {media_type!r}"
            )
        # OpenAI requires a filename for inline files; the document title is the closest thing we have.
        filename = block.get("title") or "document.pdf"
        file_data = f"data:application/pdf;base64,{source['data']}"
        return [{"type": "file", "file": {"filename": filename, "file_data": file_data}}]
    if source["type"] == "text":
        return [{"type": "text", "text": source["data"]}]
    if source["type"] == "content":
        inner = source["content"]
        if isinstance(inner, str):
            return [{"type": "text", "text": inner}]
        parts: list[JSON] = []
        for index, inner_block in enumerate(inner):
            parts.extend(_user_block(inner_block, f"{where}.source.content.{index}"))
        return parts
    if source["type"] == "url":
        raise InvalidRequestError(
            f"{where}: documents by URL are not supported by the openai provider; "
            "send the PDF inline as a base64 source"
        )
    if source["type"] == "file":
        # The core has already swapped the caller's gateway file ID for OpenAI's own ``file-...`` ID.
        return [{"type": "file", "file": {"file_id": source["file_id"]}}]
    raise _unsupported_source("document", source, where)


def _search_result_text(block: SearchResultBlockParam, where: str) -> str:
    if (block.get("citations") or {}).get("enabled"):
        raise InvalidRequestError(
            f"{where}.citations: not supported by provider 'openai'; OpenAI cites no search results "
            "(leave citations off to send the result as text)"
        )
    lines = [f"Search result: {block['title']}", f"Source: {block['source']}"]
    lines.extend(inner["text"] for inner in block["content"])
    return _BLOCK_TEXT_SEPARATOR.join(lines)


def _unsupported_source(kind: str, source: Mapping[str, object], where: str) -> InvalidRequestError:
    # Chat Completions takes uploaded files only as ``file`` parts (documents); images must travel inline.
    if source.get("type") == "file":
        return InvalidRequestError(
            # No file_id in the message: the core has already swapped in OpenAI's own ID, which callers never see.
            f"{where}: {kind} source of type 'file' cannot be sent to the openai provider; "
            f"send the {kind} inline as a base64 source"
        )
    return InvalidRequestError(
        f"{where}: {kind} source type {source.get('type')!r} is not supported by the openai provider"
    )


def _tool_result(block: ToolResultBlockParam, where: str) -> tuple[JSON, list[JSON]]:
    """A ``role: tool`` message plus the media parts that must move to the following user message."""
    content = block.get("content")
    texts: list[str] = []
    media_parts: list[JSON] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for index, inner_block in enumerate(content or []):
            for part in _user_block(inner_block, f"{where}.content.{index}"):
                if part["type"] == "text":
                    texts.append(part["text"])
                else:
                    media_parts.append(part)
    text = _BLOCK_TEXT_SEPARATOR.join(texts)
    if block.get("is_error"):
        text = f"{TOOL_ERROR_PREFIX}{text}" if text else TOOL_ERROR_PREFIX.rstrip(": ")
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}, media_parts


# -- assistant turns --------------------------------------------------------------------------------------------


def _assistant_turn(content: str | list[ContentBlockParam], where: str) -> JSON | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    tool_calls: list[JSON] = []
    for index, block in enumerate(content):
        if block["type"] == "text":
            texts.append(block["text"])
        elif block["type"] == "tool_use":
            tool_calls.append(_tool_call(block))
        elif block["type"] == "server_tool_use" and block["name"] == "web_search":
            continue  # the search's results follow it, and they are what the model needs
        elif block["type"] == "web_search_tool_result":
            texts.append(_search_results_text(block))
        elif block["type"] == "search_result":
            texts.append(_search_result_text(block, f"{where}.content.{index}") + "\n\n")
        elif block["type"] in _DROPPED_ASSISTANT_BLOCKS:
            continue  # Anthropic thinking signatures mean nothing to OpenAI, which keeps its own reasoning hidden
        else:
            raise InvalidRequestError(
                f"{where}.content.{index}: content block type {block['type']!r} is not supported in assistant turns "
                "by the openai provider"
            )
    if not texts and not tool_calls:
        # A turn of only thinking has nothing OpenAI can read, and an empty assistant message is refused.
        return None
    message: JSON = {"role": "assistant", "content": _ASSISTANT_TEXT_SEPARATOR.join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _search_results_text(block: WebSearchToolResultBlockParam) -> str:
    content = block["content"]
    if not isinstance(content, list):
        return f"(Web search failed: {content['error_code']}.)\n\n"
    pages = [f"- {result['title'] or result['url']} ({result['url']})" for result in content]
    return "Web search results:\n" + "\n".join(pages) + "\n\n" if pages else "(Web search found nothing.)\n\n"


def _tool_call(block: ToolUseBlockParam) -> JSON:
    return {
        "id": block["id"],
        "type": "function",
        "function": {"name": block["name"], "arguments": orjson.dumps(block.get("input") or {}).decode()},
    }
