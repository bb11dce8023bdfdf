"""generateContent, streamGenerateContent and countTokens as pure functions of the request body.

The same request always produces the same text, function calls and token counts, so tests (and the gateway's
usage ledger) can assert exact numbers. Only ``responseId`` is random, as on the real service.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.emulators._common.replies import apply_stop_sequences, reply_text, truncate_to_tokens
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators.gemini.catalog import is_thinking
from finops.emulators.gemini.errors import GoogleError, invalid
from finops.emulators.gemini.schema_args import arguments_for
from finops.emulators.gemini.wire import pick

FileCheck = Callable[[str], bool]
"""Says whether a ``fileData.fileUri`` names a file that exists (unknown URIs of other hosts pass)."""

_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
)
_MEDIA_TOKENS = 258  # Gemini bills an image (and each media attachment here) as 258 tokens.
_CACHE_BLOCK = 1024  # implicit caching covers whole 1024-token blocks of a long prompt prefix
_STREAM_TOKENS_PER_CHUNK = 6
_THOUGHT_SIGNATURE_DOCS = "https://ai.google.dev/gemini-api/docs/thought-signatures"


@dataclass
class Candidate:
    parts: list[dict[str, Any]]
    finish_reason: str
    tokens: int


@dataclass
class Plan:
    """Everything a response needs, computed once and rendered whole or as stream chunks."""

    model: str
    prompt_tokens: int
    cached_tokens: int
    thoughts_tokens: int
    candidates: list[Candidate] = field(default_factory=list)
    response_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def usage(self, candidates_tokens: int | None = None) -> dict[str, Any]:
        produced = sum(c.tokens for c in self.candidates) if candidates_tokens is None else candidates_tokens
        usage: dict[str, Any] = {
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": produced,
            "totalTokenCount": self.prompt_tokens + produced + self.thoughts_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
        }
        # Proto3 JSON omits zero counters; Google does too, so absent means 0.
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = self.cached_tokens
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
        return usage


# ---------------------------------------------------------------- validation


def _contents(body: dict[str, Any]) -> list[dict[str, Any]]:
    contents = pick(body, "contents")
    if not contents:
        raise invalid("* GenerateContentRequest.contents: contents is not specified\n")
    if not isinstance(contents, list):
        raise invalid("Invalid JSON payload received. 'contents' must be a list.")
    return contents


def _validate_parts(parts: Any, where: str, file_check: FileCheck) -> None:
    if not isinstance(parts, list) or not parts:
        raise invalid(f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.\n")
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            raise invalid(f"Invalid JSON payload received. {where}.parts[{index}] must be an object.")
        present = [name for name in _DATA_FIELDS if pick(part, name) is not None]
        if len(present) != 1:
            raise invalid(
                f"* GenerateContentRequest.{where}.parts[{index}].data: "
                "required oneof field 'data' must have one initialized field\n"
            )
        kind = present[0]
        if kind in ("functionCall", "functionResponse") and not pick(pick(part, kind), "name"):
            raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].{kind}.name: Name cannot be empty.\n")
        if kind == "inlineData":
            blob = pick(part, "inlineData")
            if not pick(blob, "mimeType"):
                raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].inline_data.mime_type: required\n")
            try:
                base64.b64decode(str(pick(blob, "data", "")), validate=False)
            except ValueError as exc:
                raise invalid(f"Invalid value at '{where}.parts[{index}].inline_data.data' (TYPE_BYTES)") from exc
        if kind == "fileData":
            uri = str(pick(pick(part, "fileData"), "fileUri") or "")
            if not uri:
                raise invalid(f"* GenerateContentRequest.{where}.parts[{index}].file_data.file_uri: required\n")
            if not file_check(uri):
                raise GoogleError(
                    403,
                    f"You do not have permission to access the File {uri.rsplit('/', 1)[-1]} or it may not exist.",
                    "PERMISSION_DENIED",
                )


def _validate_generation_config(config: Any) -> None:
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid("Invalid JSON payload received. 'generationConfig' must be an object.")
    checks: list[tuple[str, float, float]] = [("temperature", 0.0, 2.0), ("topP", 0.0, 1.0)]
    for name, low, high in checks:
        value = pick(config, name)
        if value is not None and not (isinstance(value, int | float) and low <= value <= high):
            raise invalid(f"* GenerateContentRequest.generation_config.{name}: must be in [{low}, {high}]\n")
    top_k = pick(config, "topK")
    if top_k is not None and (not isinstance(top_k, int | float) or top_k < 1):
        raise invalid("* GenerateContentRequest.generation_config.top_k: must be a positive integer\n")
    count = pick(config, "candidateCount")
    if count is not None and (not isinstance(count, int) or not 1 <= count <= 8):
        raise invalid("* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8\n")
    max_tokens = pick(config, "maxOutputTokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 0):
        raise invalid("* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n")
    stops = pick(config, "stopSequences")
    if stops is not None and (not isinstance(stops, list) or len(stops) > 5):
        raise invalid("* GenerateContentRequest.generation_config.stop_sequences: at most 5 stop sequences\n")


def _declarations(body: dict[str, Any]) -> list[dict[str, Any]]:
    declared: list[dict[str, Any]] = []
    for tool in pick(body, "tools") or []:
        for declaration in pick(tool, "functionDeclarations") or []:
            if not pick(declaration, "name"):
                raise invalid(
                    "* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty.\n"
                )
            declared.append(declaration)
    return declared


def _calling_config(body: dict[str, Any], declared: list[dict[str, Any]]) -> tuple[str, list[str]]:
    config = pick(pick(body, "toolConfig"), "functionCallingConfig") or {}
    mode = str(pick(config, "mode") or "AUTO").upper()
    if mode in ("MODE_UNSPECIFIED", "VALIDATED"):
        mode = "AUTO"
    if mode not in ("AUTO", "ANY", "NONE"):
        raise invalid(f"Invalid value at 'tool_config.function_calling_config.mode', \"{mode}\"")
    allowed = list(pick(config, "allowedFunctionNames") or [])
    names = {str(pick(d, "name")) for d in declared}
    if allowed and mode != "ANY":
        raise invalid("allowed_function_names should only be set when the function calling mode is ANY.")
    if mode == "ANY" and not declared:
        raise invalid("Function calling mode is ANY but no function declarations were provided.")
    for name in allowed:
        if name not in names:
            raise invalid(f"allowed_function_names contains '{name}', which is not a declared function.")
    return mode, allowed


def _check_thought_signatures(contents: list[dict[str, Any]], model: str) -> None:
    """Thinking models need the signature of every function call in the current turn replayed.

    The current turn starts after the last user content holding text (function responses do not start a turn);
    within it, the first functionCall part of each model step must carry its ``thoughtSignature``.
    """
    if not is_thinking(model):
        return
    start = 0
    for index, content in enumerate(contents):
        parts = pick(content, "parts") or []
        if pick(content, "role", "user") == "user" and any(pick(p, "text") is not None for p in parts):
            start = index + 1
    for index in range(start, len(contents)):
        content = contents[index]
        if pick(content, "role") != "model":
            continue
        calls = [p for p in pick(content, "parts") or [] if pick(p, "functionCall") is not None]
        if calls and not pick(calls[0], "thoughtSignature"):
            name = pick(pick(calls[0], "functionCall"), "name")
            raise invalid(
                "Function call is missing a thought_signature in functionCall parts. "
                "This is required for tools to work correctly, and missing thought_signature "
                "may lead to degraded model performance. "
                f"Additional data, function call `default_api:{name}` , position {index + 1}. "
                f"Please refer to {_THOUGHT_SIGNATURE_DOCS} for more details."
            )


def validate(body: dict[str, Any], model: str, file_check: FileCheck) -> None:
    """Raise the 400 the real API gives for a malformed GenerateContentRequest."""
    contents = _contents(body)
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            raise invalid(f"Invalid JSON payload received. contents[{index}] must be an object.")
        role = pick(content, "role")
        if role not in (None, "", "user", "model", "function"):
            raise invalid("Please use a valid role: user, model.")
        _validate_parts(pick(content, "parts"), f"contents[{index}]", file_check)
    system = pick(body, "systemInstruction")
    if system is not None:
        _validate_parts(pick(system, "parts"), "system_instruction", file_check)
    _validate_generation_config(pick(body, "generationConfig"))
    _calling_config(body, _declarations(body))
    _check_thought_signatures(contents, model)


# ---------------------------------------------------------------- counting


def _part_tokens(part: dict[str, Any]) -> int:
    text = pick(part, "text")
    if text is not None:
        return count_tokens(str(text))
    if pick(part, "inlineData") is not None or pick(part, "fileData") is not None:
        return _MEDIA_TOKENS
    for kind in ("functionCall", "functionResponse", "executableCode", "codeExecutionResult"):
        value = pick(part, kind)
        if value is not None:
            return count_tokens(orjson.dumps(value).decode())
    return 0


def prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for content in pick(body, "contents") or []:
        total += sum(_part_tokens(p) for p in pick(content, "parts") or [])
    system = pick(body, "systemInstruction")
    if system:
        total += sum(_part_tokens(p) for p in pick(system, "parts") or [])
    declared = [d for tool in pick(body, "tools") or [] for d in pick(tool, "functionDeclarations") or []]
    if declared:
        total += count_tokens(orjson.dumps(declared).decode())
    return total


def count(body: dict[str, Any], model: str, file_check: FileCheck) -> dict[str, Any]:
    """countTokens accepts ``contents`` or a whole ``generateContentRequest``."""
    inner = pick(body, "generateContentRequest")
    request = inner if isinstance(inner, dict) else body
    _contents(request)
    validate(request, model, file_check)
    total = prompt_tokens(request)
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


# ---------------------------------------------------------------- generation


def _last_user_prompt(contents: list[dict[str, Any]]) -> tuple[str, bool]:
    """The text the reply is derived from, and whether the last turn carries function results."""
    for content in reversed(contents):
        if pick(content, "role", "user") == "model":
            continue
        pieces: list[str] = []
        has_results = False
        for part in pick(content, "parts") or []:
            if pick(part, "text") is not None and not pick(part, "thought"):
                pieces.append(str(pick(part, "text")))
            elif pick(part, "functionResponse") is not None:
                has_results = True
                result = pick(part, "functionResponse")
                pieces.append(f"Result of {pick(result, 'name')}: {orjson.dumps(pick(result, 'response')).decode()}")
            elif (blob := pick(part, "inlineData")) is not None:
                digest = hashlib.sha256(str(pick(blob, "data")).encode()).hexdigest()[:8]
                pieces.append(f"[attached {pick(blob, 'mimeType')} {digest}]")
            elif (ref := pick(part, "fileData")) is not None:
                pieces.append(f"[attached {pick(ref, 'fileUri')}]")
        return " ".join(pieces), has_results
    return "", False


def _signature(model: str, call: dict[str, Any]) -> str:
    digest = hashlib.sha256(model.encode() + orjson.dumps(call, option=orjson.OPT_SORT_KEYS)).digest()
    return base64.b64encode(b"emulated-thought:" + digest).decode()


def _choose_function(
    mode: str, allowed: list[str], declared: list[dict[str, Any]], prompt: str, has_results: bool
) -> dict[str, Any] | None:
    if mode == "NONE" or not declared:
        return None
    candidates = [d for d in declared if not allowed or pick(d, "name") in allowed]
    lowered = prompt.lower()
    mentioned = [
        d
        for d in candidates
        if str(pick(d, "name")).lower() in lowered or str(pick(d, "name")).lower().replace("_", " ") in lowered
    ]
    if mode == "ANY":
        return (mentioned or candidates)[0]
    # AUTO: call a tool the user named, unless the last turn already brought function results back.
    if has_results or not mentioned:
        return None
    return mentioned[0]


def plan(body: dict[str, Any], model: str, file_check: FileCheck) -> Plan:
    validate(body, model, file_check)
    contents = _contents(body)
    config = pick(body, "generationConfig") or {}
    declared = _declarations(body)
    mode, allowed = _calling_config(body, declared)
    prompt, has_results = _last_user_prompt(contents)
    system = " ".join(str(pick(p, "text") or "") for p in pick(pick(body, "systemInstruction"), "parts") or [])
    seed = f"{system}\n{prompt}" if system else prompt

    tokens_in = prompt_tokens(body)
    cached = ((tokens_in - 1) // _CACHE_BLOCK) * _CACHE_BLOCK if tokens_in > _CACHE_BLOCK else 0
    thinking_config = pick(config, "thinkingConfig") or {}
    budget = pick(thinking_config, "thinkingBudget")
    thoughts = 0
    if is_thinking(model) and budget != 0:
        thoughts = 24 + (tokens_in * 7) % 97
        if isinstance(budget, int) and budget > 0:
            thoughts = min(thoughts, budget)
    result = Plan(model=model, prompt_tokens=tokens_in, cached_tokens=cached, thoughts_tokens=thoughts)

    max_tokens = pick(config, "maxOutputTokens")
    stops = pick(config, "stopSequences") or []
    chosen = _choose_function(mode, allowed, declared, prompt, has_results)
    for index in range(int(pick(config, "candidateCount") or 1)):
        parts: list[dict[str, Any]] = []
        if thoughts and pick(thinking_config, "includeThoughts"):
            parts.append({"text": f"**Considering the request**\nThe user asked: {prompt[:80]}", "thought": True})
        if chosen is not None:
            schema = pick(chosen, "parametersJsonSchema") or pick(chosen, "parameters")
            call = {"name": pick(chosen, "name"), "args": arguments_for(schema)}
            part: dict[str, Any] = {"functionCall": call}
            if is_thinking(model):
                part["thoughtSignature"] = _signature(model, call)
            parts.append(part)
            result.candidates.append(Candidate(parts, "STOP", count_tokens(orjson.dumps(call).decode())))
            continue
        text = reply_text(seed if index == 0 else f"{seed}\n#candidate {index}")
        finish = "STOP"
        text, _ = apply_stop_sequences(text, [str(s) for s in stops])
        if isinstance(max_tokens, int) and max_tokens > 0:
            text, cut = truncate_to_tokens(text, max_tokens)
            if cut:
                finish = "MAX_TOKENS"
        parts.append({"text": text})
        result.candidates.append(Candidate(parts, finish, count_tokens(text)))
    return result


def _response(result: Plan, candidates: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": result.model,
        "responseId": result.response_id,
    }


def render(result: Plan) -> dict[str, Any]:
    """The whole GenerateContentResponse."""
    candidates = [
        {"content": {"parts": c.parts, "role": "model"}, "finishReason": c.finish_reason, "index": i}
        for i, c in enumerate(result.candidates)
    ]
    return _response(result, candidates, result.usage())


def generate(body: dict[str, Any], model: str, file_check: FileCheck) -> dict[str, Any]:
    return render(plan(body, model, file_check))


def _pieces(candidate: Candidate) -> list[list[dict[str, Any]]]:
    """A candidate's parts cut into stream chunks: text a few tokens at a time, other parts whole."""
    chunks: list[list[dict[str, Any]]] = []
    for part in candidate.parts:
        text = part.get("text")
        if text is None or part.get("thought"):
            chunks.append([part])
            continue
        tokens = tokenize(text) or [text]
        for start in range(0, len(tokens), _STREAM_TOKENS_PER_CHUNK):
            chunks.append([{"text": "".join(tokens[start : start + _STREAM_TOKENS_PER_CHUNK])}])
    return chunks


def stream(body: dict[str, Any], model: str, file_check: FileCheck) -> list[dict[str, Any]]:
    """The chunks of streamGenerateContent: partial candidates, finishReason and full usage on the last."""
    result = plan(body, model, file_check)
    per_candidate = [_pieces(c) for c in result.candidates]
    steps = max(len(p) for p in per_candidate)
    chunks: list[dict[str, Any]] = []
    produced = 0
    for step in range(steps):
        candidates = []
        for index, pieces in enumerate(per_candidate):
            if step >= len(pieces):
                continue
            entry: dict[str, Any] = {"content": {"parts": pieces[step], "role": "model"}, "index": index}
            produced += sum(count_tokens(p["text"]) for p in pieces[step] if "text" in p and not p.get("thought"))
            if step == len(pieces) - 1:
                entry["finishReason"] = result.candidates[index].finish_reason
            candidates.append(entry)
        last = step == steps - 1
        chunks.append(_response(result, candidates, result.usage() if last else result.usage(produced)))
    return chunks
