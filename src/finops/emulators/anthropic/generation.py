"""The emulated model: validate a Messages request, then answer it deterministically.

No HTTP here. ``/v1/messages``, streaming and batch results all go through :func:`plan_reply`, so a batch
result and a direct call with the same params give the same content and the same usage.

Token accounting (what a user can recompute with ``_common.tokens.count_tokens``):
``input_tokens`` = tokens of the system prompt + the sum over every message block of the tokens of its text
(text blocks, string content, tool_result text, tool_use name and JSON input, plain-text documents);
``output_tokens`` = tokens of the reply text, or of the tool name and JSON input for a ``tool_use`` reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators._common.replies import apply_stop_sequences, reply_text, truncate_to_tokens
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators.anthropic.errors import invalid_request, not_found

_ROLES = ("user", "assistant")
_TOOL_CHOICES = ("auto", "any", "tool", "none")
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_TOKENS_PER_DELTA = 3


# --- validation -------------------------------------------------------------------------------------------


def validate_params(params: Any, *, require_max_tokens: bool = True, in_batch: bool = False) -> None:
    """Raise :class:`ApiError` (400, or 404 for an unknown model) the way Anthropic refuses a request."""
    if not isinstance(params, dict):
        raise invalid_request("Request body must be a JSON object")
    model = params.get("model")
    if model is None:
        raise invalid_request("model: Field required")
    if not isinstance(model, str) or not model:
        raise invalid_request("model: Input should be a valid string")
    if not model.startswith("claude"):
        raise not_found(f"model: {model}")
    if require_max_tokens:
        _validate_max_tokens(params, in_batch=in_batch)
    _validate_messages(params.get("messages"))
    _validate_system(params.get("system"))
    stop_sequences = params.get("stop_sequences")
    if stop_sequences is not None and (
        not isinstance(stop_sequences, list) or not all(isinstance(s, str) for s in stop_sequences)
    ):
        raise invalid_request("stop_sequences: Input should be a valid list of strings")
    _validate_tools(params.get("tools"), params.get("tool_choice"))
    stream = params.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise invalid_request("stream: Input should be a valid boolean")
    if in_batch and stream:
        raise invalid_request("stream: Streaming is not supported in Message Batches")


def _validate_max_tokens(params: dict[str, Any], *, in_batch: bool) -> None:
    if "max_tokens" not in params:
        raise invalid_request("max_tokens: Field required")
    max_tokens = params["max_tokens"]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid_request("max_tokens: Input should be a valid integer")
    minimum = 1 if in_batch else 0  # 0 is a cache pre-warm, which batches do not support
    if max_tokens < minimum:
        raise invalid_request(f"max_tokens: Input should be greater than or equal to {minimum}")


def _validate_messages(messages: Any) -> None:
    if messages is None:
        raise invalid_request("messages: Field required")
    if not isinstance(messages, list):
        raise invalid_request("messages: Input should be a valid list")
    if not messages:
        raise invalid_request("messages: at least one message is required")
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise invalid_request(f"messages.{index}: Input should be a valid dictionary")
        if message.get("role") not in _ROLES:
            raise invalid_request(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if content is None:
            raise invalid_request(f"messages.{index}.content: Field required")
        if isinstance(content, list):
            for block_index, block in enumerate(content):
                if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                    raise invalid_request(f"messages.{index}.content.{block_index}.type: Field required")
        elif not isinstance(content, str):
            raise invalid_request(f"messages.{index}.content: Input should be a valid string or list")


def _validate_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if isinstance(system, list) and all(isinstance(b, dict) and b.get("type") == "text" for b in system):
        return
    raise invalid_request("system: Input should be a valid string or a list of text blocks")


def _validate_tools(tools: Any, tool_choice: Any) -> None:
    if tools is not None:
        if not isinstance(tools, list):
            raise invalid_request("tools: Input should be a valid list")
        for index, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise invalid_request(f"tools.{index}: Input should be a valid dictionary")
            # Server tools (web_search, ...) carry a "type" and no input_schema; custom tools need both.
            if "type" in tool and tool.get("type") != "custom":
                continue
            if not isinstance(tool.get("name"), str) or not _TOOL_NAME.match(tool["name"]):
                raise invalid_request(f"tools.{index}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            if not isinstance(tool.get("input_schema"), dict):
                raise invalid_request(f"tools.{index}.input_schema: Field required")
    if tool_choice is None:
        return
    if not isinstance(tool_choice, dict) or tool_choice.get("type") not in _TOOL_CHOICES:
        raise invalid_request("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
    if tool_choice["type"] in ("any", "tool") and not tools:
        raise invalid_request("tool_choice may only be specified while providing tools.")
    if tool_choice["type"] == "tool":
        name = tool_choice.get("name")
        if not isinstance(name, str):
            raise invalid_request("tool_choice.name: Field required")
        if name not in {t.get("name") for t in tools or []}:
            raise invalid_request(f"Tool '{name}' not found in the provided tools")


# --- reading the prompt -----------------------------------------------------------------------------------


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def block_text(block: dict[str, Any]) -> str:
    """The text a block puts in front of the model (empty for images and binary documents)."""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "tool_result":
        return "\n".join(block_text(inner) for inner in _blocks(block.get("content")))
    if kind == "tool_use":
        return f"{block.get('name', '')} {orjson.dumps(block.get('input', {})).decode()}"
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            return str(source.get("data", ""))
        if source.get("type") == "content":
            return "\n".join(block_text(inner) for inner in _blocks(source.get("content")))
    return ""


def system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    return "\n".join(block_text(block) for block in system or [])


def input_tokens(params: dict[str, Any]) -> int:
    total = count_tokens(system_text(params.get("system")))
    for message in params["messages"]:
        for block in _blocks(message.get("content")):
            total += count_tokens(block_text(block))
    return total


def _last_user_turn(params: dict[str, Any]) -> list[dict[str, Any]]:
    for message in reversed(params["messages"]):
        if message.get("role") == "user":
            return _blocks(message.get("content"))
    return []


# --- the reply --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int
    output_tokens: int


def plan_reply(params: dict[str, Any], *, tool_use_id: str) -> Reply:
    """The deterministic answer to validated ``params``; ``tool_use_id`` names a tool call if one is made."""
    turn = _last_user_turn(params)
    prompt = "\n".join(text for text in (block_text(block) for block in turn) if text)
    used_input = input_tokens(params)
    tool = _chosen_tool(params, prompt, answered_tool=_has_tool_result(turn))
    if tool is not None:
        tool_input = _tool_input(tool.get("input_schema") or {}, prompt)
        block = {
            "type": "tool_use",
            "id": tool_use_id,
            "name": tool["name"],
            "input": tool_input,
            "caller": {"type": "direct"},
        }
        output = count_tokens(f"{tool['name']} {orjson.dumps(tool_input).decode()}")
        return Reply([block], "tool_use", None, used_input, output)

    text, stop_sequence = apply_stop_sequences(reply_text(prompt), params.get("stop_sequences"))
    text, cut = truncate_to_tokens(text, int(params["max_tokens"]))
    if cut:
        stop_reason, stop_sequence = "max_tokens", None
    elif stop_sequence is not None:
        stop_reason = "stop_sequence"
    else:
        stop_reason = "end_turn"
    # The real API sends no block at all rather than an empty one (max_tokens 0, stop sequence at the start).
    content = [{"type": "text", "text": text, "citations": None}] if text else []
    return Reply(content, stop_reason, stop_sequence, used_input, count_tokens(text))


def _has_tool_result(turn: list[dict[str, Any]]) -> bool:
    return any(block.get("type") == "tool_result" for block in turn)


def _chosen_tool(params: dict[str, Any], prompt: str, *, answered_tool: bool) -> dict[str, Any] | None:
    tools = [t for t in params.get("tools") or [] if isinstance(t.get("input_schema"), dict)]
    choice = (params.get("tool_choice") or {"type": "auto"}).get("type")
    if not tools or choice == "none":
        return None
    if choice == "tool":
        return next(t for t in tools if t["name"] == params["tool_choice"]["name"])
    if choice == "any":
        return _mentioned_tool(tools, prompt) or tools[0]
    # auto: call a tool the user named, unless this turn already carries that tool's result.
    if answered_tool:
        return None
    return _mentioned_tool(tools, prompt)


def _mentioned_tool(tools: list[dict[str, Any]], prompt: str) -> dict[str, Any] | None:
    lowered = prompt.lower()
    return next((t for t in tools if t["name"].lower() in lowered), None)


def _tool_input(schema: dict[str, Any], prompt: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties") or {}
    names = schema.get("required") or list(properties)
    return {name: _sample(properties.get(name) or {}, prompt) for name in names}


def _sample(schema: dict[str, Any], prompt: str) -> Any:
    """A value of the schema's type, derived from the prompt so different prompts give different inputs."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    number = _NUMBER.search(prompt)
    if kind == "integer":
        return int(float(number.group())) if number else 0
    if kind == "number":
        return float(number.group()) if number else 0.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return _tool_input(schema, prompt)
    words = prompt.split()
    return " ".join(words[:8]) if words else "emulated"


