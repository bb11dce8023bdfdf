"""InvokeModel / InvokeModelWithResponseStream for Anthropic models: the Messages API, Bedrock-flavoured.

The body is an Anthropic Messages body without ``model`` and ``stream`` (the path carries the model and the
operation says whether to stream) and with ``anthropic_version: "bedrock-2023-05-31"``. The answer is an
Anthropic Message; the stream is the exact Anthropic event sequence, each event base64-wrapped in a
``chunk`` frame, the last one (``message_stop``) carrying ``amazon-bedrock-invocationMetrics``.

As on Anthropic's API: ``thinking`` (``enabled`` with ``budget_tokens`` >= 1,024 below ``max_tokens``, or
``adaptive``) returns a signed ``thinking`` block first; ``output_config.format`` (or the beta ``output_format``)
answers JSON valid against its schema; ``cache_control`` (with ``ttl``) writes and reads the prompt cache;
``role: "system"`` messages (Anthropic's mid-conversation system messages) add to the system prompt.

As on Bedrock: ``anthropic_beta`` may only name the betas Bedrock offers for Claude; any other is refused with
``400 invalid beta flag`` (what Bedrock answers Claude Code's Anthropic-only betas: anthropics/claude-code#56595).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators._common.prompt_cache import BreakpointCache, CacheUsage, Piece, media_piece, text_piece
from finops.emulators._common.tool_policy import ToolChoice, ToolSpec
from finops.emulators._common.words import reminders, user_words
from finops.emulators.bedrock.errors import BedrockError, validation
from finops.emulators.bedrock.generate import (
    EarlierReasoning,
    Outcome,
    ReasoningRequest,
    Turn,
    answer_priming,
    check_reasoning_history,
    decide,
    json_pieces,
    random_id,
    text_pieces,
)
from finops.emulators.bedrock.models import Model

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
# The anthropic_beta values Bedrock accepts for Claude: AWS's Claude Messages parameters page (as quoted in
# BerriAI/litellm#19877), claude-code-20250219 (anthropics/claude-code#49648), and the later betas LiteLLM's Bedrock
# Invoke table forwards. Kept here, apart from the gateway's own list, because the emulator stands for Bedrock.
BEDROCK_BETAS = frozenset(
    {
        "claude-code-20250219",
        "compact-2026-01-12",
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "dev-full-thinking-2025-05-14",
        "effort-2025-11-24",
        "fine-grained-tool-streaming-2025-05-14",
        "interleaved-thinking-2025-05-14",
        "mid-conversation-output-config-2026-07-01",
        "mid-conversation-tool-changes-2026-07-01",
        "output-128k-2025-02-19",
        "thinking-display-updates-2026-08-18",
        "token-efficient-tools-2025-02-19",
        "tool-examples-2025-10-29",
        "tool-search-tool-2025-10-19",
    }
)
# The anthropic SDK's Bedrock client moves these into the path; their presence means a translation bug.
_FORBIDDEN_KEYS = ("model", "stream")
_MIN_THINKING_BUDGET = 1024


@dataclass(frozen=True)
class AnthropicCall:
    body: dict[str, Any]
    prompt: str
    outcome: Outcome
    usage: CacheUsage


def _malformed(detail: str) -> BedrockError:
    return validation(f"Malformed input request: {detail}, please reformat your input and try again.")


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(block, dict) for block in content):
        return content
    raise _malformed("#/messages: content must be a string or a list of content blocks")


def parse_body(raw: bytes) -> dict[str, Any]:
    """Validate an InvokeModel body as Bedrock does for Claude; return it parsed."""
    try:
        body = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise _malformed("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _malformed("#: expected type: JSONObject")
    for key in _FORBIDDEN_KEYS:
        if key in body:
            raise _malformed(f"#: extraneous key [{key}] is not permitted")
    if "anthropic_version" not in body:
        raise _malformed("#: required key [anthropic_version] not found")
    if body["anthropic_version"] != BEDROCK_ANTHROPIC_VERSION:
        raise validation(f"Invalid API version: anthropic_version must be {BEDROCK_ANTHROPIC_VERSION!r}.")
    beta = body.get("anthropic_beta", [])
    if not isinstance(beta, list) or not all(isinstance(item, str) for item in beta):
        raise _malformed("#/anthropic_beta: expected type: JSONArray of strings")
    if any(item not in BEDROCK_BETAS for item in beta):
        raise validation("invalid beta flag")
    max_tokens = body.get("max_tokens")
    if "max_tokens" not in body:
        raise _malformed("#: required key [max_tokens] not found")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _malformed("#/max_tokens: must be an integer >= 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _malformed("#: required key [messages] not found or empty")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise _malformed(f"#/messages/{index}/role: must be 'user', 'assistant' or 'system'")
        blocks = _blocks(message.get("content"))
        if message["role"] == "system" and any(block.get("type") != "text" for block in blocks):
            raise _malformed(f"#/messages/{index}/content: a system message holds text blocks only")
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _malformed("#/stop_sequences: expected type: JSONArray of strings")
    _tools_and_choice(body)
    _check_thinking(body)
    _output_schema(body)
    return body


def _check_thinking(body: dict[str, Any]) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "disabled", "adaptive"):
        raise _malformed("#/thinking/type: must be one of enabled, disabled, adaptive")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < _MIN_THINKING_BUDGET:
            raise _malformed(f"#/thinking/budget_tokens: must be an integer >= {_MIN_THINKING_BUDGET}")
        if budget >= body["max_tokens"]:
            raise validation("max_tokens must be greater than thinking.budget_tokens.")
    if kind in ("enabled", "adaptive") and (body.get("tool_choice") or {}).get("type") in ("any", "tool"):
        raise validation("Thinking may not be enabled when tool_choice forces tool use.")


def _output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    for where, spec in (
        ("#/output_config/format", (body.get("output_config") or {}).get("format")),
        ("#/output_format", body.get("output_format")),
    ):
        if spec is None:
            continue
        if not isinstance(spec, dict) or spec.get("type") != "json_schema" or not isinstance(spec.get("schema"), dict):
            raise _malformed(f"{where}: expected type json_schema with a schema object")
        schema: dict[str, Any] = spec["schema"]
        return schema
    return None


def _reasoning(body: dict[str, Any]) -> ReasoningRequest | None:
    thinking = body.get("thinking") or {}
    if thinking.get("type") not in ("enabled", "adaptive"):
        return None
    effort = (body.get("output_config") or {}).get("effort") or "high"
    return ReasoningRequest(effort=effort, budget=thinking.get("budget_tokens"))


def _tools_and_choice(body: dict[str, Any]) -> tuple[list[ToolSpec], ToolChoice]:
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise _malformed("#/tools: every tool needs a name")
        # Server tools (web search, bash...) have a type but no input_schema; the emulator never calls them.
        if "input_schema" in tool:
            tools.append(ToolSpec(tool["name"], str(tool.get("description") or ""), tool["input_schema"] or {}))
    raw_choice = body.get("tool_choice") or {"type": "auto"}
    mode = raw_choice.get("type") if isinstance(raw_choice, dict) else None
    if mode not in ("auto", "any", "tool", "none"):
        raise _malformed("#/tool_choice/type: must be one of auto, any, tool, none")
    if mode == "tool" and raw_choice.get("name") not in {t.name for t in tools}:
        raise validation(f"Tool '{raw_choice.get('name')}' named in tool_choice is not in tools.")
    if mode in ("any", "tool") and not tools:
        raise validation("tool_choice requires tools to be provided.")
    return tools, ToolChoice(mode=mode, name=raw_choice.get("name"))


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_result":
        inner = block.get("content", "")
        return inner if isinstance(inner, str) else " ".join(_block_text(b) for b in _blocks(inner))
    if kind == "tool_use":
        return orjson.dumps(block.get("input", {})).decode()
    if kind in ("thinking", "redacted_thinking"):
        return str(block.get("thinking", ""))
    return ""


def _breakpoint(block: dict[str, Any]) -> str | None:
    control = block.get("cache_control")
    return str(control.get("ttl") or "5m") if isinstance(control, dict) else None


def _block_piece(block: dict[str, Any]) -> Piece:
    marked = _breakpoint(block)
    source = block.get("source")
    if block.get("type") in ("image", "document") and isinstance(source, dict):
        if source.get("type") == "base64":
            return media_piece(str(source.get("data", "")), marked)
        if source.get("type") == "text":
            return text_piece(str(source.get("data", "")), marked)
        return text_piece(orjson.dumps(source).decode(), marked)
    return text_piece(_block_text(block), marked)


def _pieces(body: dict[str, Any]) -> list[Piece]:
    pieces = [
        text_piece(
            orjson.dumps({k: v for k, v in tool.items() if k != "cache_control"}, option=orjson.OPT_SORT_KEYS).decode(),
            _breakpoint(tool),
        )
        for tool in body.get("tools") or []
    ]
    system = body.get("system")
    if isinstance(system, str):
        pieces.append(text_piece(system))
    elif isinstance(system, list):
        pieces.extend(_block_piece(block) for block in system if isinstance(block, dict))
    for message in body["messages"]:
        pieces.extend(_block_piece(block) for block in _blocks(message["content"]))
    return pieces


def _system_text(body: dict[str, Any]) -> str:
    """The top-level system prompt and every ``role: "system"`` message's text."""
    system = body.get("system")
    texts = [system] if isinstance(system, str) else [_block_text(b) for b in system or [] if isinstance(b, dict)]
    for message in body["messages"]:
        if message["role"] == "system":
            texts += [_block_text(block) for block in _blocks(message["content"])]
    return "\n".join(texts)


