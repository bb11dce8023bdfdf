"""Pure translation between Anthropic Messages and OpenAI Chat Completions.

No I/O and no state: every function takes plain JSON-shaped dicts and returns new ones. The adapter owns HTTP;
``stream.py`` reuses the stop-reason, usage and stop-sequence helpers below so streaming and non-streaming
answers agree.

Input that Chat Completions cannot express raises ``InvalidRequestError`` with a message meant for the user
who sent it, before anything reaches OpenAI (bad input never costs money).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from finops.core.errors import GatewayError, InvalidRequestError, UpstreamError, error_for_status
from finops.core.ids import new_message_id
from finops.core.params import MessageParams
from finops.providers.upstream_errors import UpstreamFault, gateway_error, redact

JSON = dict[str, Any]

OPENAI_MAX_STOP_SEQUENCES = 4
"""Chat Completions rejects a ``stop`` list longer than this."""

_FINISH_REASON_MAP: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

_TOOL_CHOICE_MAP: dict[str, str] = {
    "auto": "auto",
    "any": "required",
    "none": "none",
}

# Anthropic's own turns are concatenated segments of one reply (citations split them), so they rejoin with
# nothing in between; system blocks and tool-result blocks are separate pieces of text, so a newline.
_ASSISTANT_TEXT_SEPARATOR = ""
_BLOCK_TEXT_SEPARATOR = "\n"

# Chat Completions has no is_error flag on tool messages; the model learns of the failure from this prefix.
TOOL_ERROR_PREFIX = "Error: "

_DROPPED_ASSISTANT_BLOCKS = frozenset({"thinking", "redacted_thinking"})


# ----------------------------------------------------------------------------------------------------------
# Request: Anthropic Messages -> Chat Completions


def to_chat_request(params: MessageParams, *, stream: bool = False) -> JSON:
    """Translate an Anthropic Messages request body into a Chat Completions request body.

    ``stream`` (not ``params["stream"]``) decides streaming, so the adapter stays in control of the wire mode.
    """
    messages = params.get("messages")
    if not isinstance(messages, list):
        raise InvalidRequestError("messages: must be a list of {role, content} turns")

    body: JSON = {"model": params.get("model")}
    chat_messages = _map_system(params.get("system"))
    chat_messages.extend(_map_messages(messages))
    body["messages"] = chat_messages

    if "max_tokens" in params:
        body["max_completion_tokens"] = params["max_tokens"]
    for passthrough in ("temperature", "top_p"):
        if params.get(passthrough) is not None:
            body[passthrough] = params[passthrough]
    # top_k has no Chat Completions equivalent: dropped so the request stays valid (sampling differs a bit).

    stop_sequences = params.get("stop_sequences")
    if stop_sequences:
        if len(stop_sequences) > OPENAI_MAX_STOP_SEQUENCES:
            raise InvalidRequestError(
                f"stop_sequences: the openai provider accepts at most {OPENAI_MAX_STOP_SEQUENCES} stop "
                f"sequences, got {len(stop_sequences)}"
            )
        body["stop"] = list(stop_sequences)

    user_id = (params.get("metadata") or {}).get("user_id")
    if user_id:
        body["user"] = user_id

    tools = params.get("tools")
    if tools:
        body["tools"] = [_map_tool(tool) for tool in tools]
        # OpenAI rejects tool_choice / parallel_tool_calls without tools, so both live under this branch.
        tool_choice = params.get("tool_choice")
        if tool_choice:
            body["tool_choice"] = _map_tool_choice(tool_choice)
            if tool_choice.get("disable_parallel_tool_use"):
                body["parallel_tool_calls"] = False

    if stream:
        body["stream"] = True
        # Without include_usage a stream carries no token counts and the gateway could not price it.
        body["stream_options"] = {"include_usage": True}
    return body


def _map_system(system: str | list[JSON] | None) -> list[JSON]:
    if not system:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    texts = []
    for block in system:
        if block.get("type") != "text":
            raise InvalidRequestError(f"system: block type {block.get('type')!r} is not supported, only text")
        texts.append(block["text"])
    return [{"role": "system", "content": _BLOCK_TEXT_SEPARATOR.join(texts)}]


def _map_messages(messages: list[JSON]) -> list[JSON]:
    # Consecutive turns with the same role stay separate messages: Chat Completions accepts them as they are.
    chat_messages: list[JSON] = []
    for position, turn in enumerate(messages):
        role = turn.get("role")
        content = turn.get("content")
        if role == "user":
            chat_messages.extend(_map_user_turn(content, position))
        elif role == "assistant":
            assistant_message = _map_assistant_turn(content, position)
            if assistant_message is not None:
                chat_messages.append(assistant_message)
        else:
            raise InvalidRequestError(f"messages.{position}.role: must be 'user' or 'assistant', got {role!r}")
    return chat_messages


def _map_user_turn(content: str | list[JSON], position: int) -> list[JSON]:
    """One user turn can become several messages: tool results first, then whatever the user added."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[JSON] = []
    moved_from_tool_results: list[JSON] = []
    parts: list[JSON] = []
    for block_position, block in enumerate(content):
        where = f"messages.{position}.content.{block_position}"
        if block.get("type") == "tool_result":
            tool_message, media_parts = _map_tool_result(block, where)
            tool_messages.append(tool_message)
            moved_from_tool_results.extend(media_parts)
        else:
            parts.extend(_map_user_block(block, where))
    # Tool messages must directly follow the assistant's tool_calls message, so they go first; media the tool
    # returned cannot ride in a tool message and opens the user message that follows.
    remaining = moved_from_tool_results + parts
    if remaining:
        return [*tool_messages, {"role": "user", "content": remaining}]
    return tool_messages


