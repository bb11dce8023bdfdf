"""The emulated model: validates a Chat Completions body and computes the reply, with no HTTP involved.

Shared by ``POST /v1/chat/completions`` and the batch runner, so a batch line fails exactly when the same
body sent directly would fail, with the same status and error.

Deterministic rules (documented so that clients can write exact assertions):
- The reply text is ``_common.replies.reply_text`` of the last message's text.
- ``tool_choice`` ``auto`` calls a tool when the last message comes from the user (a tool result gets a text
  answer); ``required`` always calls one; a named choice calls that function. The tool called is the first one
  whose name appears in the prompt, else the first one. One call per reply.
- Prompt tokens = 3 per message + its text tokens (+1 for ``name``) + 3 to prime the reply + the tool
  definitions' JSON tokens; 85 per image, ``len(file_data) // 16`` (at least 85) per inline file.
- Prompts longer than 1024 tokens report a cached prefix: the largest multiple of 128 below the prompt size
  (OpenAI caches in 128-token increments from 1024), so cache accounting can be tested.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.emulators._common.replies import apply_stop_sequences, reply_text, truncate_to_tokens
from finops.emulators._common.tokens import count_tokens
from finops.emulators.openai.errors import OpenAIError, bad_request
from finops.emulators.openai.tool_args import arguments_for

ROLES = ("system", "developer", "user", "assistant", "tool")
_PART_TYPES = {
    "system": {"text"},
    "developer": {"text"},
    "user": {"text", "image_url", "input_audio", "file"},
    "assistant": {"text", "refusal"},
    "tool": {"text"},
}
_MODEL_PATTERN = re.compile(r"^(ft:)?(gpt-|chatgpt-|o\d)")
_MAX_STOP = 4
_IMAGE_TOKENS = 85
_CACHE_MINIMUM = 1024
_CACHE_INCREMENT = 128
SYSTEM_FINGERPRINT = "fp_emulated01"
_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


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
    tool_calls: list[ToolCall] = field(default_factory=list)


def is_known_model(model: str) -> bool:
    return bool(_MODEL_PATTERN.match(model))


def complete(body: Any, *, now: int) -> Completion:
    """Validate ``body`` as the chat endpoint does and compute the reply; raises :class:`OpenAIError`."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", param="model")
    messages = _validate_messages(body.get("messages"))
    if not is_known_model(model):
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    stop = _validate_stop(body.get("stop"))
    max_tokens = _validate_max_tokens(body)
    tools = _validate_tools(body.get("tools"))
    tool_choice = _validate_tool_choice(body.get("tool_choice"), tools)
    if body.get("n") not in (None, 1):
        raise bad_request("The emulator only supports n=1.", param="n", code="unsupported_value")
    if body.get("stream_options") is not None and not body.get("stream"):
        raise bad_request(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )

    prompt = _message_text(messages[-1])
    prompt_tokens = _prompt_tokens(messages, tools)
    cached = _cached_tokens(prompt_tokens)
    completion = Completion(
        id=random_id("chatcmpl-", 29),
        created=now,
        model=model,
        content=None,
        finish_reason="stop",
        prompt_tokens=prompt_tokens,
        completion_tokens=0,
        cached_tokens=cached,
    )
    tool = _chosen_tool(tools, tool_choice, messages[-1]["role"], prompt)
    if tool is not None:
        _call_tool(completion, tool, prompt, max_tokens)
    else:
        _write_text(completion, prompt, stop, max_tokens)
    return completion


def _validate_messages(messages: Any) -> list[dict[str, Any]]:
    if messages is None:
        raise bad_request(
            "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter"
        )
    if not isinstance(messages, list):
        raise bad_request("Invalid type for 'messages': expected an array.", param="messages", code="invalid_type")
    if not messages:
        raise bad_request("Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise bad_request(f"Invalid type for '{where}': expected an object.", param=where, code="invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise bad_request(
                f"Invalid value: '{role}'. Supported values are: {', '.join(repr(r) for r in ROLES)}.",
                param=f"{where}.role",
                code="invalid_value",
            )
        _validate_content(message, role, where)
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise bad_request(
                f"Missing required parameter: '{where}.tool_call_id'.",
                param=f"{where}.tool_call_id",
                code="missing_required_parameter",
            )
    return messages


def _validate_content(message: dict[str, Any], role: str, where: str) -> None:
    content = message.get("content")
    if content is None:
        # Only an assistant turn that carries tool calls may omit its content.
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        raise bad_request(
            f"Missing required parameter: '{where}.content'.",
            param=f"{where}.content",
            code="missing_required_parameter",
        )
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise bad_request(
            f"Invalid type for '{where}.content': expected a string or an array.",
            param=f"{where}.content",
            code="invalid_type",
        )
    for part_index, part in enumerate(content):
        part_where = f"{where}.content[{part_index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in _PART_TYPES[role]:
            allowed = ", ".join(repr(k) for k in sorted(_PART_TYPES[role]))
            raise bad_request(
                f"Invalid value: '{kind}'. Supported values are: {allowed}.",
                param=f"{part_where}.type",
                code="invalid_value",
            )
        if kind == "text" and not isinstance(part.get("text"), str):
            raise bad_request(
                f"Missing required parameter: '{part_where}.text'.",
                param=f"{part_where}.text",
                code="missing_required_parameter",
            )
        if kind == "image_url" and not isinstance((part.get("image_url") or {}).get("url"), str):
            raise bad_request(
                f"Missing required parameter: '{part_where}.image_url.url'.",
                param=f"{part_where}.image_url.url",
                code="missing_required_parameter",
            )
        if kind == "file":
            file = part.get("file") or {}
            if not isinstance(file, dict) or not (file.get("file_data") or file.get("file_id")):
                raise bad_request(
                    f"Invalid '{part_where}.file': one of 'file_data' or 'file_id' is required.",
                    param=f"{part_where}.file",
                )


def _validate_stop(stop: Any) -> list[str]:
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop]
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise bad_request("Invalid type for 'stop': expected a string or an array of strings.", param="stop")
    if len(stop) > _MAX_STOP:
        raise bad_request(
            f"Invalid 'stop': array too long. Expected an array with maximum length {_MAX_STOP}, "
            f"but got an array with length {len(stop)} instead.",
            param="stop",
            code="array_above_max_length",
        )
    return stop


