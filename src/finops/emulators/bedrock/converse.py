"""Converse / ConverseStream: Bedrock's model-neutral chat API.

Validation follows what Bedrock itself refuses (boto3 checks the shapes client-side, but raw HTTP callers
such as a gateway do not): the conversation starts with a user turn and alternates, every block has one
known member, tool blocks need a ``toolConfig``, and ``toolChoice.tool`` names a declared tool.
The stream sends no ``contentBlockStart`` for text blocks, only for tool use, as Bedrock does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators.bedrock.accounting import InputUsage, Piece, PromptCache, media_piece, text_piece
from finops.emulators.bedrock.errors import validation
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

DEFAULT_MAX_TOKENS = 4096
_BLOCK_KINDS = {
    "text",
    "image",
    "document",
    "video",
    "audio",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
    "searchResult",
}
_TOOL_BLOCKS = {"toolUse", "toolResult"}


@dataclass(frozen=True)
class ConverseCall:
    outcome: Outcome
    usage: InputUsage
    tool_use_id: str


def _kind(block: Any, where: str) -> str:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCK_KINDS:
        raise validation(f"The content block at {where} must set exactly one supported member.")
    return next(iter(block))


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise validation("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise validation("The request body must be a JSON object.")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise validation("The messages field must contain at least one message.")
    uses_tools = False
    previous_role = None
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise validation(f"messages.{index}.role must be 'user' or 'assistant'.")
        if index == 0 and role != "user":
            raise validation(
                "A conversation must start with a user message. Try again with a conversation that starts "
                "with a user message."
            )
        if role == previous_role:
            raise validation(
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
        previous_role = role
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise validation(f"messages.{index}.content must contain at least one content block.")
        for position, block in enumerate(content):
            uses_tools |= _kind(block, f"messages.{index}.content.{position}") in _TOOL_BLOCKS
    for position, block in enumerate(body.get("system") or []):
        if not isinstance(block, dict) or not block:
            raise validation(f"system.{position} must set exactly one member.")
    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens", DEFAULT_MAX_TOKENS)
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise validation("inferenceConfig.maxTokens must be an integer greater than or equal to 1.")
    for name in ("temperature", "topP"):
        value = config.get(name)
        if value is not None and not (isinstance(value, int | float) and 0 <= value <= 1):
            raise validation(f"inferenceConfig.{name} must be between 0 and 1.")
    if uses_tools and not body.get("toolConfig"):
        raise validation("The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    _tools_and_choice(body)
    return body


def _tools_and_choice(body: dict[str, Any]) -> tuple[list[Tool], ToolChoice]:
    config = body.get("toolConfig")
    if not config:
        return [], ToolChoice(mode="none")
    tools = []
    for entry in config.get("tools") or []:
        spec = entry.get("toolSpec") if isinstance(entry, dict) else None
        if spec is None:
            continue  # cachePoint / systemTool entries
        if not isinstance(spec.get("name"), str):
            raise validation("toolConfig.tools.toolSpec.name is required.")
        schema = (spec.get("inputSchema") or {}).get("json")
        if not isinstance(schema, dict):
            raise validation(f"The inputSchema.json of tool {spec['name']} must be a JSON object.")
        tools.append(Tool(name=spec["name"], schema=schema))
    if not tools:
        raise validation("toolConfig.tools must contain at least one tool.")
    raw_choice = config.get("toolChoice") or {"auto": {}}
    if not isinstance(raw_choice, dict) or len(raw_choice) != 1:
        raise validation("toolConfig.toolChoice must set exactly one of auto, any or tool.")
    mode = next(iter(raw_choice))
    if mode == "tool":
        name = (raw_choice["tool"] or {}).get("name")
        if name not in {tool.name for tool in tools}:
            raise validation(f"The tool {name!r} in toolChoice.tool.name isn't defined in toolConfig.tools.")
        return tools, ToolChoice(mode="tool", name=name)
    if mode not in ("auto", "any"):
        raise validation("toolConfig.toolChoice must set exactly one of auto, any or tool.")
    return tools, ToolChoice(mode=mode)


def _block_text(block: dict[str, Any]) -> str:
    kind, value = next(iter(block.items()))
    if kind == "text":
        return str(value)
    if kind == "toolUse":
        return orjson.dumps(value.get("input", {})).decode()
    if kind == "toolResult":
        return " ".join(
            str(part["text"]) if "text" in part else orjson.dumps(part.get("json", "")).decode()
            for part in value.get("content") or []
            if isinstance(part, dict) and ("text" in part or "json" in part)
        )
    if kind == "guardContent":
        return str((value.get("text") or {}).get("text", ""))
    return ""


def _block_piece(block: dict[str, Any]) -> Piece | None:
    kind, value = next(iter(block.items()))
    if kind == "cachePoint":
        return None
    if kind in ("image", "document", "video", "audio"):
        source = value.get("source") or {}
        if "bytes" in source:
            return media_piece(str(source["bytes"]))
        if "text" in source:
            return text_piece(str(source["text"]))
        return text_piece(orjson.dumps(source).decode())
    return text_piece(_block_text(block))


def _pieces(body: dict[str, Any]) -> list[Piece]:
    """Pieces in reading order; a ``cachePoint`` marks the piece before it as a cache breakpoint."""
    pieces: list[Piece] = []

    def add(block: dict[str, Any], piece: Piece | None) -> None:
        if piece is not None:
            pieces.append(piece)
        elif "cachePoint" in block and pieces:
            last = pieces[-1]
            pieces[-1] = Piece(material=last.material, tokens=last.tokens, breakpoint=True)

    for entry in (body.get("toolConfig") or {}).get("tools") or []:
        if "toolSpec" in entry:
            add(entry, text_piece(orjson.dumps(entry["toolSpec"], option=orjson.OPT_SORT_KEYS).decode()))
        else:
            add(entry, None)
    for block in body.get("system") or []:
        add(block, text_piece(str(block["text"])) if "text" in block else None)
    for message in body["messages"]:
        for block in message["content"]:
            add(block, _block_piece(block))
    return pieces


def run(body: dict[str, Any], model: Model, cache: PromptCache) -> ConverseCall:
    tools, choice = _tools_and_choice(body)
    last_user = _last_user(body)
    prompt = prompt_of(body)
    config = body.get("inferenceConfig") or {}
    outcome = decide(
        prompt,
        max_tokens=config.get("maxTokens", DEFAULT_MAX_TOKENS),
        stop_sequences=config.get("stopSequences"),
        tools=tools,
        choice=choice,
        after_tool_result=any("toolResult" in block for block in last_user["content"]),
    )
    usage = cache.account(model.base_id, _pieces(body))
    return ConverseCall(outcome=outcome, usage=usage, tool_use_id=random_id("tooluse_", 22))


def _last_user(body: dict[str, Any]) -> dict[str, Any]:
    # parse_body guarantees the conversation starts with a user turn.
    return next(m for m in reversed(body["messages"]) if m["role"] == "user")


def prompt_of(body: dict[str, Any]) -> str:
    """The text the reply is derived from: the last user turn's text and tool results."""
    last_user = _last_user(body)
    return "\n".join(t for t in (_block_text(b) for b in last_user["content"]) if t)


