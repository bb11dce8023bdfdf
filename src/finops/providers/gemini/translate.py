"""Pure translation between Anthropic Messages and the Gemini Generative Language API (``generateContent``).

No I/O here: the adapter sends what these functions build and hands back what Gemini answered. Request bodies
are built in Gemini's camelCase JSON (the REST spec's field names); int64 fields Gemini sends as strings are
parsed wherever they are read.

The request is built from parts with one job each: ``contents.py`` (system prompt, messages, blocks),
``tools.py`` (tools and tool_choice), ``thinking.py`` with ``models.py`` (thinking and effort per model family).
Streaming (``stream.py``) and non-streaming share one mapping of the answer: ``blocks.BlockAssembler`` turns
Gemini parts into Anthropic content-block events (``grounding.py`` adds web search blocks and citations), and
``from_generate_response`` builds its ``content`` by replaying those events. Tool-use ids carry Gemini's
``thoughtSignature`` across turns (``tool_ids.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

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
from finops.core.types import JSON
from finops.providers.gemini.blocks import BlockAssembler, Event, blocks_from_events
from finops.providers.gemini.contents import GeminiFileRef, contents, system_instruction
from finops.providers.gemini.models import ModelFamily, model_family
from finops.providers.gemini.schema import openapi_schema
from finops.providers.gemini.thinking import thinking_config
from finops.providers.gemini.tools import gemini_tools, uses_web_search
from finops.providers.upstream_errors import UpstreamFault, gateway_error, redact

__all__ = [
    "JSON",
    "MODEL_CREATED_AT",
    "GeminiFileRef",
    "as_int",
    "from_count_tokens_response",
    "from_gemini_error",
    "from_generate_response",
    "from_models_list",
    "gemini_fault",
    "grounded",
    "map_usage",
    "model_name",
    "status_to_anthropic_error",
    "to_count_tokens_request",
    "to_generate_request",
]


# Gemini's GenerationConfig.stopSequences documents "up to 5".
MAX_STOP_SEQUENCES = 5

# Prefixes a client may put in front of a Gemini model name: the resource prefix Gemini itself uses, and
# the gateway's ``provider/model`` form.
_MODEL_PREFIXES = ("gemini/", "models/")

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


def to_generate_request(
    params: MessageParams | CountTokensParams | Mapping[str, Any],
    *,
    file_refs: Mapping[str, GeminiFileRef] | None = None,
) -> tuple[str, JSON]:
    """(model name without ``models/``, GenerateContentRequest body) for a parsed Anthropic Messages body.

    ``file_refs`` maps the file ids a request may name (upstream file ids) to Gemini file URIs; the adapter
    resolves them, since translation does no I/O. What the field policy ignores (``metadata``, ``stream``,
    ``service_tier``, ``cache_control``: Gemini caches implicitly) is not sent."""
    model = model_name(params.get("model"))
    if params.get("mcp_servers"):
        raise InvalidRequestError("mcp_servers: Gemini cannot connect to MCP servers; remove them for Gemini")
    family = model_family(model)
    messages = params.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequestError("messages: at least one message is required")
    body: JSON = {}
    system = system_instruction(params.get("system"), messages)
    if system is not None:
        body["systemInstruction"] = system
    body["contents"] = contents(messages, file_refs or {})
    tools = params.get("tools")
    if tools:
        gemini_tool_list, tool_config = gemini_tools(
            tools, params.get("tool_choice"), combines_builtin=family.combines_builtin_and_function_tools
        )
        if gemini_tool_list:
            body["tools"] = gemini_tool_list
        if tool_config is not None:
            body["toolConfig"] = tool_config
    generation_config = _generation_config(params, model, family)
    if generation_config:
        body["generationConfig"] = generation_config
    return model, body


def grounded(params: MessageParams | CountTokensParams | Mapping[str, Any]) -> bool:
    """Whether Gemini may ground this request's answer in Google Search (its answer text is then held back to
    the end of a stream, where Gemini says what it cited)."""
    tool_choice = params.get("tool_choice") or {}
    return uses_web_search(params.get("tools")) and tool_choice.get("type") != "none"


def to_count_tokens_request(
    params: MessageParams | CountTokensParams | Mapping[str, Any],
    *,
    file_refs: Mapping[str, GeminiFileRef] | None = None,
) -> tuple[str, JSON]:
    """(model, body for ``models/{model}:countTokens``). generationConfig cannot change the prompt's token
    count and some of its fields (thinkingConfig) are refused by models that lack them, so it is left out."""
    model, request = to_generate_request(params, file_refs=file_refs)
    request.pop("generationConfig", None)
    return model, {"generateContentRequest": {"model": f"models/{model}", **request}}


def from_count_tokens_response(response: JSON) -> JSON:
    return {"input_tokens": as_int(response.get("totalTokens"))}


def _generation_config(params: Mapping[str, Any], model: str, family: ModelFamily) -> JSON:
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
    output_config = params.get("output_config") or {}
    thinking = thinking_config(params.get("thinking"), output_config.get("effort"), model, family)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    response_format = output_config.get("format")
    if response_format is not None:
        # The answer's text is the JSON. Gemini 2.5 and later take the JSON Schema as is; earlier models only
        # Gemini's OpenAPI subset (``schema.py``).
        config["responseMimeType"] = "application/json"
        if family.reads_json_schema:
            config["responseJsonSchema"] = response_format["schema"]
        else:
            config["responseSchema"] = openapi_schema(response_format["schema"], model)
    return config


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


def map_usage(usage_metadata: JSON | None, *, web_search_requests: int = 0) -> JSON:
    """Anthropic usage from Gemini usageMetadata.

    promptTokenCount includes cached tokens (``cachedContentTokenCount``), which Anthropic reports apart as cache
    reads. toolUsePromptTokenCount (prompts of Gemini's built-in tools, such as the search results it read,
    billed as input) is not part of promptTokenCount, so it is added to input. Thinking tokens are billed as
    output, as Anthropic's are, and shown in ``output_tokens_details.thinking_tokens`` (SDK 2.14's Usage).
    ``web_search_requests`` (the queries Gemini grounded the answer with) goes in ``server_tool_use``."""
    usage_metadata = usage_metadata or {}
    cached = as_int(usage_metadata.get("cachedContentTokenCount"))
    prompt = as_int(usage_metadata.get("promptTokenCount")) + as_int(usage_metadata.get("toolUsePromptTokenCount"))
    thoughts = as_int(usage_metadata.get("thoughtsTokenCount"))
    output = as_int(usage_metadata.get("candidatesTokenCount")) + thoughts
    usage: JSON = {
        "input_tokens": max(prompt - cached, 0),
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "output_tokens": output,
    }
    if thoughts:
        usage["output_tokens_details"] = {"thinking_tokens": thoughts}
    if web_search_requests:
        usage["server_tool_use"] = {"web_search_requests": web_search_requests, "web_fetch_requests": 0}
    return usage


def from_generate_response(response: JSON, *, model: str, message_id: str | None = None) -> JSON:
    """An Anthropic Message from a GenerateContentResponse (first candidate only: the gateway never asks
    for more). A prompt blocked before generation (promptFeedback.blockReason, no candidates) becomes a
    ``refusal`` with empty content."""
    candidate = first_candidate(response)
    grounding = candidate.get("groundingMetadata") if candidate else None
    assembler = BlockAssembler(grounded=isinstance(grounding, dict))
    events: list[Event] = []
    for part in candidate_parts(candidate):
        events += assembler.add_part(part)
    events += assembler.close(grounding)
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
        "usage": map_usage(response.get("usageMetadata"), web_search_requests=assembler.web_search_requests),
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