# --- wire shapes ------------------------------------------------------------------------------------------


def usage(reply: Reply, *, service_tier: str = "standard") -> dict[str, Any]:
    return {
        "input_tokens": reply.input_tokens,
        "output_tokens": reply.output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "server_tool_use": None,
        "service_tier": service_tier,
        "inference_geo": None,
        # Beta-only fields; always present so ?beta=true answers match BetaMessage too.
        "iterations": None,
        "speed": None,
    }


def message_object(reply: Reply, *, message_id: str, model: str, service_tier: str = "standard") -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": reply.content,
        "stop_reason": reply.stop_reason,
        "stop_sequence": reply.stop_sequence,
        "stop_details": None,
        "container": None,
        "context_management": None,
        "usage": usage(reply, service_tier=service_tier),
    }


def stream_events(reply: Reply, *, message_id: str, model: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE events of a streamed reply in Anthropic's exact order (``ping`` after ``message_start``)."""
    start = message_object(reply, message_id=message_id, model=model)
    start.update(content=[], stop_reason=None, stop_sequence=None)
    # As on the real API, message_start has the input and a provisional output count; message_delta is final.
    start["usage"]["output_tokens"] = min(1, reply.output_tokens)
    yield "message_start", {"type": "message_start", "message": start}
    yield "ping", {"type": "ping"}
    for index, block in enumerate(reply.content):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": "", "citations": None}
            deltas = [{"type": "text_delta", "text": piece} for piece in _text_pieces(block["text"])]
        else:
            opening = {**block, "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in _json_pieces(block["input"])]
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": opening}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": reply.stop_reason,
                "stop_sequence": reply.stop_sequence,
                "stop_details": None,
                "container": None,
            },
            "usage": {
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": None,
            },
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _text_pieces(text: str) -> list[str]:
    tokens = tokenize(text) or [text]
    return ["".join(tokens[i : i + _TOKENS_PER_DELTA]) for i in range(0, len(tokens), _TOKENS_PER_DELTA)]


def _json_pieces(value: dict[str, Any]) -> list[str]:
    # The real API opens a tool_use stream with an empty partial_json, then sends the JSON in fragments.
    encoded = orjson.dumps(value).decode()
    size = max(1, len(encoded) // 3 + 1)
    return ["", *(encoded[i : i + size] for i in range(0, len(encoded), size))]


def sse_frame(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