def usage(call: ConverseCall) -> dict[str, int]:
    out = {
        "inputTokens": call.usage.uncached,
        "outputTokens": call.outcome.output_tokens,
        "totalTokens": call.usage.total + call.outcome.output_tokens,
    }
    if call.usage.cache_used:
        out["cacheReadInputTokens"] = call.usage.cache_read
        out["cacheWriteInputTokens"] = call.usage.cache_write
    return out


def _content(call: ConverseCall) -> list[dict[str, Any]]:
    outcome = call.outcome
    if outcome.tool_name is not None:
        return [
            {
                "toolUse": {
                    "toolUseId": call.tool_use_id,
                    "name": outcome.tool_name,
                    "input": outcome.tool_input,
                }
            }
        ]
    return [{"text": outcome.text}]


def response(call: ConverseCall, latency_ms: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": _content(call)}},
        "stopReason": call.outcome.stop_reason,
        "usage": usage(call),
        "metrics": {"latencyMs": latency_ms},
    }
    if call.outcome.stop_sequence is not None:
        # Bedrock surfaces the matched sequence here for models that report it (Claude does).
        body["additionalModelResponseFields"] = {"stop_sequence": call.outcome.stop_sequence}
    return body


def stream_events(call: ConverseCall) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, payload) pairs up to ``messageStop``; the caller appends ``metadata`` with the latency."""
    outcome = call.outcome
    yield "messageStart", {"role": "assistant"}
    if outcome.tool_name is not None:
        start = {"toolUse": {"toolUseId": call.tool_use_id, "name": outcome.tool_name}}
        yield "contentBlockStart", {"start": start, "contentBlockIndex": 0}
        for fragment in json_pieces(orjson.dumps(outcome.tool_input).decode()):
            yield "contentBlockDelta", {"delta": {"toolUse": {"input": fragment}}, "contentBlockIndex": 0}
    else:
        for piece in text_pieces(outcome.text):
            yield "contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": 0}
    yield "contentBlockStop", {"contentBlockIndex": 0}
    yield "messageStop", {"stopReason": outcome.stop_reason}