def _map_user_block(block: JSON, where: str) -> list[JSON]:
    block_type = block.get("type")
    if block_type == "text":
        return [{"type": "text", "text": block["text"]}]
    if block_type == "image":
        return [_map_image(block, where)]
    if block_type == "document":
        return _map_document(block, where)
    raise InvalidRequestError(f"{where}: content block type {block_type!r} is not supported by the openai provider")


def _map_image(block: JSON, where: str) -> JSON:
    source = block.get("source") or {}
    source_type = source.get("type")
    if source_type == "base64":
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif source_type == "url":
        url = source["url"]
    else:
        raise _unsupported_source("image", source, where)
    return {"type": "image_url", "image_url": {"url": url}}


def _map_document(block: JSON, where: str) -> list[JSON]:
    source = block.get("source") or {}
    source_type = source.get("type")
    if source_type == "base64":
        media_type = source.get("media_type")
        if media_type != "application/pdf":
            raise InvalidRequestError(
                f"{where}: base64 documents must be application/pdf for the openai provider, got {media_type!r}"
            )
        # OpenAI requires a filename for inline files; the document title is the closest thing we have.
        filename = block.get("title") or "document.pdf"
        file_data = f"data:application/pdf;base64,{source['data']}"
        return [{"type": "file", "file": {"filename": filename, "file_data": file_data}}]
    if source_type == "text":
        return [{"type": "text", "text": source["data"]}]
    if source_type == "content":
        inner = source.get("content")
        if isinstance(inner, str):
            return [{"type": "text", "text": inner}]
        parts: list[JSON] = []
        for inner_position, inner_block in enumerate(inner or []):
            parts.extend(_map_user_block(inner_block, f"{where}.source.content.{inner_position}"))
        return parts
    if source_type == "url":
        raise InvalidRequestError(
            f"{where}: documents by URL are not supported by the openai provider; "
            "send the PDF inline as a base64 source"
        )
    if source_type == "file":
        # The core has already swapped the caller's gateway file ID for OpenAI's own ``file-...`` ID.
        return [{"type": "file", "file": {"file_id": source["file_id"]}}]
    raise _unsupported_source("document", source, where)