def _latest_turn(body: dict[str, Any]) -> Turn:
    """The latest user turn: its own words (reminders stripped) and the tool results it returns."""
    names = {
        str(block.get("id")): str(block.get("name", ""))
        for message in body["messages"]
        if message["role"] == "assistant"
        for block in _blocks(message["content"])
        if block.get("type") == "tool_use"
    }
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            blocks = _blocks(message["content"])
            words = "\n".join(t for t in (_block_text(b) for b in blocks if b.get("type") != "tool_result") if t)
            results = [
                (names.get(str(b.get("tool_use_id")), ""), _block_text(b))
                for b in blocks
                if b.get("type") == "tool_result"
            ]
            return Turn(user_words(words), results, _system_text(body), reminders(words))
    return Turn("")


def _check_reasoning_history(body: dict[str, Any], model: Model) -> None:
    assistants = [m for m in body["messages"] if m["role"] == "assistant"]
    if not assistants:
        return
    last = _blocks(assistants[-1]["content"])
    leading = []
    for block in last:
        if block.get("type") == "thinking":
            leading.append(EarlierReasoning(str(block.get("thinking", "")), block.get("signature")))
        elif block.get("type") == "redacted_thinking":
            leading.append(EarlierReasoning(None, None))
        else:
            break
    calls_tools = any(block.get("type") == "tool_use" for block in last)
    check_reasoning_history(model.base_id, leading, calls_tools, _reasoning(body) is not None)


