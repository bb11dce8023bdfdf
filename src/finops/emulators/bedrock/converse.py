"""Converse / ConverseStream: Bedrock's model-neutral chat API.

Validation follows what Bedrock itself refuses (boto3 checks the shapes client-side, but raw HTTP callers
such as a gateway do not): the conversation starts with a user turn and alternates, every block has one
known member, tool blocks need a ``toolConfig``, and ``toolChoice.tool`` names a declared tool. Messages with
``role: "system"`` (in botocore 1.44.8's ``ConversationRole``) add to the system prompt and stay out of the
alternation. The stream sends no ``contentBlockStart`` for text or reasoning blocks, only for tool use, as
Bedrock does.

Beyond plain chat: ``outputConfig.textFormat`` (a ``json_schema`` whose ``jsonSchema.schema`` is the schema as a
JSON string) answers JSON valid against it; ``outputConfig.effort`` and each family's reasoning fields
(:mod:`families`) return a ``reasoningContent`` block first; ``cachePoint`` blocks (optional ``ttl``) in tools,
system and messages write and then read the prompt cache for Claude and Nova, reported as
``cacheWriteInputTokens``/``cacheReadInputTokens`` and ``cacheDetails``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators._common.prompt_cache import BreakpointCache, CacheUsage, Piece, media_piece, text_piece
from finops.emulators._common.tool_policy import ToolChoice, ToolSpec
from finops.emulators._common.words import reminders, user_words
from finops.emulators.bedrock.errors import validation
from finops.emulators.bedrock.families import CACHING_FAMILIES, converse_reasoning
from finops.emulators.bedrock.generate import (
    EarlierReasoning,
    Outcome,
    Turn,
    answer_priming,
    check_reasoning_history,
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
_EFFORTS = ("low", "medium", "high", "xhigh", "max")
_CACHE_TTLS = ("5m", "1h")


@dataclass(frozen=True)
class ConverseCall:
    outcome: Outcome
    usage: CacheUsage
    tool_use_id: str


def _kind(block: Any, where: str) -> str:
    if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in _BLOCK_KINDS:
        raise validation(f"The content block at {where} must set exactly one supported member.")
    kind: str = next(iter(block))
    return kind


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
        if role not in ("user", "assistant", "system"):
            raise validation(f"messages.{index}.role must be 'user', 'assistant' or 'system'.")
        content = message.get("content")
        if not isinstance(content, list) or not content:
            raise validation(f"messages.{index}.content must contain at least one content block.")
        for position, block in enumerate(content):
            kind = _kind(block, f"messages.{index}.content.{position}")
            uses_tools |= kind in _TOOL_BLOCKS
            if role == "system" and kind not in ("text", "cachePoint", "guardContent"):
                raise validation(f"messages.{index}.content.{position}: a system message holds text only.")
        if role == "system":
            continue
        if previous_role is None and role != "user":
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
    if previous_role is None:
        raise validation("The messages field must contain at least one user message.")
    for position, block in enumerate(body.get("system") or []):
        if not isinstance(block, dict) or not block:
            raise validation(f"system.{position} must set exactly one member.")
    _check_cache_points(body)
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
    output_schema(body)
    return body


def _check_cache_points(body: dict[str, Any]) -> None:
    blocks = [
        *((body.get("toolConfig") or {}).get("tools") or []),
        *(body.get("system") or []),
        *(block for message in body["messages"] for block in message["content"]),
    ]
    for block in blocks:
        point = block.get("cachePoint") if isinstance(block, dict) else None
        if point is None:
            continue
        if not isinstance(point, dict) or point.get("type") != "default":
            raise validation("cachePoint.type must be default.")
        if point.get("ttl") is not None and point["ttl"] not in _CACHE_TTLS:
            raise validation("cachePoint.ttl must be 5m or 1h.")


def output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The ``outputConfig.textFormat`` JSON schema, parsed (Converse carries it as a string)."""
    config = body.get("outputConfig")
    if config is None:
        return None
    if not isinstance(config, dict):
        raise validation("outputConfig must be a JSON object.")
    effort = config.get("effort")
    if effort is not None and effort not in _EFFORTS:
        raise validation("outputConfig.effort must be one of low, medium, high, xhigh, max.")
    text_format = config.get("textFormat")
    if text_format is None:
        return None
    if not isinstance(text_format, dict) or text_format.get("type") != "json_schema":
        raise validation("outputConfig.textFormat.type must be json_schema.")
    definition = (text_format.get("structure") or {}).get("jsonSchema")
    if not isinstance(definition, dict) or not isinstance(definition.get("schema"), str):
        raise validation("outputConfig.textFormat.structure.jsonSchema.schema is required.")
    try:
        schema = orjson.loads(definition["schema"])
    except orjson.JSONDecodeError:
        raise validation("outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON.") from None
    if not isinstance(schema, dict):
        raise validation("outputConfig.textFormat.structure.jsonSchema.schema must be a JSON object schema.")
    return schema


def _tools_and_choice(body: dict[str, Any]) -> tuple[list[ToolSpec], ToolChoice]:
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
        tools.append(ToolSpec(spec["name"], str(spec.get("description") or ""), schema))
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
    if kind in ("cachePoint", "reasoningContent"):
        return None  # earlier reasoning is not re-read by the model
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
        elif isinstance(block.get("cachePoint"), dict) and pieces:
            last = pieces[-1]
            pieces[-1] = Piece(last.material, last.tokens, str(block["cachePoint"].get("ttl") or "5m"))

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


