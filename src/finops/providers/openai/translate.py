"""Pure translation between Anthropic Messages and OpenAI Chat Completions.

No I/O and no state: every function takes the parsed request (``core.params``) or plain JSON-shaped dicts and returns
new ones. The adapter owns HTTP; ``stream.py`` reuses the stop-reason, usage and stop-sequence helpers below so
streaming and non-streaming answers agree. The conversation is mapped in ``messages.py``, tools in ``tools.py``,
``thinking``/effort in ``reasoning.py``, structured outputs in ``structured.py`` and web search in ``web_search.py``.

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
from finops.core.types import JSON
from finops.providers.openai.capabilities import is_search_model, reasoning
from finops.providers.openai.messages import TOOL_ERROR_PREFIX, chat_messages
from finops.providers.openai.reasoning import reasoning_effort
from finops.providers.openai.structured import response_format
from finops.providers.openai.tools import chat_tools
from finops.providers.openai.web_search import new_server_tool_use_id, search_blocks
from finops.providers.upstream_errors import UpstreamFault, gateway_error, redact

__all__ = [
    "OPENAI_MAX_STOP_SEQUENCES",
    "TOOL_ERROR_PREFIX",
    "detect_stop_sequence",
    "from_chat_response",
    "from_openai_error",
    "map_stop_reason",
    "map_usage",
    "openai_error_message",
    "openai_fault",
    "parse_tool_arguments",
    "to_chat_request",
]

OPENAI_MAX_STOP_SEQUENCES = 4
"""Chat Completions rejects a ``stop`` list longer than this."""

_FINISH_REASON_MAP: dict[str, str] = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


# ----------------------------------------------------------------------------------------------------------
# Request: Anthropic Messages -> Chat Completions


def to_chat_request(params: MessageParams, *, stream: bool = False) -> JSON:
    """Translate an Anthropic Messages request body (parsed and checked by the field policy) into a Chat
    Completions request body.

    ``stream`` (not ``params["stream"]``) decides streaming, so the adapter stays in control of the wire mode.
    """
    model = params["model"]
    body: JSON = {"model": model}
    # OpenAI asks for developer messages in place of system messages from o1 on.
    body["messages"] = chat_messages(params, "developer" if reasoning(model) is not None else "system")

    max_tokens = params.get("max_tokens")
    if max_tokens is not None:
        body["max_completion_tokens"] = max_tokens
    temperature, top_p = params.get("temperature"), params.get("top_p")
    if temperature is not None:
        body["temperature"] = temperature
    if top_p is not None:
        body["top_p"] = top_p

    stop_sequences = params.get("stop_sequences")
    if stop_sequences:
        if len(stop_sequences) > OPENAI_MAX_STOP_SEQUENCES:
            raise InvalidRequestError(
                f"stop_sequences: the openai provider accepts at most {OPENAI_MAX_STOP_SEQUENCES} stop "
                f"sequences, got {len(stop_sequences)}"
            )
        body["stop"] = list(stop_sequences)

    user_id = (params.get("metadata") or {}).get("user_id")
    if user_id:  # at most 64 characters: core.normalize shortens longer IDs
        body["safety_identifier"] = user_id

    tools = params.get("tools")
    if tools:
        body.update(chat_tools(tools, params.get("tool_choice"), model))

    effort = reasoning_effort(params, model)
    if effort is not None:
        body["reasoning_effort"] = effort
    output_format = (params.get("output_config") or {}).get("format")
    if output_format:
        body["response_format"] = response_format(output_format["schema"])

    if stream:
        body["stream"] = True
        # Without include_usage a stream carries no token counts and the gateway could not price it.
        body["stream_options"] = {"include_usage": True}
    return body


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

    ``model`` defaults to the model OpenAI reports; ``message_id`` defaults to a freshly minted ``msg_...``. A
    search model's answer carries Anthropic's web search blocks and citations (``web_search.search_blocks``).
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

    reported_model = model if model is not None else response.get("model")
    searched = is_search_model(str(reported_model or response.get("model") or ""))
    content: list[JSON] = []
    if searched and not refused:
        annotations = message.get("annotations") or []
        content.extend(search_blocks(text, annotations, tool_use_id=new_server_tool_use_id()))
    elif text:
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
        "model": reported_model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": map_usage(response.get("usage"), web_searches=int(searched)),
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


def map_usage(usage: JSON | None, *, web_searches: int = 0) -> JSON:
    """Anthropic usage from OpenAI's: ``prompt_tokens`` includes cached tokens, Anthropic counts them apart.

    OpenAI caches automatically and bills no cache writes (a newer ``cache_write_tokens`` detail is priced as
    plain input), so ``cache_creation_input_tokens`` is 0. ``completion_tokens`` already includes reasoning
    tokens, which are billed as output; their number is ``output_tokens_details.thinking_tokens``, as Anthropic
    reports it. ``web_searches`` (one per search-model request) is ``server_tool_use.web_search_requests``.
    """
    usage = usage or {}
    prompt_tokens = usage.get("prompt_tokens") or 0
    cached_tokens = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    mapped: JSON = {
        "input_tokens": max(prompt_tokens - cached_tokens, 0),
        "output_tokens": usage.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached_tokens,
    }
    reasoning_tokens = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if reasoning_tokens:
        mapped["output_tokens_details"] = {"thinking_tokens": reasoning_tokens}
    if web_searches:
        mapped["server_tool_use"] = {"web_search_requests": web_searches, "web_fetch_requests": 0}
    return mapped


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
