"""The emulated model: computes a Chat Completions reply from a validated request, with no HTTP involved.

Deterministic rules (documented so that clients can write exact assertions):

- Tools follow the shared policy (``_common.tool_policy``): a tool is called when the latest user message
  asks for it (``auto``), always under ``required`` or a named choice, never under ``none``; never in reply
  to ``tool`` results unless a newer user message asks again. One call per reply, its arguments built from the
  function's schema and the user's words.
- After tool results the answer quotes them; with ``response_format`` it is JSON (valid against a
  ``json_schema``, or ``{"answer": ...}`` for ``json_object``); otherwise ``_common.replies.reply_text``.
- Search models (``gpt-4o-search-preview``...) always search (``_common.web_search``) and answer with markdown
  links, each one a ``url_citation`` annotation.
- Reasoning models spend ``_common.thinking`` reasoning tokens for their ``reasoning_effort`` (default
  ``medium``): counted in ``completion_tokens`` and ``completion_tokens_details.reasoning_tokens``, never shown.
  When they use up ``max_completion_tokens`` the answer is empty and ``finish_reason`` is ``length``.
- Prompt tokens = 3 per message + its text tokens (+1 for ``name``) + 3 to prime the reply + the tool
  definitions' JSON tokens; 85 per image, ``len(file_data) // 16`` (at least 85) per inline file.
- Automatic prompt caching: prompts of at least 1,024 tokens store their prefixes in 128-token steps (per
  model and ``prompt_cache_key``, 10 minutes, or 24 hours with ``prompt_cache_retention: "24h"``); a later
  request reports the longest stored prefix it repeats as ``prompt_tokens_details.cached_tokens``.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.emulators._common.mentions import find_mentions
from finops.emulators._common.prompt_cache import PrefixCache
from finops.emulators._common.replies import (
    apply_stop_sequences,
    reply_text,
    reply_to_notes,
    reply_to_tool_results,
    truncate_to_tokens,
)
from finops.emulators._common.schema_values import structured_answer, tool_arguments
from finops.emulators._common.thinking import reasoning_tokens
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators._common.tool_policy import ToolSpec, choose_tool
from finops.emulators._common.web_search import search, search_query
from finops.emulators._common.words import reminders, user_words
from finops.emulators.openai.chat_request import ChatRequest, message_text, parse_chat_request

_IMAGE_TOKENS = 85
CACHE_MINIMUM = 1024
CACHE_STEP = 128
SYSTEM_FINGERPRINT = "fp_emulated01"
_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_prompt_cache() -> PrefixCache:
    return PrefixCache(minimum=CACHE_MINIMUM, step=CACHE_STEP, ttl_seconds=600.0)


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass
class Completion:
    """One computed reply: what both the JSON and the streaming renderers need."""

    id: str
    created: int
    model: str
    content: str | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int = 0
    tool_calls: list[ToolCall] = field(default_factory=list)
    annotations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Turn:
    request: str
    """The latest user message's own words (reminders stripped); empty when tool results come after it."""
    tool_results: list[tuple[str, str]]
    context: str
    notes: list[str]
    """The agent's ``<system-reminder>`` notes in the latest user message."""


