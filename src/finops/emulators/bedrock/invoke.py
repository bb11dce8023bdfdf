"""InvokeModel / InvokeModelWithResponseStream for Anthropic models: the Messages API, Bedrock-flavoured.

The body is an Anthropic Messages body without ``model`` and ``stream`` (the path carries the model and the
operation says whether to stream) and with ``anthropic_version: "bedrock-2023-05-31"``. The answer is an
Anthropic Message; the stream is the exact Anthropic event sequence, each event base64-wrapped in a
``chunk`` frame, the last one (``message_stop``) carrying ``amazon-bedrock-invocationMetrics``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators.bedrock.accounting import InputUsage, Piece, PromptCache, media_piece, text_piece
from finops.emulators.bedrock.errors import BedrockError, validation
from finops.emulators.bedrock.generate import (
    Outcome,
    Tool,
    ToolChoice,
    decide,
    json_pieces,
    random_id,
    text_pieces,
)
from finops.emulators.bedrock.models import Model

BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"
# The anthropic SDK's Bedrock client moves these into the path; their presence means a translation bug.
_FORBIDDEN_KEYS = ("model", "stream")


@dataclass(frozen=True)
class AnthropicCall:
    body: dict[str, Any]
    prompt: str
    outcome: Outcome
    usage: InputUsage


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
    max_tokens = body.get("max_tokens")
    if "max_tokens" not in body:
        raise _malformed("#: required key [max_tokens] not found")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise _malformed("#/max_tokens: must be an integer >= 1")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _malformed("#: required key [messages] not found or empty")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise _malformed(f"#/messages/{index}/role: must be 'user' or 'assistant'")
        _blocks(message.get("content"))
    stops = body.get("stop_sequences", [])
    if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
        raise _malformed("#/stop_sequences: expected type: JSONArray of strings")
    _tools_and_choice(body)
    return body


def _tools_and_choice(body: dict[str, Any]) -> tuple[list[Tool], ToolChoice]:
    tools = []
    for tool in body.get("tools") or []:
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise _malformed("#/tools: every tool needs a name")
        # Server tools (web search, bash...) have a type but no input_schema; the emulator never calls them.
        if "input_schema" in tool:
            tools.append(Tool(name=tool["name"], schema=tool["input_schema"]))
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


def _block_piece(block: dict[str, Any]) -> Piece:
    marked = bool(block.get("cache_control"))
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
        text_piece(orjson.dumps(tool, option=orjson.OPT_SORT_KEYS).decode(), bool(tool.get("cache_control")))
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


def _last_user_turn(body: dict[str, Any]) -> tuple[str, bool]:
    """The prompt the reply is derived from, and whether that turn returns tool results."""
    for message in reversed(body["messages"]):
        if message["role"] == "user":
            blocks = _blocks(message["content"])
            text = "\n".join(t for t in (_block_text(b) for b in blocks) if t)
            return text, any(b.get("type") == "tool_result" for b in blocks)
    return "", False


def run(body: dict[str, Any], model: Model, cache: PromptCache) -> AnthropicCall:
    tools, choice = _tools_and_choice(body)
    prompt, after_tool_result = _last_user_turn(body)
    outcome = decide(
        prompt,
        max_tokens=body["max_tokens"],
        stop_sequences=body.get("stop_sequences"),
        tools=tools,
        choice=choice,
        after_tool_result=after_tool_result,
    )
    usage = cache.account(model.base_id, _pieces(body))
    return AnthropicCall(body=body, prompt=prompt, outcome=outcome, usage=usage)


def _usage(usage: InputUsage, output_tokens: int) -> dict[str, int]:
    return {
        "input_tokens": usage.uncached,
        "cache_creation_input_tokens": usage.cache_write,
        "cache_read_input_tokens": usage.cache_read,
        "output_tokens": output_tokens,
    }


def _content(outcome: Outcome, tool_use_id: str) -> list[dict[str, Any]]:
    if outcome.tool_name is not None:
        return [{"type": "tool_use", "id": tool_use_id, "name": outcome.tool_name, "input": outcome.tool_input}]
    return [{"type": "text", "text": outcome.text}]


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
    start = message(call, model)
    start.update(content=[], stop_reason=None, stop_sequence=None)
    start["usage"] = _usage(call.usage, 1)
    yield {"type": "message_start", "message": start}
    if outcome.tool_name is not None:
        block = {"type": "tool_use", "id": random_id("toolu_bdrk_01"), "name": outcome.tool_name, "input": {}}
        yield {"type": "content_block_start", "index": 0, "content_block": block}
        for fragment in json_pieces(orjson.dumps(outcome.tool_input).decode()):
            yield {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": fragment},
            }
    else:
        yield {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        for piece in text_pieces(outcome.text):
            yield {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
    yield {"type": "content_block_stop", "index": 0}
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": outcome.stop_reason, "stop_sequence": outcome.stop_sequence},
        "usage": {"output_tokens": outcome.output_tokens},
    }
    yield {"type": "message_stop"}
