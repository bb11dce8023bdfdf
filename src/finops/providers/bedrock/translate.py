"""Pure translation between Anthropic Messages and AWS Bedrock (InvokeModel for Claude, Converse otherwise).

No I/O here: the adapter signs and sends what these functions build and hands back what Bedrock answered.
Shapes follow botocore's ``bedrock-runtime`` service model (``Converse``); blobs (image and document bytes)
are base64 strings, as they travel in the rest-json wire format.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from finops.core.errors import (
    ConflictError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
    UpstreamTimeoutError,
    error_for_status,
)
from finops.core.ids import new_message_id
from finops.core.params import CountTokensParams, MessageParams
from finops.providers.bedrock.models import is_anthropic_model, model_family
from finops.providers.upstream_errors import UpstreamFault, gateway_error

JSON = dict[str, Any]

ANTHROPIC_VERSION = "bedrock-2023-05-31"

# ------------------------------------------------------------------------------------------------------------
# InvokeModel (Anthropic family): the body is Anthropic's own, so translation is nearly the identity.
# ------------------------------------------------------------------------------------------------------------

# The model goes in the URL path and streaming is chosen by the endpoint; Bedrock's schema rejects both keys
# ("extraneous key [stream] is not permitted").
_INVOKE_STRIPPED_KEYS = ("model", "stream")


def to_invoke_body(params: MessageParams | CountTokensParams, *, anthropic_beta: list[str] | None = None) -> JSON:
    """The InvokeModel body for a Claude model: the Messages body minus ``model``/``stream``, plus version."""
    _reject_file_sources(params.get("messages") or [])
    body = {key: value for key, value in params.items() if key not in _INVOKE_STRIPPED_KEYS}
    body["anthropic_version"] = ANTHROPIC_VERSION
    if anthropic_beta:
        body["anthropic_beta"] = list(anthropic_beta)
    return body


def from_invoke_response(body: JSON, *, model: str, message_id: str | None = None) -> JSON:
    """An Anthropic Message from an InvokeModel answer. ``model`` is what the caller asked for (Bedrock echoes
    its own model name); the upstream ``id`` is kept unless the caller supplies ``message_id``."""
    message = {key: value for key, value in body.items() if key != "amazon-bedrock-invocationMetrics"}
    message["id"] = message_id or message.get("id") or new_message_id()
    message["type"] = "message"
    message["role"] = "assistant"
    message["model"] = model
    message.setdefault("content", [])
    message.setdefault("stop_reason", None)
    message.setdefault("stop_sequence", None)
    message["usage"] = normalize_usage(message.get("usage"))
    return message


def normalize_usage(usage: JSON | None) -> JSON:
    """Anthropic usage with the four token counts always present as integers (0 when absent or null), so the
    pricing code never has to guess; any other keys (``service_tier``, ``cache_creation``...) are kept."""
    result = dict(usage or {})
    for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        result[key] = int(result.get(key) or 0)
    return result


# ------------------------------------------------------------------------------------------------------------
# Converse (every other family)
# ------------------------------------------------------------------------------------------------------------

_IMAGE_FORMAT_MAP: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

_DOCUMENT_FORMAT_MAP: dict[str, str] = {
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

# Converse names every document, and a name may hold only letters, digits, single spaces, hyphens,
# parentheses and square brackets (at most 200 characters).
_DOCUMENT_NAME_BAD_CHARS_RE = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_DOCUMENT_NAME_MAX = 200
_TOOL_NAME_MAX = 64

# Blocks with no Converse equivalent that can be dropped without changing what the model is asked: earlier
# turns' reasoning (other families cannot verify Anthropic signatures anyway).
_DROPPED_BLOCK_TYPES = frozenset({"thinking", "redacted_thinking"})

# How each model family takes top_k in ``additionalModelRequestFields`` (keyed by the ID's provider part).
# Families missing here (Meta Llama, AI21, ...) have no top_k; it is dropped, as a sampling hint, not refused.
_TOP_K_FIELD_BUILDERS: dict[str, Callable[[int], JSON]] = {
    "anthropic": lambda k: {"top_k": k},
    "mistral": lambda k: {"top_k": k},
    "amazon": lambda k: {"inferenceConfig": {"topK": k}},
    "cohere": lambda k: {"k": k},
}


def to_converse_request(params: MessageParams | CountTokensParams) -> JSON:
    """A Converse request body (without ``modelId``, which goes in the path) for an Anthropic Messages body.

    Blobs stay base64 strings, as on the rest-json wire."""
    names = _DocumentNamer()
    messages = _to_converse_messages(params.get("messages") or [], names)
    request: JSON = {"messages": messages}

    system = _to_converse_system(params.get("system"))
    if system:
        request["system"] = system

    inference = _to_inference_config(params)
    if inference:
        request["inferenceConfig"] = inference

    tool_config = _to_tool_config(params.get("tools"), params.get("tool_choice"), messages)
    if tool_config:
        request["toolConfig"] = tool_config

    top_k = params.get("top_k")
    if top_k is not None:
        extra = _top_k_fields(str(params.get("model") or ""), top_k)
        if extra:
            request["additionalModelRequestFields"] = extra
    return request


def _to_converse_messages(messages: list[JSON], names: _DocumentNamer) -> list[JSON]:
    result: list[JSON] = []
    for position, message in enumerate(messages):
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequestError(f"messages.{position}.role: expected 'user' or 'assistant', got {role!r}")
        content = _to_converse_content(message.get("content"), names, where=f"messages.{position}.content")
        if not content:
            # Only dropped blocks (e.g. thinking): Converse refuses empty turns.
            continue
        if result and result[-1]["role"] == role:
            # Anthropic merges consecutive same-role turns; Converse insists they alternate.
            result[-1]["content"].extend(content)
        else:
            result.append({"role": role, "content": content})
    return result


def _to_converse_content(content: Any, names: _DocumentNamer, *, where: str) -> list[JSON]:
    if isinstance(content, str):
        return [{"text": content}]
    if not isinstance(content, list):
        raise InvalidRequestError(f"{where}: expected a string or a list of content blocks")
    blocks: list[JSON] = []
    for index, block in enumerate(content):
        converted = _to_converse_block(block, names, where=f"{where}.{index}")
        if converted is not None:
            blocks.append(converted)
    return blocks


def _to_converse_block(block: JSON, names: _DocumentNamer, *, where: str) -> JSON | None:
    block_type = block.get("type")
    if block_type == "text":
        return {"text": block.get("text", "")}
    if block_type == "image":
        return {"image": _to_converse_image(block, where=where)}
    if block_type == "document":
        return {"document": _to_converse_document(block, names, where=where)}
    if block_type == "tool_use":
        _check_tool_name(block.get("name", ""), where=where)
        return {"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": block.get("input") or {}}}
    if block_type == "tool_result":
        return {"toolResult": _to_converse_tool_result(block, names, where=where)}
    if block_type in _DROPPED_BLOCK_TYPES:
        return None
    raise InvalidRequestError(f"{where}: content block type {block_type!r} is not supported on Bedrock Converse")


def _to_converse_image(block: JSON, *, where: str) -> JSON:
    source = block.get("source") or {}
    source_type = source.get("type")
    if source_type != "base64":
        raise InvalidRequestError(_unsupported_source_message(source_type, "image", where))
    media_type = source.get("media_type")
    image_format = _IMAGE_FORMAT_MAP.get(media_type or "")
    if image_format is None:
        raise InvalidRequestError(
            f"{where}: image media_type {media_type!r} is not supported on Bedrock "
            f"(use one of {', '.join(_IMAGE_FORMAT_MAP)})"
        )
    # The base64 text is exactly what the rest-json wire carries for a blob: no decoding needed.
    return {"format": image_format, "source": {"bytes": source.get("data", "")}}


def _to_converse_document(block: JSON, names: _DocumentNamer, *, where: str) -> JSON:
    source = block.get("source") or {}
    source_type = source.get("type")
    if source_type == "base64":
        media_type = source.get("media_type")
        document_format = _DOCUMENT_FORMAT_MAP.get(media_type or "")
        if document_format is None:
            raise InvalidRequestError(
                f"{where}: document media_type {media_type!r} is not supported on Bedrock "
                f"(use one of {', '.join(_DOCUMENT_FORMAT_MAP)})"
            )
        data = source.get("data", "")
    elif source_type == "text":
        document_format, data = "txt", _b64_text(source.get("data", ""))
    elif source_type == "content":
        document_format, data = "txt", _b64_text(_content_source_text(source.get("content"), where=where))
    else:
        raise InvalidRequestError(_unsupported_source_message(source_type, "document", where))
    document: JSON = {
        "format": document_format,
        "name": names.name_for(block.get("title")),
        "source": {"bytes": data},
    }
    if block.get("context"):
        document["context"] = block["context"]
    return document


def _content_source_text(content: Any, *, where: str) -> str:
    """A ``{type: content}`` document source flattened to text (Converse documents are files, not blocks)."""
    if isinstance(content, str):
        return content
    texts: list[str] = []
    for block in content or []:
        if block.get("type") != "text":
            raise InvalidRequestError(
                f"{where}: a document built from content blocks may only hold text blocks on Bedrock"
            )
        texts.append(block.get("text", ""))
    return "\n\n".join(texts)


def _to_converse_tool_result(block: JSON, names: _DocumentNamer, *, where: str) -> JSON:
    content = block.get("content")
    if content is None or content == "":
        converted: list[JSON] = []
    elif isinstance(content, str):
        converted = [{"text": content}]
    else:
        converted = []
        for index, item in enumerate(content):
            item_where = f"{where}.content.{index}"
            item_type = item.get("type")
            if item_type == "text":
                converted.append({"text": item.get("text", "")})
            elif item_type == "image":
                converted.append({"image": _to_converse_image(item, where=item_where)})
            elif item_type == "document":
                converted.append({"document": _to_converse_document(item, names, where=item_where)})
            else:
                raise InvalidRequestError(
                    f"{item_where}: tool_result content {item_type!r} is not supported on Bedrock Converse"
                )
    return {
        "toolUseId": block["tool_use_id"],
        "content": converted,
        "status": "error" if block.get("is_error") else "success",
    }


def _to_converse_system(system: Any) -> list[JSON]:
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"text": system}]
    # Converse system blocks must be non-empty; an empty Anthropic text block adds nothing anyway.
    return [{"text": block["text"]} for block in system if block.get("type") == "text" and block.get("text")]


def _to_inference_config(params: JSON) -> JSON:
    config: JSON = {}
    max_tokens = params.get("max_tokens")
    if max_tokens is not None:
        if max_tokens < 1:
            # Anthropic allows 0 (cache pre-warm only); Converse requires at least one output token.
            raise InvalidRequestError("max_tokens: Bedrock requires at least 1")
        config["maxTokens"] = max_tokens
    if params.get("temperature") is not None:
        config["temperature"] = params["temperature"]
    if params.get("top_p") is not None:
        config["topP"] = params["top_p"]
    if params.get("stop_sequences"):
        config["stopSequences"] = list(params["stop_sequences"])
    return config


def _to_tool_config(tools: list[JSON] | None, tool_choice: JSON | None, messages: list[JSON]) -> JSON | None:
    if not tools:
        return None
    tool_choice = tool_choice or {}
    choice_type = tool_choice.get("type", "auto")
    if choice_type == "none" and not _has_tool_blocks(messages):
        # Converse has no "none": leaving the tools out is the only way to guarantee no call.
        return None
    config: JSON = {"tools": [_to_converse_tool(tool, index) for index, tool in enumerate(tools)]}
    if choice_type == "any":
        config["toolChoice"] = {"any": {}}
    elif choice_type == "tool":
        config["toolChoice"] = {"tool": {"name": tool_choice["name"]}}
    elif choice_type == "auto":
        config["toolChoice"] = {"auto": {}}
    # "none" with tool blocks in the history: Converse rejects toolUse/toolResult blocks without a toolConfig,
    # so the tools stay and toolChoice is omitted (the model decides, as with auto).
    return config


def _to_converse_tool(tool: JSON, index: int) -> JSON:
    tool_type = tool.get("type")
    if tool_type not in (None, "custom"):
        raise InvalidRequestError(f"tools.{index}: server tool {tool_type!r} is not available on Bedrock Converse")
    _check_tool_name(tool.get("name", ""), where=f"tools.{index}")
    spec: JSON = {
        "name": tool["name"],
        "inputSchema": {"json": tool.get("input_schema") or {"type": "object"}},
    }
    if tool.get("description"):
        spec["description"] = tool["description"]
    return {"toolSpec": spec}


def _check_tool_name(name: str, *, where: str) -> None:
    if not 1 <= len(name) <= _TOOL_NAME_MAX:
        raise InvalidRequestError(f"{where}: Bedrock tool names must be 1 to {_TOOL_NAME_MAX} characters")


def _has_tool_blocks(messages: list[JSON]) -> bool:
    return any("toolUse" in block or "toolResult" in block for m in messages for block in m["content"])


def _top_k_fields(model: str, top_k: int) -> JSON | None:
    family = "anthropic" if is_anthropic_model(model) else model_family(model)
    builder = _TOP_K_FIELD_BUILDERS.get(family)
    return builder(top_k) if builder else None


def _unsupported_source_message(source_type: Any, kind: str, where: str) -> str:
    if source_type == "url":
        return f"{where}: Bedrock cannot fetch {kind} URLs; send the {kind} inline as base64"
    if source_type == "file":
        return f"{where}: Bedrock has no Files API; send the {kind} inline as base64"
    return f"{where}: {kind} source type {source_type!r} is not supported on Bedrock"


def _reject_file_sources(messages: list[JSON]) -> None:
    """Bedrock has no Files API: say so here rather than let Bedrock answer with a vague 400."""
    for position, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for index, block in enumerate(content):
            nested = block.get("content") if block.get("type") == "tool_result" else None
            for item in [block, *(nested if isinstance(nested, list) else [])]:
                source = item.get("source")
                if isinstance(source, dict) and source.get("type") == "file":
                    kind = item.get("type", "file")
                    where = f"messages.{position}.content.{index}"
                    raise InvalidRequestError(_unsupported_source_message("file", kind, where))


def _b64_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


class _DocumentNamer:
    """Gives each Converse document a valid, unique name (Bedrock rejects duplicates within a request)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def name_for(self, title: str | None) -> str:
        base = " ".join(_DOCUMENT_NAME_BAD_CHARS_RE.sub(" ", title or "").split())[:_DOCUMENT_NAME_MAX].strip()
        base = base or f"document {len(self._used) + 1}"
        name, counter = base, 2
        while name in self._used:
            suffix = f" ({counter})"
            name = base[: _DOCUMENT_NAME_MAX - len(suffix)] + suffix
            counter += 1
        self._used.add(name)
        return name


