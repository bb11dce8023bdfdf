"""Cache keys: what makes two Messages requests "the same request" (exact layer) or "the same conversation so far"
(semantic layer).

A request is normalised, then written as canonical JSON (orjson, sorted keys) and hashed (SHA-256):

- **Kept**: everything in the body that can change the answer — provider, model, system, messages, tools,
  tool_choice, output_config, thinking, max_tokens, stop_sequences, temperature/top_p/top_k, and any field the
  gateway does not know (``container``, ``mcp_servers``, ``context_management``...), because an unknown field may
  change the answer and a needless miss costs less than a wrong hit. The ``anthropic-beta`` header counts too
  (a beta can change what the model does), and so does the owner's namespace, so keys never collide across
  namespaces even in a shared Redis.
- **Dropped**: ``stream`` (a streamed and a non-streamed request share entries: a cached answer is replayed in
  either form), ``metadata`` (who is asking, not what), ``cache_control`` everywhere (prompt-caching breakpoints
  change what a call costs, not what it answers), ``service_tier``, ``speed``, ``inference_geo`` and
  ``diagnostics`` (where and how fast, not what).
- **Equated**: a string ``system`` or ``content`` is the one text block it stands for.

The semantic layer hashes the same normal form with the *text* of the last user turn taken out (its other blocks
— images, documents, tool results — stay in the hash) and embeds that text instead. A request whose last message
is not a user turn with text has no semantic key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from finops.core.types import JSON

IGNORED_FIELDS = frozenset(
    {"stream", "metadata", "cache_control", "service_tier", "speed", "inference_geo", "diagnostics"}
)
"""Top-level fields that never change the answer (see the module docstring)."""

_VERSION = b"finops-cache-v1\x00"
"""Bumped when the normal form changes, so old entries stop matching instead of matching wrongly."""


@dataclass(frozen=True)
class RequestKeys:
    exact: bytes
    """SHA-256 of the whole normalised request (32 bytes)."""
    context: bytes | None
    """SHA-256 of the request without the last user turn's text; ``None`` when there is no such text."""
    question: str | None
    """The last user turn's text (what the semantic layer embeds)."""


def _without_cache_control(block: Any) -> Any:
    if not isinstance(block, dict) or ("cache_control" not in block and block.get("type") != "tool_result"):
        return block
    cleaned = {key: value for key, value in block.items() if key != "cache_control"}
    content = cleaned.get("content")
    if isinstance(content, list):  # a tool result's own blocks may carry breakpoints too
        cleaned["content"] = [_without_cache_control(item) for item in content]
    return cleaned


def _blocks(content: Any, *, clean: bool) -> Any:
    """``content`` as a list of blocks (a string is its one text block), breakpoints dropped when ``clean``."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if clean and isinstance(content, list):
        return [_without_cache_control(block) for block in content]
    return content


def normalised(body: Mapping[str, Any], *, has_cache_control: bool = True) -> JSON:
    """The request as the key sees it. ``has_cache_control=False`` (the client's bytes hold no
    ``"cache_control"``) skips the walk that drops breakpoints."""
    form: JSON = {key: value for key, value in body.items() if key not in IGNORED_FIELDS}
    if "system" in form:
        form["system"] = _blocks(form["system"], clean=has_cache_control)
    messages = form.get("messages")
    if isinstance(messages, list):
        form["messages"] = [
            {**message, "content": _blocks(message.get("content"), clean=has_cache_control)}
            if isinstance(message, dict)
            else message
            for message in messages
        ]
    tools = form.get("tools")
    if has_cache_control and isinstance(tools, list):
        form["tools"] = [_without_cache_control(tool) for tool in tools]
    return form


def _digest(namespace: str, provider: str, beta: str | None, form: JSON) -> bytes:
    betas = sorted({part.strip() for part in (beta or "").split(",") if part.strip()})
    envelope = {"namespace": namespace, "provider": provider, "betas": betas, "request": form}
    return hashlib.sha256(_VERSION + orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)).digest()


def _split_question(form: JSON) -> tuple[JSON, str] | None:
    """The form without the last user turn's text, and that text; ``None`` when there is none."""
    messages = form.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user" or not isinstance(last.get("content"), list):
        return None
    texts = [block["text"] for block in last["content"] if isinstance(block, dict) and block.get("type") == "text"]
    if not texts or not "".join(texts).strip():
        return None
    rest = [block for block in last["content"] if not (isinstance(block, dict) and block.get("type") == "text")]
    context = {**form, "messages": [*messages[:-1], {**last, "content": rest, "question": True}]}
    return context, "\n".join(texts)


def request_keys(
    namespace: str,
    provider: str,
    body: Mapping[str, Any],
    *,
    beta: str | None = None,
    semantic: bool = False,
    raw_body: bytes | None = None,
) -> RequestKeys:
    """The keys of one request in ``namespace``; the semantic parts only when ``semantic`` is asked."""
    has_cache_control = raw_body is None or b'"cache_control"' in raw_body
    form = normalised(body, has_cache_control=has_cache_control)
    exact = _digest(namespace, provider, beta, form)
    if not semantic:
        return RequestKeys(exact, None, None)
    split = _split_question(form)
    if split is None:
        return RequestKeys(exact, None, None)
    context, question = split
    return RequestKeys(exact, _digest(namespace, provider, beta, context), question)
