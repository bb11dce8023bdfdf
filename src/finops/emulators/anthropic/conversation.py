"""Reading a validated Messages request: its text, its cacheable pieces and its latest user turn.

Token accounting (what a user can recompute with ``_common.tokens.count_tokens``): the input is the tool
definitions (their JSON, ``cache_control`` left out), the system prompt, ``role: "system"`` messages and every
message block, in that order; a block counts the tokens of its text (text, string content, tool_result text,
tool_use name and JSON input, plain-text documents, web search result titles and URLs); base64 images and
PDFs count one token per 750 bytes. Thinking blocks of earlier turns are not counted (the API strips them).
Every request adds ``REPLY_TURN_TOKENS`` for the assistant turn the prompt ends with: no ``cache_control`` can
reach them, so a request whose every block is cached still reports a few uncached ``input_tokens``, as
Anthropic's API does (3 or 4 on such a request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators._common.prompt_cache import Piece, media_piece, text_piece
from finops.emulators._common.words import reminders, user_words

REPLY_TURN_TOKENS = 3
"""The tokens that open the assistant's turn after the last message (never cached)."""


def blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def block_text(block: dict[str, Any]) -> str:
    """The text a block puts in front of the model (empty for images and binary documents)."""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_result":
        return "\n".join(block_text(inner) for inner in blocks(block.get("content")))
    if kind in ("tool_use", "server_tool_use"):
        return f"{block.get('name', '')} {orjson.dumps(block.get('input', {})).decode()}"
    if kind == "web_search_tool_result":
        found = block.get("content")
        entries = found if isinstance(found, list) else []
        return "\n".join(f"{r.get('title', '')} {r.get('url', '')}" for r in entries if isinstance(r, dict))
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            return str(source.get("data", ""))
        if source.get("type") == "content":
            return "\n".join(block_text(inner) for inner in blocks(source.get("content")))
    return ""


def system_text(params: dict[str, Any]) -> str:
    """The top-level system prompt and every ``role: "system"`` message, joined."""
    system = params.get("system")
    parts = [system] if isinstance(system, str) else [block_text(block) for block in system or []]
    for message in params["messages"]:
        if message.get("role") == "system":
            parts.extend(block_text(block) for block in blocks(message.get("content")))
    return "\n".join(part for part in parts if part)


def _breakpoint(block: dict[str, Any]) -> str | None:
    control = block.get("cache_control")
    return str(control.get("ttl") or "5m") if isinstance(control, dict) else None


def _block_piece(block: dict[str, Any]) -> Piece:
    marked = _breakpoint(block)
    source = block.get("source")
    if block.get("type") in ("image", "document") and isinstance(source, dict):
        if source.get("type") == "base64":
            return media_piece(str(source.get("data", "")), marked)
        if source.get("type") in ("url", "file"):
            return text_piece(orjson.dumps(source, option=orjson.OPT_SORT_KEYS).decode(), marked)
    return text_piece(block_text(block), marked)


def pieces(params: dict[str, Any]) -> list[Piece]:
    """The request's cacheable pieces in reading order: tools, system, then messages."""
    found: list[Piece] = []
    for tool in params.get("tools") or []:
        definition = {key: value for key, value in tool.items() if key != "cache_control"}
        found.append(text_piece(orjson.dumps(definition, option=orjson.OPT_SORT_KEYS).decode(), _breakpoint(tool)))
    system = params.get("system")
    if isinstance(system, str):
        found.append(text_piece(system))
    else:
        found.extend(_block_piece(block) for block in system or [])
    for message in params["messages"]:
        found.extend(_block_piece(block) for block in blocks(message.get("content")))
    top = params.get("cache_control")
    if isinstance(top, dict) and found:
        # Top-level cache_control marks the last cacheable block of the request.
        last = found[-1]
        found[-1] = Piece(last.material, last.tokens, last.breakpoint or str(top.get("ttl") or "5m"))
    found.append(Piece(material="<assistant turn>", tokens=REPLY_TURN_TOKENS))
    return found


def input_tokens(params: dict[str, Any]) -> int:
    return sum(piece.tokens for piece in pieces(params))


@dataclass(frozen=True)
class LatestTurn:
    request: str
    """The user's own words in the latest user turn: its text, reminders stripped, tool results left out."""
    tool_results: list[tuple[str, str]]
    """``(tool name, result text)`` for every tool result the turn returns."""
    notes: list[str]
    """The agent's ``<system-reminder>`` notes in the turn's text (background results arrive that way)."""


def latest_turn(params: dict[str, Any]) -> LatestTurn:
    names = {
        str(block.get("id")): str(block.get("name", ""))
        for message in params["messages"]
        if message.get("role") == "assistant"
        for block in blocks(message.get("content"))
        if block.get("type") == "tool_use"
    }
    for message in reversed(params["messages"]):
        if message.get("role") != "user":
            continue
        turn = blocks(message.get("content"))
        words = [block_text(block) for block in turn if block.get("type") != "tool_result"]
        results = [
            (names.get(str(block.get("tool_use_id")), ""), block_text(block))
            for block in turn
            if block.get("type") == "tool_result"
        ]
        said = "\n".join(word for word in words if word)
        return LatestTurn(user_words(said), results, reminders(said))
    return LatestTurn("", [], [])