def _validate_max_tokens(body: dict[str, Any]) -> int | None:
    # max_completion_tokens wins over the deprecated max_tokens, as on the real API.
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(
                f"Invalid '{name}': integer below minimum value. Expected a value >= 1.",
                param=name,
                code="integer_below_min_value",
            )
        return value
    return None


def _validate_tools(tools: Any) -> list[dict[str, Any]]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise bad_request("Invalid type for 'tools': expected an array.", param="tools", code="invalid_type")
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise bad_request(
                f"Invalid 'tools[{index}]': expected a function tool.",
                param=f"tools[{index}]",
                code="invalid_value",
            )
        if not isinstance(function.get("name"), str) or not function["name"]:
            raise bad_request(
                f"Missing required parameter: 'tools[{index}].function.name'.",
                param=f"tools[{index}].function.name",
                code="missing_required_parameter",
            )
    return [tool["function"] for tool in tools]


def _validate_tool_choice(choice: Any, tools: list[dict[str, Any]]) -> str | dict[str, Any]:
    if choice is None:
        return "auto" if tools else "none"
    if not tools:
        raise bad_request(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if choice in ("none", "auto", "required"):
        return choice
    name = (choice.get("function") or {}).get("name") if isinstance(choice, dict) else None
    if not isinstance(choice, dict) or choice.get("type") != "function" or not isinstance(name, str):
        raise bad_request(
            "Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.",
            param="tool_choice",
            code="invalid_value",
        )
    if name not in {tool["name"] for tool in tools}:
        raise bad_request(
            f"Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' parameter.",
            param="tool_choice",
        )
    return choice


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part.get("text") or part.get("refusal") or "" for part in content if part.get("type") in ("text", "refusal")
        )
    return ""


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


def _cached_tokens(prompt_tokens: int) -> int:
    if prompt_tokens <= _CACHE_MINIMUM:
        return 0
    return (prompt_tokens - 1) // _CACHE_INCREMENT * _CACHE_INCREMENT


def _chosen_tool(
    tools: list[dict[str, Any]], choice: str | dict[str, Any], last_role: str, prompt: str
) -> dict[str, Any] | None:
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict):
        return next(tool for tool in tools if tool["name"] == choice["function"]["name"])
    if choice == "auto" and last_role != "user":
        return None
    lowered = prompt.lower()
    for tool in tools:
        name = tool["name"].lower()
        if name in lowered or name.replace("_", " ") in lowered:
            return tool
    return tools[0]


def _call_tool(completion: Completion, tool: dict[str, Any], prompt: str, max_tokens: int | None) -> None:
    arguments = orjson.dumps(arguments_for(tool.get("parameters"), query=prompt)).decode()
    if max_tokens is not None:
        arguments, cut = truncate_to_tokens(arguments, max_tokens)
        completion.finish_reason = "length" if cut else "tool_calls"
    else:
        completion.finish_reason = "tool_calls"
    seed = f"{prompt}\x00{tool['name']}\x00{arguments}".encode()
    call_id = "call_" + hashlib.sha256(seed).hexdigest()[:24]
    completion.tool_calls = [ToolCall(id=call_id, name=tool["name"], arguments=arguments)]
    completion.completion_tokens = count_tokens(tool["name"]) + count_tokens(arguments) + 3


def _write_text(completion: Completion, prompt: str, stop: list[str], max_tokens: int | None) -> None:
    text, _ = apply_stop_sequences(reply_text(prompt), stop)
    if max_tokens is not None:
        text, cut = truncate_to_tokens(text, max_tokens)
        if cut:
            completion.finish_reason = "length"
    completion.content = text
    completion.completion_tokens = count_tokens(text)


def usage(completion: Completion) -> dict[str, Any]:
    return {
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": completion.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
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
        "annotations": [],
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