def complete(body: Any, *, now: int, cache: PrefixCache | None = None) -> Completion:
    """Validate ``body`` as the chat endpoint does and compute the reply; raises :class:`OpenAIError`."""
    request = parse_chat_request(body)
    prompt_tokens = _prompt_tokens(request.messages, request.tool_definitions)
    cached = 0
    if cache is not None:
        prefix = cache.account(request.cache_scope, _prompt_sequence(request), ttl_seconds=request.cache_ttl)
        # Never the whole prompt: the tokens after the last cached step are processed anew.
        cached = min(prefix, (max(prompt_tokens - 1, 0) // CACHE_STEP) * CACHE_STEP)
    completion = Completion(
        id=random_id("chatcmpl-", 29),
        created=now,
        model=request.model,
        content=None,
        finish_reason="stop",
        prompt_tokens=prompt_tokens,
        completion_tokens=0,
        cached_tokens=cached,
    )
    turn = _latest_turn(request.messages)
    budget = request.max_tokens
    if request.reasoning_effort is not None:
        spent = reasoning_tokens(request.reasoning_effort, turn.request or _results_text(turn))
        if budget is not None and spent >= budget:
            # Reasoning used the whole allowance: nothing visible is left, as on the real API.
            completion.reasoning_tokens = completion.completion_tokens = budget
            completion.content, completion.finish_reason = "", "length"
            return completion
        completion.reasoning_tokens = completion.completion_tokens = spent
        budget = None if budget is None else budget - spent
    tool = choose_tool(request.tools, turn.request, request.tool_choice, answering_tool_result=bool(turn.tool_results))
    if tool is not None:
        _call_tool(completion, tool, turn, budget)
    elif request.web_search and turn.request:
        _answer_with_search(completion, turn.request, budget)
    else:
        _write_text(completion, request, turn, budget)
    return completion


def _latest_turn(messages: list[dict[str, Any]]) -> _Turn:
    """The user's latest words and the tool results that answer the assistant's latest tool calls."""
    names = {
        str(call.get("id")): str((call.get("function") or {}).get("name", ""))
        for message in messages
        if message["role"] == "assistant"
        for call in message.get("tool_calls") or []
        if isinstance(call, dict)
    }
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=-1)
    after = [m for m in messages[last_user + 1 :] if m["role"] == "tool"]
    if after:
        results, request, notes = after, "", []
    else:
        before: list[dict[str, Any]] = []
        for message in reversed(messages[:last_user]):
            if message["role"] != "tool":
                break
            before.insert(0, message)
        said = message_text(messages[last_user]) if last_user >= 0 else ""
        results, request, notes = before, user_words(said), reminders(said)
    context = "\n".join(message_text(m) for m in messages if m["role"] in ("system", "developer"))
    pairs = [(names.get(str(m.get("tool_call_id")), ""), message_text(m)) for m in results]
    return _Turn(request, pairs, context, notes)


def _results_text(turn: _Turn) -> str:
    return " ".join(text for _, text in turn.tool_results)


def _prompt_sequence(request: ChatRequest) -> list[str]:
    """The prompt as the model reads it, token by token: tools first, then every message."""
    parts = [orjson.dumps(request.tool_definitions).decode()] if request.tool_definitions else []
    for message in request.messages:
        content = message.get("content")
        rendered = content if isinstance(content, str) else orjson.dumps(content).decode()
        parts.append(f"<|{message['role']}|>{rendered}{orjson.dumps(message.get('tool_calls')).decode()}")
    return tokenize("\n".join(parts))


def _part_tokens(part: dict[str, Any]) -> int:
    kind = part.get("type")
    if kind in ("text", "refusal"):
        return count_tokens(part.get("text") or part.get("refusal") or "")
    if kind == "file":
        data = (part.get("file") or {}).get("file_data") or ""
        return max(_IMAGE_TOKENS, len(data) // 16)
    return _IMAGE_TOKENS  # image_url and input_audio


def _prompt_tokens(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> int:
    total = 3
    for message in messages:
        total += 3 + (1 if message.get("name") else 0)
        content = message.get("content")
        if isinstance(content, str):
            total += count_tokens(content)
        elif isinstance(content, list):
            total += sum(_part_tokens(part) for part in content)
        for call in message.get("tool_calls") or []:
            function = call.get("function") or {} if isinstance(call, dict) else {}
            total += count_tokens(f"{function.get('name', '')} {function.get('arguments', '')}")
    if tools:
        total += count_tokens(orjson.dumps(tools).decode())
    return total


def _call_tool(completion: Completion, tool: ToolSpec, turn: _Turn, budget: int | None) -> None:
    said = find_mentions(turn.request, context=turn.context)
    arguments = orjson.dumps(tool_arguments(tool.schema, said, tool_name=tool.name)).decode()
    completion.finish_reason = "tool_calls"
    if budget is not None:
        arguments, cut = truncate_to_tokens(arguments, budget)
        if cut:
            completion.finish_reason = "length"
    seed = f"{turn.request}\x00{tool.name}\x00{arguments}".encode()
    call_id = "call_" + hashlib.sha256(seed).hexdigest()[:24]
    completion.tool_calls = [ToolCall(id=call_id, name=tool.name, arguments=arguments)]
    completion.completion_tokens += count_tokens(tool.name) + count_tokens(arguments) + 3


def _write_text(completion: Completion, request: ChatRequest, turn: _Turn, budget: int | None) -> None:
    spec = request.response_format
    if spec is not None:
        context = "\n".join([turn.request, _results_text(turn)])
        if spec["type"] == "json_schema":
            value = structured_answer(spec["schema"], find_mentions(context))
        else:
            value = {"answer": reply_text(context)}
        text = orjson.dumps(value).decode()
    elif turn.tool_results:
        text, _ = apply_stop_sequences(reply_to_tool_results(turn.tool_results), request.stop)
    elif not turn.request and turn.notes:
        text, _ = apply_stop_sequences(reply_to_notes(turn.notes), request.stop)
    else:
        text, _ = apply_stop_sequences(reply_text(turn.request), request.stop)
    _set_content(completion, text, budget)


def _set_content(completion: Completion, text: str, budget: int | None) -> None:
    if budget is not None:
        text, cut = truncate_to_tokens(text, budget)
        if cut:
            completion.finish_reason = "length"
    completion.content = text
    completion.completion_tokens += count_tokens(text)


def _answer_with_search(completion: Completion, request: str, budget: int | None) -> None:
    """A search model's answer: one sentence per result, each ending in a cited markdown link."""
    query = search_query(request)
    text = f"Here is what I found about {query}:"
    citations: list[dict[str, Any]] = []
    for page in search(query):
        text += f" {page.snippet} "
        link = f"([{page.title}]({page.url}))"
        span = {"start_index": len(text), "end_index": len(text) + len(link)}
        citations.append({"type": "url_citation", "url_citation": {**span, "url": page.url, "title": page.title}})
        text += link + "."
    _set_content(completion, text, budget)
    shown = len(completion.content or "")
    completion.annotations = [c for c in citations if c["url_citation"]["end_index"] <= shown]


def usage(completion: Completion) -> dict[str, Any]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": completion.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": completion.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def to_response(completion: Completion) -> dict[str, Any]:
    """The ``chat.completion`` object."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": completion.content,
        "refusal": None,
        "annotations": completion.annotations,
    }
    if completion.tool_calls:
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in completion.tool_calls
        ]
    return {
        "id": completion.id,
        "object": "chat.completion",
        "created": completion.created,
        "model": completion.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": completion.finish_reason}],
        "usage": usage(completion),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