# ------------------------------------------------------------------------------------------------------------
# Converse responses
# ------------------------------------------------------------------------------------------------------------

_STOP_REASON_MAP: dict[str, str] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    # A guardrail or content filter blocking the answer is what Anthropic calls a refusal.
    "guardrail_intervened": "refusal",
    "content_filtered": "refusal",
    "model_context_window_exceeded": "model_context_window_exceeded",
    # The model finished but produced output Bedrock could not parse; Anthropic has no such reason and the
    # turn did end, so the content we do have is returned as a normal end of turn.
    "malformed_model_output": "end_turn",
    "malformed_tool_use": "end_turn",
}


def map_stop_reason(stop_reason: str | None) -> str | None:
    """Anthropic ``stop_reason`` for a Converse ``stopReason`` (unknown future values end the turn)."""
    if stop_reason is None:
        return None
    return _STOP_REASON_MAP.get(stop_reason, "end_turn")


def from_converse_usage(usage: JSON | None) -> JSON:
    """Anthropic usage from Converse ``TokenUsage``. Bedrock's ``inputTokens`` already excludes cached tokens
    (``totalTokens`` = input + output + cache read + cache write), which is Anthropic's convention too."""
    usage = usage or {}
    return {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
        "cache_creation_input_tokens": int(usage.get("cacheWriteInputTokens") or 0),
        "cache_read_input_tokens": int(usage.get("cacheReadInputTokens") or 0),
    }


