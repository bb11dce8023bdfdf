"""Pure translation between Anthropic Messages and the Gemini Generative Language API (``generateContent``).

No I/O here: the adapter sends what these functions build and hands back what Gemini answered. Request bodies
are built in Gemini's camelCase JSON (the REST spec's field names); int64 fields Gemini sends as strings are
parsed wherever they are read.

Streaming (``stream.py``) and non-streaming share one mapping: ``blocks.BlockAssembler`` turns Gemini parts
into Anthropic content-block events, and ``from_generate_response`` builds its ``content`` by replaying those
events. Tool-use ids carry Gemini's ``thoughtSignature`` across turns (``tool_ids.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, NamedTuple

from finops.core.errors import (
    AuthenticationError,
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
from finops.providers.gemini.blocks import BlockAssembler, Event, blocks_from_events
from finops.providers.gemini.tool_ids import decode_tool_use_id
from finops.providers.upstream_errors import UpstreamFault, gateway_error, redact

JSON = dict[str, Any]

# Gemini's GenerationConfig.stopSequences documents "up to 5".
MAX_STOP_SEQUENCES = 5

# Images Gemini accepts as inlineData (its image-understanding docs); Anthropic also allows image/gif.
_GEMINI_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif"})

# Gemini can only read media it holds or that arrives inline: a fileData URI must name a Gemini file.
_GEMINI_FILE_URI_PREFIX = "https://generativelanguage.googleapis.com/"

# Prefixes a client may put in front of a Gemini model name: the resource prefix Gemini itself uses, and
# the gateway's ``provider/model`` form.
_MODEL_PREFIXES = ("gemini/", "models/")

# Models on which ``thinkingBudget: 0`` turns thinking off. Gemini 2.5 Pro and the Gemini 3 family cannot
# stop thinking (they reject a budget of 0) and older models reject any thinkingConfig, so for them
# ``thinking: {type: "disabled"}`` leaves the model's default.
_THINKING_CAN_BE_DISABLED = ("gemini-2.5-flash",)

# Anthropic model objects need ``created_at``; Gemini's Model resource has no date, so every model gets
# the epoch.
MODEL_CREATED_AT = "1970-01-01T00:00:00Z"

# ------------------------------------------------------------------------------------------------------------
# Enumerations
# ------------------------------------------------------------------------------------------------------------

_FINISH_REASON_MAP: dict[str, str] = {
    # A stop-sequence hit also arrives as STOP: Gemini does not say which sequence fired, so ``stop_sequence``
    # is never reported. STOP with a functionCall part becomes ``tool_use`` (see ``map_stop_reason``).
    "STOP": "end_turn",
    "MAX_TOKENS": "max_tokens",
    # Content the provider refused to produce or finish.
    "SAFETY": "refusal",
    "RECITATION": "refusal",
    "BLOCKLIST": "refusal",
    "PROHIBITED_CONTENT": "refusal",
    "SPII": "refusal",
    "IMAGE_SAFETY": "refusal",
    "IMAGE_PROHIBITED_CONTENT": "refusal",
    "IMAGE_RECITATION": "refusal",
    "IMAGE_OTHER": "refusal",
    # Anthropic has no stop reason for these (the model ended its turn without a usable answer): end_turn with
    # whatever content arrived is the closest, and lets the client inspect or retry.
    "FINISH_REASON_UNSPECIFIED": "end_turn",
    "OTHER": "end_turn",
    "LANGUAGE": "end_turn",
    "NO_IMAGE": "end_turn",
    "MALFORMED_FUNCTION_CALL": "end_turn",
    "UNEXPECTED_TOOL_CALL": "end_turn",
    "TOO_MANY_TOOL_CALLS": "end_turn",
    "MISSING_THOUGHT_SIGNATURE": "end_turn",
}

_TOOL_CHOICE_MODE_MAP: dict[str, str] = {
    "auto": "AUTO",
    "any": "ANY",
    "tool": "ANY",  # plus allowedFunctionNames = [name]
    "none": "NONE",
}

# google.rpc.Status names (the ``status`` of an error envelope) -> gateway error. Used before the HTTP status
# because a Status inside a batch result or a stream chunk has no HTTP status of its own.
_STATUS_NAME_MAP: dict[str, type[GatewayError]] = {
    "INVALID_ARGUMENT": InvalidRequestError,
    "FAILED_PRECONDITION": InvalidRequestError,
    "OUT_OF_RANGE": InvalidRequestError,
    "UNAUTHENTICATED": AuthenticationError,
    "PERMISSION_DENIED": PermissionDeniedError,
    "NOT_FOUND": NotFoundError,
    "ALREADY_EXISTS": ConflictError,
    "ABORTED": ConflictError,
    "RESOURCE_EXHAUSTED": RateLimitError,
    "DEADLINE_EXCEEDED": UpstreamTimeoutError,
    "UNAVAILABLE": OverloadedError,
    "CANCELLED": UpstreamError,
    "UNKNOWN": UpstreamError,
    "INTERNAL": UpstreamError,
    "DATA_LOSS": UpstreamError,
    "UNIMPLEMENTED": UpstreamError,
}

# google.rpc.Code numbers, as found in ``Status.code`` of batch results (the REST envelope uses HTTP codes).
_RPC_CODE_NAMES: dict[int, str] = {
    1: "CANCELLED",
    2: "UNKNOWN",
    3: "INVALID_ARGUMENT",
    4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "PERMISSION_DENIED",
    8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION",
    10: "ABORTED",
    11: "OUT_OF_RANGE",
    12: "UNIMPLEMENTED",
    13: "INTERNAL",
    14: "UNAVAILABLE",
    15: "DATA_LOSS",
    16: "UNAUTHENTICATED",
}

# ------------------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------------------


def as_int(value: Any) -> int:
    """An int64 field as Gemini sends it (JSON string or number; absent = 0)."""
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def model_name(model: Any) -> str:
    """The bare Gemini model name (``gemini-2.5-flash``) from what a client wrote."""
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequestError("model: a Gemini model name is required (for example 'gemini-2.5-flash')")
    name = model.strip()
    for prefix in _MODEL_PREFIXES:
        name = name.removeprefix(prefix)
    return name


# ------------------------------------------------------------------------------------------------------------
# Anthropic request -> GenerateContentRequest
# ------------------------------------------------------------------------------------------------------------


class GeminiFileRef(NamedTuple):
    """What an Anthropic ``{"type": "file", "file_id": ...}`` source resolves to on Gemini."""

    uri: str
    mime_type: str


def to_generate_request(
    params: MessageParams | CountTokensParams, *, file_refs: Mapping[str, GeminiFileRef] | None = None
) -> tuple[str, JSON]:
    """(model name without ``models/``, GenerateContentRequest body) for an Anthropic Messages body.

    ``file_refs`` maps the file ids a request may name (gateway file ids) to Gemini file URIs; the adapter
    resolves them, since translation does no I/O. ``metadata``, ``stream``, ``service_tier`` and block-level
    ``cache_control`` have no Gemini counterpart and are dropped (Gemini caches implicitly)."""
    model = model_name(params.get("model"))
    if params.get("mcp_servers"):
        raise InvalidRequestError("mcp_servers: Gemini cannot connect to MCP servers; remove them for Gemini")
    body: JSON = {}
    system = _system_instruction(params.get("system"))
    if system is not None:
        body["systemInstruction"] = system
    body["contents"] = _contents(params.get("messages"), file_refs or {})
    tools = params.get("tools")
    if tools:
        body["tools"] = [{"functionDeclarations": [_function_declaration(tool) for tool in tools]}]
        tool_config = _tool_config(params.get("tool_choice"), tools)
        if tool_config is not None:
            body["toolConfig"] = tool_config
    generation_config = _generation_config(params, model)
    if generation_config:
        body["generationConfig"] = generation_config
    return model, body


def to_count_tokens_request(
    params: CountTokensParams, *, file_refs: Mapping[str, GeminiFileRef] | None = None
) -> tuple[str, JSON]:
    """(model, body for ``models/{model}:countTokens``). generationConfig cannot change the prompt's token
    count and some of its fields (thinkingConfig) are refused by models that lack them, so it is left out."""
    model, request = to_generate_request(params, file_refs=file_refs)
    request.pop("generationConfig", None)
    return model, {"generateContentRequest": {"model": f"models/{model}", **request}}


def from_count_tokens_response(response: JSON) -> JSON:
    return {"input_tokens": as_int(response.get("totalTokens"))}


def _system_instruction(system: Any) -> JSON | None:
    if system is None or system == "" or system == []:
        return None
    if isinstance(system, str):
        return {"parts": [{"text": system}]}
    if isinstance(system, list):
        parts = []
        for block in system:
            if not isinstance(block, dict) or block.get("type") != "text":
                raise InvalidRequestError("system: only text blocks are supported")
            parts.append({"text": block.get("text", "")})
        return {"parts": parts}
    raise InvalidRequestError("system: must be a string or a list of text blocks")


_ROLE_MAP: dict[str, str] = {"user": "user", "assistant": "model"}


def _contents(messages: Any, file_refs: Mapping[str, GeminiFileRef]) -> list[JSON]:
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages: at least one message is required")
    tool_names: dict[str, str] = {}  # tool_use id -> function name, filled as the conversation is walked
    contents: list[JSON] = []
    for position, message in enumerate(messages):
        role = _ROLE_MAP.get(message.get("role") if isinstance(message, dict) else None)
        if role is None:
            raise InvalidRequestError(f"messages.{position}.role: must be 'user' or 'assistant'")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise InvalidRequestError(f"messages.{position}.content: must be a string or a list of blocks")
        parts: list[JSON] = []
        for block_position, block in enumerate(blocks):
            where = f"messages.{position}.content.{block_position}"
            parts.extend(_message_parts(block, where, tool_names, file_refs))
        if not parts:
            continue  # e.g. an assistant turn holding only redacted thinking
        # Anthropic merges consecutive turns of one role; Gemini wants user/model turns to alternate.
        if contents and contents[-1]["role"] == role:
            contents[-1]["parts"].extend(parts)
        else:
            contents.append({"role": role, "parts": parts})
    return contents


def _message_parts(
    block: Any, where: str, tool_names: dict[str, str], file_refs: Mapping[str, GeminiFileRef]
) -> list[JSON]:
    if not isinstance(block, dict):
        raise InvalidRequestError(f"{where}: must be a content block object")
    kind = block.get("type")
    if kind == "text":
        return [{"text": block.get("text", "")}]
    if kind == "image":
        return [_image_part(block.get("source"), where, file_refs)]
    if kind == "document":
        return _document_parts(block.get("source"), where, file_refs)
    if kind == "tool_use":
        tool_use_id, name = block.get("id"), block.get("name")
        if not isinstance(tool_use_id, str) or not isinstance(name, str):
            raise InvalidRequestError(f"{where}: tool_use needs 'id' and 'name'")
        tool_names[tool_use_id] = name
        call_id, signature = decode_tool_use_id(tool_use_id)
        part: JSON = {"functionCall": {"id": call_id, "name": name, "args": block.get("input") or {}}}
        if signature:
            part["thoughtSignature"] = signature
        return [part]
    if kind == "tool_result":
        return [_function_response_part(block, where, tool_names, file_refs)]
    if kind == "thinking":
        part = {"text": block.get("thinking", ""), "thought": True}
        if block.get("signature"):
            part["thoughtSignature"] = block["signature"]
        return [part]
    if kind == "redacted_thinking":
        return []  # Anthropic-encrypted reasoning: meaningless to Gemini
    raise InvalidRequestError(f"{where}: content blocks of type {kind!r} are not supported for Gemini")


def _image_part(source: Any, where: str, file_refs: Mapping[str, GeminiFileRef]) -> JSON:
    if not isinstance(source, dict):
        raise InvalidRequestError(f"{where}.source: required")
    if source.get("type") == "base64":
        media_type = source.get("media_type")
        if media_type not in _GEMINI_IMAGE_TYPES:
            allowed = ", ".join(sorted(_GEMINI_IMAGE_TYPES))
            raise InvalidRequestError(f"{where}: Gemini does not accept {media_type!r} images (use {allowed})")
        return {"inlineData": {"mimeType": media_type, "data": source.get("data", "")}}
    return _reference_part(source, where, file_refs, default_mime_type=None)


def _document_parts(source: Any, where: str, file_refs: Mapping[str, GeminiFileRef]) -> list[JSON]:
    if not isinstance(source, dict):
        raise InvalidRequestError(f"{where}.source: required")
    kind = source.get("type")
    if kind == "base64":
        media_type = source.get("media_type") or "application/pdf"
        return [{"inlineData": {"mimeType": media_type, "data": source.get("data", "")}}]
    if kind == "text":
        return [{"text": source.get("data", "")}]
    if kind == "content":
        inner = source.get("content")
        if isinstance(inner, str):
            return [{"text": inner}]
        parts: list[JSON] = []
        for position, block in enumerate(inner or []):
            inner_where = f"{where}.source.content.{position}"
            if not isinstance(block, dict) or block.get("type") not in ("text", "image"):
                raise InvalidRequestError(f"{inner_where}: document content may hold text and image blocks")
            parts.extend(_message_parts(block, inner_where, {}, file_refs))
        return parts
    return [_reference_part(source, where, file_refs, default_mime_type="application/pdf")]


def _reference_part(
    source: JSON, where: str, file_refs: Mapping[str, GeminiFileRef], *, default_mime_type: str | None
) -> JSON:
    """A url or file source: Gemini reads only its own files (fileData) or inline bytes."""
    kind = source.get("type")
    if kind == "url":
        url = source.get("url")
        if isinstance(url, str) and url.startswith(_GEMINI_FILE_URI_PREFIX):
            file_data: JSON = {"fileUri": url}
            if default_mime_type:
                file_data["mimeType"] = default_mime_type
            return {"fileData": file_data}
        raise InvalidRequestError(
            f"{where}: Gemini needs the bytes inline; the gateway does not fetch URLs. "
            "Send the content as a base64 source (or upload it with the Files API)"
        )
    if kind == "file":
        file_id = source.get("file_id", "")
        ref = file_refs.get(file_id)
        if ref is None:
            raise InvalidRequestError(f"{where}: file {file_id!r} is not a file uploaded to Gemini through the gateway")
        return {"fileData": {"mimeType": ref.mime_type, "fileUri": ref.uri}}
    raise InvalidRequestError(f"{where}.source: type {kind!r} is not supported for Gemini")


def _function_response_part(
    block: JSON, where: str, tool_names: dict[str, str], file_refs: Mapping[str, GeminiFileRef]
) -> JSON:
    tool_use_id = block.get("tool_use_id")
    name = tool_names.get(tool_use_id) if isinstance(tool_use_id, str) else None
    if name is None:
        # Gemini's FunctionResponse.name is required and only the earlier tool_use knows it.
        raise InvalidRequestError(
            f"{where}: tool_result.tool_use_id {tool_use_id!r} does not match a tool_use block in an earlier "
            "assistant turn"
        )
    content = block.get("content")
    texts: list[str] = []
    media: list[JSON] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for position, item in enumerate(content):
            item_where = f"{where}.content.{position}"
            item_type = item.get("type") if isinstance(item, dict) else None
            if item_type == "text":
                texts.append(item.get("text", ""))
            elif item_type in ("image", "document"):
                # Multimodal results go in FunctionResponse.parts, next to the JSON response.
                media.extend(_message_parts(item, item_where, tool_names, file_refs))
            else:
                raise InvalidRequestError(f"{item_where}: tool_result content of type {item_type!r} is not supported")
    text = "\n".join(texts)
    # Gemini's response must be a JSON object; its docs name "error" as the key for a failed call.
    response = {"error": text} if block.get("is_error") else {"content": text}
    call_id, _ = decode_tool_use_id(tool_use_id)
    function_response: JSON = {"id": call_id, "name": name, "response": response}
    if media:
        function_response["parts"] = media
    return {"functionResponse": function_response}


def _function_declaration(tool: Any) -> JSON:
    if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
        raise InvalidRequestError("tools: every tool needs a name")
    kind = tool.get("type")
    if kind not in (None, "custom"):
        raise InvalidRequestError(
            f"tools: Anthropic server tool {kind!r} ({tool['name']}) is not available on Gemini; "
            "declare a custom tool with an input_schema instead"
        )
    # The spec marks FunctionDeclaration.description required; Anthropic's is optional.
    declaration: JSON = {"name": tool["name"], "description": tool.get("description") or ""}
    # parametersJsonSchema takes JSON Schema as-is; ``parameters`` only accepts an OpenAPI subset.
    declaration["parametersJsonSchema"] = tool.get("input_schema") or {"type": "object"}
    return declaration


def _tool_config(tool_choice: Any, tools: list[JSON]) -> JSON | None:
    """``disable_parallel_tool_use`` has no Gemini switch and is ignored."""
    if tool_choice is None:
        return None
    kind = tool_choice.get("type") if isinstance(tool_choice, dict) else None
    mode = _TOOL_CHOICE_MODE_MAP.get(kind or "")
    if mode is None:
        raise InvalidRequestError(f"tool_choice.type: {kind!r} is not one of auto, any, tool, none")
    config: JSON = {"mode": mode}
    if kind == "tool":
        name = tool_choice.get("name")
        if name not in {tool.get("name") for tool in tools}:
            raise InvalidRequestError(f"tool_choice.name: {name!r} is not one of the declared tools")
        config["allowedFunctionNames"] = [name]
    return {"functionCallingConfig": config}


def _generation_config(params: JSON, model: str) -> JSON:
    config: JSON = {}
    max_tokens = params.get("max_tokens")
    if max_tokens is not None:
        if max_tokens < 1:
            raise InvalidRequestError("max_tokens: Gemini needs at least 1 (there is no cache pre-warm call)")
        config["maxOutputTokens"] = max_tokens
    stop_sequences = params.get("stop_sequences")
    if stop_sequences:
        if len(stop_sequences) > MAX_STOP_SEQUENCES:
            raise InvalidRequestError(
                f"stop_sequences: Gemini allows at most {MAX_STOP_SEQUENCES}, got {len(stop_sequences)}"
            )
        config["stopSequences"] = list(stop_sequences)
    # Anthropic's temperature range (0..1) sits inside Gemini's (0..2): the value passes through unchanged.
    for anthropic_key, gemini_key in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        if params.get(anthropic_key) is not None:
            config[gemini_key] = params[anthropic_key]
    thinking_config = _thinking_config(params.get("thinking"), model)
    if thinking_config is not None:
        config["thinkingConfig"] = thinking_config
    response_format = (params.get("output_config") or {}).get("format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        config["responseMimeType"] = "application/json"
        config["responseJsonSchema"] = response_format.get("schema") or {}
    return config


def _thinking_config(thinking: Any, model: str) -> JSON | None:
    if not isinstance(thinking, dict):
        return None
    kind = thinking.get("type")
    if kind == "enabled":
        # -1 asks Gemini for a dynamic budget when Anthropic's (required) budget_tokens is missing.
        budget = thinking.get("budget_tokens")
        return {"thinkingBudget": budget if budget is not None else -1, "includeThoughts": True}
    if kind == "adaptive":
        return {"thinkingBudget": -1, "includeThoughts": True}
    if kind == "disabled":
        return {"thinkingBudget": 0} if model.startswith(_THINKING_CAN_BE_DISABLED) else None
    raise InvalidRequestError(f"thinking.type: {kind!r} is not one of enabled, adaptive, disabled")


# ------------------------------------------------------------------------------------------------------------
# GenerateContentResponse -> Anthropic Message
# ------------------------------------------------------------------------------------------------------------


def first_candidate(response: JSON) -> JSON | None:
    candidates = response.get("candidates") or []
    return candidates[0] if candidates else None


def candidate_parts(candidate: JSON | None) -> list[JSON]:
    if candidate is None:
        return []
    return (candidate.get("content") or {}).get("parts") or []


def map_stop_reason(finish_reason: str | None, *, has_tool_use: bool, block_reason: str | None = None) -> str:
    """Anthropic ``stop_reason`` for a candidate's finishReason (or a blocked prompt's blockReason)."""
    if finish_reason is None and block_reason and block_reason != "BLOCK_REASON_UNSPECIFIED":
        return "refusal"
    stop_reason = _FINISH_REASON_MAP.get(finish_reason or "", "end_turn")
    # Gemini answers STOP for function calls; a call cut short by MAX_TOKENS stays max_tokens.
    if stop_reason == "end_turn" and has_tool_use:
        return "tool_use"
    return stop_reason


def map_usage(usage_metadata: JSON | None) -> JSON:
    """Anthropic usage from Gemini usageMetadata.

    promptTokenCount includes cached tokens, which Anthropic reports apart. toolUsePromptTokenCount (prompts
    of Gemini's built-in tools, billed as input) is not part of promptTokenCount, so it is added to input.
    Thinking tokens are billed as output, as Anthropic's are."""
    usage_metadata = usage_metadata or {}
    cached = as_int(usage_metadata.get("cachedContentTokenCount"))
    prompt = as_int(usage_metadata.get("promptTokenCount")) + as_int(usage_metadata.get("toolUsePromptTokenCount"))
    output = as_int(usage_metadata.get("candidatesTokenCount")) + as_int(usage_metadata.get("thoughtsTokenCount"))
    return {
        "input_tokens": max(prompt - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": output,
    }


def from_generate_response(response: JSON, *, model: str, message_id: str | None = None) -> JSON:
    """An Anthropic Message from a GenerateContentResponse (first candidate only: the gateway never asks
    for more). A prompt blocked before generation (promptFeedback.blockReason, no candidates) becomes a
    ``refusal`` with empty content."""
    candidate = first_candidate(response)
    assembler = BlockAssembler()
    events: list[Event] = []
    for part in candidate_parts(candidate):
        events += assembler.add_part(part)
    events += assembler.close()
    block_reason = (response.get("promptFeedback") or {}).get("blockReason")
    stop_reason = map_stop_reason(
        candidate.get("finishReason") if candidate else None,
        has_tool_use=assembler.has_tool_use,
        block_reason=block_reason if candidate is None else None,
    )
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks_from_events(events),
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": map_usage(response.get("usageMetadata")),
    }


# ------------------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------------------


def from_models_list(response: JSON) -> list[JSON]:
    """Anthropic model objects for one page of ``models.list``. Models that cannot ``generateContent``
    (embedding, AQA, ...) are left out: they cannot serve the Messages API."""
    models = []
    for model in response.get("models") or []:
        methods = model.get("supportedGenerationMethods")
        if methods is not None and "generateContent" not in methods:
            continue
        model_id = str(model.get("name", "")).removeprefix("models/")
        models.append(
            {
                "type": "model",
                "id": model_id,
                "display_name": model.get("displayName") or model_id,
                "created_at": MODEL_CREATED_AT,
            }
        )
    return models


# ------------------------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------------------------

# Signs that a 403 is about the key itself (missing, wrong project, revoked), not about a resource.
_KEY_PROBLEMS = ("api key", "api_key", "unregistered callers")


def error_class_for_status(status_name: str | None, code: int | None) -> type[GatewayError]:
    """The gateway error for a google.rpc.Status: its name first, else its code (HTTP or rpc)."""
    if status_name in _STATUS_NAME_MAP:
        return _STATUS_NAME_MAP[status_name]
    if code is not None and code in _RPC_CODE_NAMES:
        return _STATUS_NAME_MAP[_RPC_CODE_NAMES[code]]
    if code is not None and code >= 400:
        return error_for_status(code)
    return UpstreamError


def _status_details(error: JSON) -> tuple[bool, str | None]:
    """(the API key was rejected, retry delay in whole seconds) from a Status's ``details``."""
    key_invalid, retry_after = False, None
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if str(detail.get("reason", "")).startswith("API_KEY"):
            key_invalid = True
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            with contextlib.suppress(ValueError):
                retry_after = str(max(1, round(float(delay[:-1]))))
    return key_invalid, retry_after


def gemini_fault(status: int, headers: Mapping[str, str], body: Any) -> UpstreamFault:
    """What a failed Gemini call says: HTTP ``status`` plus the Google error envelope ``{"error": {code, message,
    status, details}}`` (also found inside a stream, with status 200). The gateway's key was refused when Gemini
    says so however it does: 401, ``UNAUTHENTICATED``, an ``API_KEY_*`` reason (a 400 ``INVALID_ARGUMENT`` for a
    bad key), or a 403 about the key."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error_class = error_for_status(status) if status >= 400 else UpstreamError
        return UpstreamFault(error_class, f"Gemini API error (HTTP {status})", credentials_rejected=status == 401)
    status_name = error.get("status") if isinstance(error.get("status"), str) else None
    code = status if status >= 400 else as_int(error.get("code")) or None
    key_invalid, retry_after = _status_details(error)
    message = str(error.get("message") or "no message")
    error_class = error_class_for_status(status_name, code)
    about_the_key = status == 403 and any(problem in message.lower() for problem in _KEY_PROBLEMS)
    label = status_name or f"HTTP {code or status}"
    return UpstreamFault(
        error_class,
        f"Gemini API error ({label}): {message}",
        credentials_rejected=key_invalid or about_the_key or status == 401 or error_class is AuthenticationError,
        retry_after=retry_after if error_class is RateLimitError else None,
    )


def from_gemini_error(status: int, body: JSON | None) -> GatewayError:
    """The gateway error for a Gemini error envelope, e.g. one met inside a stream."""
    return gateway_error("gemini", gemini_fault(status, {}, body))


def status_to_anthropic_error(error: JSON) -> JSON:
    """Anthropic ``{"type", "message"}`` for a google.rpc.Status found in a batch result."""
    status_name = error.get("status") if isinstance(error.get("status"), str) else None
    code = as_int(error.get("code")) or None
    error_class = error_class_for_status(status_name, code)
    return {
        "type": error_class.error_type,
        "message": redact(f"Gemini: {error.get('message') or 'the request failed'}"),
    }