def _unsupported_source(kind: str, source: JSON, where: str) -> InvalidRequestError:
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


def _map_tool_result(block: JSON, where: str) -> tuple[JSON, list[JSON]]:
    """A ``role: tool`` message plus the media parts that must move to the following user message."""
    content = block.get("content")
    texts: list[str] = []
    media_parts: list[JSON] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for inner_position, inner_block in enumerate(content or []):
            inner_where = f"{where}.content.{inner_position}"
            for part in _map_user_block(inner_block, inner_where):
                if part["type"] == "text":
                    texts.append(part["text"])
                else:
                    media_parts.append(part)
    text = _BLOCK_TEXT_SEPARATOR.join(texts)
    if block.get("is_error"):
        text = f"{TOOL_ERROR_PREFIX}{text}" if text else TOOL_ERROR_PREFIX.rstrip(": ")
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}, media_parts


def _map_assistant_turn(content: str | list[JSON], position: int) -> JSON | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    tool_calls: list[JSON] = []
    for block_position, block in enumerate(content):
        block_type = block.get("type")
        if block_type == "text":
            texts.append(block["text"])
        elif block_type == "tool_use":
            tool_calls.append(_map_tool_use(block))
        elif block_type in _DROPPED_ASSISTANT_BLOCKS:
            # Anthropic thinking signatures mean nothing to OpenAI, which keeps its own reasoning hidden.
            continue
        else:
            raise InvalidRequestError(
                f"messages.{position}.content.{block_position}: content block type {block_type!r} "
                "is not supported in assistant turns by the openai provider"
            )
    if not texts and not tool_calls:
        # A turn of only thinking has nothing OpenAI can read, and an empty assistant message is refused.
        return None
    message: JSON = {"role": "assistant", "content": _ASSISTANT_TEXT_SEPARATOR.join(texts) if texts else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _map_tool_use(block: JSON) -> JSON:
    arguments = orjson.dumps(block.get("input") or {}).decode()
    return {
        "id": block["id"],
        "type": "function",
        "function": {"name": block["name"], "arguments": arguments},
    }


def _map_tool(tool: JSON) -> JSON:
    tool_type = tool.get("type")
    if tool_type not in (None, "custom"):
        raise InvalidRequestError(
            f"tools: {tool_type!r} ({tool.get('name')!r}) is an Anthropic server tool and is not available "
            "on the openai provider; define it as a custom tool with an input_schema"
        )
    if "input_schema" not in tool:
        raise InvalidRequestError(f"tools: tool {tool.get('name')!r} has no input_schema")
    function: JSON = {"name": tool["name"]}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool["input_schema"]
    if "strict" in tool:
        function["strict"] = tool["strict"]
    return {"type": "function", "function": function}


def _map_tool_choice(tool_choice: JSON) -> str | JSON:
    choice_type = tool_choice.get("type")
    if choice_type == "tool":
        return {"type": "function", "function": {"name": tool_choice["name"]}}
    if choice_type in _TOOL_CHOICE_MAP:
        return _TOOL_CHOICE_MAP[choice_type]
    raise InvalidRequestError(f"tool_choice: type {choice_type!r} is not supported by the openai provider")


# ----------------------------------------------------------------------------------------------------------
# Response: Chat Completion -> Anthropic Message


def from_chat_response(
    response: JSON,
    *,
    model: str | None = None,
    message_id: str | None = None,
    stop_sequences: list[str] | None = None,
) -> JSON:
    """Translate a Chat Completion into an Anthropic Message.

    ``model`` defaults to the model OpenAI reports; ``message_id`` defaults to a freshly minted ``msg_...``.
    """
    choices = response.get("choices") or []
    if not choices:
        raise UpstreamError("The openai provider returned a completion with no choices")
    choice = choices[0]
    message = choice.get("message") or {}

    text = message.get("content") or ""
    refused = False
    if not text and message.get("refusal"):
        # OpenAI puts refusals in their own field; Anthropic carries them as text with stop_reason refusal.
        text = message["refusal"]
        refused = True

    content: list[JSON] = []
    if text:
        content.append({"type": "text", "text": text})
    tool_calls = message.get("tool_calls") or []
    content.extend(_map_tool_call(tool_call) for tool_call in tool_calls)

    stop_reason = "refusal" if refused else map_stop_reason(choice.get("finish_reason"), bool(tool_calls))
    stop_sequence = None
    if stop_reason == "end_turn":
        stop_sequence = detect_stop_sequence(text, stop_sequences)
        if stop_sequence is not None:
            stop_reason = "stop_sequence"

    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model if model is not None else response.get("model"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": map_usage(response.get("usage")),
    }


def _map_tool_call(tool_call: JSON) -> JSON:
    function = tool_call.get("function") or {}
    return {
        "type": "tool_use",
        "id": tool_call.get("id"),
        "name": function.get("name"),
        "input": parse_tool_arguments(function.get("arguments")),
    }


def parse_tool_arguments(arguments: str | None) -> JSON:
    """OpenAI's JSON-string arguments as the object Anthropic's ``tool_use.input`` must be.

    Empty, invalid (e.g. cut off by ``max_tokens``) or non-object arguments become ``{}``: Anthropic's shape
    has no place for raw text, and a made-up key would reach the user's tool as if the model had sent it.
    """
    if not arguments:
        return {}
    try:
        parsed = orjson.loads(arguments)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def map_stop_reason(finish_reason: str | None, has_tool_calls: bool) -> str:
    """Anthropic ``stop_reason`` for an OpenAI ``finish_reason``.

    Tool calls win whatever the finish reason: with ``tool_choice: required`` OpenAI may answer ``stop``.
    A missing or unknown finish reason is reported as ``end_turn``.
    """
    if has_tool_calls:
        return "tool_use"
    return _FINISH_REASON_MAP.get(finish_reason or "stop", "end_turn")


def detect_stop_sequence(text: str, stop_sequences: list[str] | None) -> str | None:
    """The stop sequence the reply ends with, if any.

    OpenAI strips the stop string and does not say which one fired, so against OpenAI itself this finds
    nothing and the answer stays ``end_turn``. OpenAI-compatible servers that keep the stop string in the
    output (vLLM's ``include_stop_str_in_output``) are recognised; their text is left as returned.
    """
    for stop_sequence in stop_sequences or ():
        if stop_sequence and text.endswith(stop_sequence):
            return stop_sequence
    return None


def map_usage(usage: JSON | None) -> JSON:
    """Anthropic usage from OpenAI's: ``prompt_tokens`` includes cached tokens, Anthropic counts them apart.

    OpenAI caches automatically and does not report cache writes, so ``cache_creation_input_tokens`` is 0.
    ``completion_tokens`` already includes reasoning tokens, which are billed as output.
    """
    usage = usage or {}
    prompt_tokens = usage.get("prompt_tokens") or 0
    cached_tokens = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return {
        "input_tokens": max(prompt_tokens - cached_tokens, 0),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached_tokens,
    }


# ----------------------------------------------------------------------------------------------------------
# Errors


def openai_fault(status: int, headers: Mapping[str, str], body: Any) -> UpstreamFault:
    """What a failed OpenAI call (or an ``error`` object inside a stream) says. A 401 is OpenAI refusing the
    gateway's key."""
    return UpstreamFault(
        error_for_status(status),
        f"openai: {openai_error_message(status, body)}",
        credentials_rejected=status == 401,
    )


def from_openai_error(status: int, body: JSON | None) -> GatewayError:
    """The gateway error for an OpenAI error body, e.g. an ``error`` chunk in the middle of a stream."""
    return gateway_error("openai", openai_fault(status, {}, body))


def openai_error_message(status: int, body: Any) -> str:
    """OpenAI's own explanation, redacted (``upstream_errors.redact``)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"]:
        return redact(error["message"])
    if isinstance(error, str) and error:
        return redact(error)
    return f"upstream returned HTTP {status}"