def from_converse_response(resp: JSON, *, model: str, message_id: str | None = None) -> JSON:
    """An Anthropic Message from a Converse answer."""
    output_message = (resp.get("output") or {}).get("message") or {}
    content = [
        block
        for block in (_from_converse_block(item) for item in output_message.get("content") or [])
        if block is not None
    ]
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": map_stop_reason(resp.get("stopReason")) or "end_turn",
        # Converse does not say which stop sequence matched.
        "stop_sequence": None,
        "usage": from_converse_usage(resp.get("usage")),
    }


def _from_converse_block(block: JSON) -> JSON | None:
    if "text" in block:
        return {"type": "text", "text": block["text"]}
    if "toolUse" in block:
        tool_use = block["toolUse"]
        return {
            "type": "tool_use",
            "id": tool_use["toolUseId"],
            "name": tool_use["name"],
            "input": tool_use["input"],
        }
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "reasoningText" in reasoning:
            text = reasoning["reasoningText"]
            return {
                "type": "thinking",
                "thinking": text.get("text", ""),
                "signature": text.get("signature", ""),
            }
        if "redactedContent" in reasoning:
            return {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
    # Other output blocks (images, citations, guard content...) have no Anthropic form the SDK would accept.
    return None


# ------------------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------------------

_ERROR_CLASS_MAP: dict[str, type[GatewayError]] = {
    "ThrottlingException": RateLimitError,
    "ServiceQuotaExceededException": RateLimitError,
    "TooManyRequestsException": RateLimitError,
    "ValidationException": InvalidRequestError,
    "AccessDeniedException": PermissionDeniedError,
    "UnrecognizedClientException": PermissionDeniedError,
    "InvalidSignatureException": PermissionDeniedError,
    "ExpiredTokenException": PermissionDeniedError,
    "IncompleteSignatureException": PermissionDeniedError,
    "MissingAuthenticationTokenException": PermissionDeniedError,
    "ResourceNotFoundException": NotFoundError,
    "ConflictException": ConflictError,
    "ModelTimeoutException": UpstreamTimeoutError,
    "ServiceUnavailableException": OverloadedError,
    "ModelNotReadyException": OverloadedError,
    "InternalServerException": UpstreamError,
    "ModelErrorException": UpstreamError,
    "ModelStreamErrorException": UpstreamError,
}

_CREDENTIAL_ERROR_TYPES = frozenset(name for name, cls in _ERROR_CLASS_MAP.items() if cls is PermissionDeniedError)


def normalize_error_type(raw: str | None) -> str | None:
    """``ThrottlingException`` from ``ThrottlingException:http://internal.amazon.com/...``,
    ``com.amazon.coral.service#ValidationException`` or the event-stream spelling ``throttlingException``."""
    if not raw:
        return None
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:] if name else None