def _check_claude_reasoning_history(body: dict[str, Any], model: Model, thinking: bool) -> None:
    assistants = [m for m in body["messages"] if m["role"] == "assistant"]
    if not assistants or not model.is_anthropic:
        return  # only Claude reads its earlier reasoning; other families ignore reasoning blocks handed back
    last = assistants[-1]["content"]
    leading = []
    for block in last:
        if "reasoningContent" not in block:
            break
        reasoning = block["reasoningContent"]
        text = reasoning.get("reasoningText")
        leading.append(
            EarlierReasoning(str(text.get("text", "")), text.get("signature")) if text else EarlierReasoning(None, None)
        )
    check_reasoning_history(model.base_id, leading, any("toolUse" in block for block in last), thinking)


def run(body: dict[str, Any], model: Model, cache: BreakpointCache) -> ConverseCall:
    tools, choice = _tools_and_choice(body)
    config = body.get("inferenceConfig") or {}
    max_tokens = config.get("maxTokens", DEFAULT_MAX_TOKENS)
    reasoning = converse_reasoning(model, body, max_tokens)
    _check_claude_reasoning_history(body, model, reasoning is not None)
    outcome = decide(
        latest_turn(body),
        model=model.base_id,
        max_tokens=max_tokens,
        stop_sequences=config.get("stopSequences"),
        tools=tools,
        choice=choice,
        schema=output_schema(body),
        reasoning=reasoning,
    )
    pieces = [*_pieces(body), answer_priming()]
    if model.family in CACHING_FAMILIES:
        usage = cache.account(model.base_id, pieces)
    else:
        usage = CacheUsage(uncached=sum(piece.tokens for piece in pieces))
    return ConverseCall(outcome=outcome, usage=usage, tool_use_id=random_id("tooluse_", 22))


def latest_turn(body: dict[str, Any]) -> Turn:
    """The last user message's own words (reminders stripped) and the tool results it returns."""
    names = {
        str(block["toolUse"].get("toolUseId")): str(block["toolUse"].get("name", ""))
        for message in body["messages"]
        if message["role"] == "assistant"
        for block in message["content"]
        if "toolUse" in block
    }
    # parse_body guarantees the conversation has a user turn.
    last_user = next(m for m in reversed(body["messages"]) if m["role"] == "user")
    words = [_block_text(b) for b in last_user["content"] if "toolResult" not in b]
    results = [
        (names.get(str(b["toolResult"].get("toolUseId")), ""), _block_text(b))
        for b in last_user["content"]
        if "toolResult" in b
    ]
    system = [str(b["text"]) for b in body.get("system") or [] if "text" in b]
    system += [_block_text(b) for m in body["messages"] if m["role"] == "system" for b in m["content"]]
    said = "\n".join(w for w in words if w)
    return Turn(user_words(said), results, "\n".join(system), reminders(said))


def prompt_of(body: dict[str, Any]) -> str:
    """The text the reply is derived from: the last user turn's text and tool results."""
    turn = latest_turn(body)
    return "\n".join([turn.request, *(text for _, text in turn.tool_results)])


def usage(call: ConverseCall) -> dict[str, Any]:
    cache = call.usage
    out: dict[str, Any] = {
        "inputTokens": cache.uncached,
        "outputTokens": call.outcome.output_tokens,
        "totalTokens": cache.total + call.outcome.output_tokens,
    }
    if cache.cache_used:
        out["cacheReadInputTokens"] = cache.cache_read
        out["cacheWriteInputTokens"] = cache.cache_write
        details = [("1h", cache.cache_write_1h), ("5m", cache.cache_write - cache.cache_write_1h)]
        out["cacheDetails"] = [{"ttl": ttl, "inputTokens": tokens} for ttl, tokens in details if tokens]
    return out


def _reasoning_block(outcome: Outcome) -> dict[str, Any] | None:
    if outcome.reasoning is None:
        return None
    text: dict[str, Any] = {"text": outcome.reasoning.text}
    if outcome.reasoning.signature is not None:
        text["signature"] = outcome.reasoning.signature
    return {"reasoningContent": {"reasoningText": text}}


def _content(call: ConverseCall) -> list[dict[str, Any]]:
    outcome = call.outcome
    reasoning = _reasoning_block(outcome)
    head = [reasoning] if reasoning else []
    if outcome.tool_name is not None:
        use = {"toolUseId": call.tool_use_id, "name": outcome.tool_name, "input": outcome.tool_input}
        return [*head, {"toolUse": use}]
    return [*head, {"text": outcome.text}]


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
    index = 0
    if outcome.reasoning is not None:
        for piece in text_pieces(outcome.reasoning.text):
            yield "contentBlockDelta", {"delta": {"reasoningContent": {"text": piece}}, "contentBlockIndex": index}
        if outcome.reasoning.signature is not None:
            signed = {"reasoningContent": {"signature": outcome.reasoning.signature}}
            yield "contentBlockDelta", {"delta": signed, "contentBlockIndex": index}
        yield "contentBlockStop", {"contentBlockIndex": index}
        index += 1
    if outcome.tool_name is not None:
        start = {"toolUse": {"toolUseId": call.tool_use_id, "name": outcome.tool_name}}
        yield "contentBlockStart", {"start": start, "contentBlockIndex": index}
        for fragment in json_pieces(orjson.dumps(outcome.tool_input).decode()):
            yield "contentBlockDelta", {"delta": {"toolUse": {"input": fragment}}, "contentBlockIndex": index}
    else:
        for piece in text_pieces(outcome.text):
            yield "contentBlockDelta", {"delta": {"text": piece}, "contentBlockIndex": index}
    yield "contentBlockStop", {"contentBlockIndex": index}
    yield "messageStop", {"stopReason": outcome.stop_reason}