def run(body: dict[str, Any], model: Model, cache: BreakpointCache) -> AnthropicCall:
    tools, choice = _tools_and_choice(body)
    _check_reasoning_history(body, model)
    turn = _latest_turn(body)
    outcome = decide(
        turn,
        model=model.base_id,
        max_tokens=body["max_tokens"],
        stop_sequences=body.get("stop_sequences"),
        tools=tools,
        choice=choice,
        schema=_output_schema(body),
        reasoning=_reasoning(body),
    )
    usage = cache.account(model.base_id, [*_pieces(body), answer_priming()])
    prompt = "\n".join([turn.request, *(text for _, text in turn.tool_results)])
    return AnthropicCall(body=body, prompt=prompt, outcome=outcome, usage=usage)


def _usage(usage: CacheUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.uncached,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.cache_write - usage.cache_write_1h,
            "ephemeral_1h_input_tokens": usage.cache_write_1h,
        },
        "output_tokens": output_tokens,
    }


def _content(outcome: Outcome, tool_use_id: str) -> list[dict[str, Any]]:
    head = []
    if outcome.reasoning is not None:
        head = [{"type": "thinking", "thinking": outcome.reasoning.text, "signature": outcome.reasoning.signature}]
    if outcome.tool_name is not None:
        return [*head, {"type": "tool_use", "id": tool_use_id, "name": outcome.tool_name, "input": outcome.tool_input}]
    return [*head, {"type": "text", "text": outcome.text}] if outcome.text or not head else head


def message(call: AnthropicCall, model: Model) -> dict[str, Any]:
    """The InvokeModel response body: an Anthropic Message."""
    return {
        "id": random_id("msg_bdrk_01"),
        "type": "message",
        "role": "assistant",
        "model": model.anthropic_name,
        "content": _content(call.outcome, random_id("toolu_bdrk_01")),
        "stop_reason": call.outcome.stop_reason,
        "stop_sequence": call.outcome.stop_sequence,
        "usage": _usage(call.usage, call.outcome.output_tokens),
    }


def stream_events(call: AnthropicCall, model: Model) -> Iterator[dict[str, Any]]:
    """The Anthropic stream events, in order, without the Bedrock metrics (the caller adds them last)."""
    outcome = call.outcome
    full = message(call, model)
    start = {**full, "content": [], "stop_reason": None, "stop_sequence": None, "usage": _usage(call.usage, 1)}
    yield {"type": "message_start", "message": start}
    for index, block in enumerate(full["content"]):
        yield from _block_events(index, block)
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": outcome.stop_reason, "stop_sequence": outcome.stop_sequence},
        "usage": {"output_tokens": outcome.output_tokens},
    }
    yield {"type": "message_stop"}


def _block_events(index: int, block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block["type"]
    if kind == "thinking":
        yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
        for piece in text_pieces(block["thinking"]):
            yield _delta(index, {"type": "thinking_delta", "thinking": piece})
        yield _delta(index, {"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        yield _start(index, {**block, "input": {}})
        for fragment in json_pieces(orjson.dumps(block["input"]).decode()):
            yield _delta(index, {"type": "input_json_delta", "partial_json": fragment})
    else:
        yield _start(index, {"type": "text", "text": ""})
        for piece in text_pieces(block["text"]):
            yield _delta(index, {"type": "text_delta", "text": piece})
    yield {"type": "content_block_stop", "index": index}


def _start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}