def bedrock_fault(status: int, headers: Mapping[str, str], body: Any) -> UpstreamFault:
    """What a failed Bedrock call (or an exception frame in a stream) says. The error is named by the
    ``x-amzn-ErrorType`` header, else the body's ``__type`` or ``code``. AccessDenied, UnrecognizedClient, the
    signature and token errors, or a bare 401/403, mean AWS refused the gateway's own credentials."""
    body = body if isinstance(body, dict) else {}
    name = normalize_error_type(headers.get("x-amzn-errortype")) or normalize_error_type(
        body.get("__type") or body.get("code")
    )
    upstream_message = str(body.get("message") or body.get("Message") or "").strip()
    credentials = name in _CREDENTIAL_ERROR_TYPES or (name is None and status in (401, 403))
    error_class = _ERROR_CLASS_MAP.get(name or "") or error_for_status(status)
    label = name or f"HTTP {status}"
    message = f"Bedrock {label}: {upstream_message}" if upstream_message else f"Bedrock {label}"
    return UpstreamFault(error_class, message, credentials_rejected=credentials)


def from_bedrock_error(status: int, error_type: str | None, body: JSON | None) -> GatewayError:
    """The gateway error for a failed Bedrock call; ``error_type`` is the ``x-amzn-ErrorType`` header or the
    exception frame's type."""
    headers = {"x-amzn-errortype": error_type} if error_type else {}
    return gateway_error("bedrock", bedrock_fault(status, headers, body))
