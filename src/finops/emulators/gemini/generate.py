"""generateContent, streamGenerateContent and countTokens as pure functions of the request body.

The same request always produces the same text, function calls and token counts, so tests (and the gateway's
usage ledger) can assert exact numbers. Only ``responseId`` is random, as on the real service. The answer is,
in order:

- a grounded answer when a ``googleSearch`` (or ``googleSearchRetrieval``) tool is offered and the user's words
  ask for a search (``_common.web_search``): ``groundingMetadata`` with ``webSearchQueries``,
  ``groundingChunks`` (the pages) and ``groundingSupports`` (byte ranges of the text each page supports);
  the pages' text is billed as ``toolUsePromptTokenCount``;
- Python run by ``codeExecution`` when it is offered and the user asks to calculate or run code
  (``code_execution.py``): ``executableCode``, ``codeExecutionResult`` and text;
- a function call when the shared tool policy (``_common.tool_policy``) picks one (``AUTO``/``ANY``/``NONE``
  and ``allowedFunctionNames``), with arguments built from its schema and the user's words;
- else text: after function responses an answer quoting them; with ``responseMimeType: application/json``
  JSON valid against ``responseJsonSchema``/``responseSchema`` (``text/x.enum``: one of the enum values);
  otherwise the shared deterministic reply.

Thinking models report ``thoughtsTokenCount`` (the ``_common.thinking`` table for the ``thinkingLevel``, or
``medium`` for a dynamic budget, capped by ``thinkingBudget``) and, with ``includeThoughts``, a ``thought: true``
part first. Implicit caching (Gemini 2.5+): a prompt repeating the prefix of an earlier one (same model, at
least the model's minimum, in 64-token steps) reports it as ``cachedContentTokenCount``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.emulators._common.mentions import find_mentions
from finops.emulators._common.prompt_cache import PrefixCache
from finops.emulators._common.replies import (
    apply_stop_sequences,
    reply_text,
    reply_to_notes,
    reply_to_tool_results,
    truncate_to_tokens,
)
from finops.emulators._common.schema_values import structured_answer, tool_arguments
from finops.emulators._common.thinking import reasoning_tokens, thinking_text
from finops.emulators._common.tokens import count_tokens, tokenize
from finops.emulators._common.tool_policy import ToolSpec, choose_tool
from finops.emulators._common.web_search import SearchResult, search, search_query, wants_web_search
from finops.emulators._common.words import reminders, user_words
from finops.emulators.gemini.catalog import is_thinking, traits
from finops.emulators.gemini.code_execution import execute
from finops.emulators.gemini.validation import (
    FileCheck,
    OutputFormat,
    calling_config,
    contents_of,
    declarations,
    output_format,
    validate,
)
from finops.emulators.gemini.wire import pick

_MEDIA_TOKENS = 258  # Gemini bills an image (and each media attachment here) as 258 tokens.
_CACHE_STEP = 64
_STREAM_TOKENS_PER_CHUNK = 6
_SEARCH_TOOLS = ("googleSearch", "googleSearchRetrieval")


def new_prompt_cache() -> PrefixCache:
    return PrefixCache(minimum=1024, step=_CACHE_STEP, ttl_seconds=600.0)


@dataclass
class Candidate:
    parts: list[dict[str, Any]]
    finish_reason: str
    tokens: int
    grounding: dict[str, Any] | None = None


@dataclass
class Plan:
    """Everything a response needs, computed once and rendered whole or as stream chunks."""

    model: str
    prompt_tokens: int
    cached_tokens: int
    thoughts_tokens: int
    tool_use_prompt_tokens: int = 0
    candidates: list[Candidate] = field(default_factory=list)
    response_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))

    def usage(self, candidates_tokens: int | None = None) -> dict[str, Any]:
        produced = sum(c.tokens for c in self.candidates) if candidates_tokens is None else candidates_tokens
        usage: dict[str, Any] = {
            "promptTokenCount": self.prompt_tokens,
            "candidatesTokenCount": produced,
            "totalTokenCount": self.prompt_tokens + produced + self.thoughts_tokens + self.tool_use_prompt_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": self.prompt_tokens}],
        }
        # Proto3 JSON omits zero counters; Google does too, so absent means 0.
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = self.cached_tokens
            usage["cacheTokensDetails"] = [{"modality": "TEXT", "tokenCount": self.cached_tokens}]
        if self.thoughts_tokens:
            usage["thoughtsTokenCount"] = self.thoughts_tokens
        if self.tool_use_prompt_tokens:
            usage["toolUsePromptTokenCount"] = self.tool_use_prompt_tokens
        return usage


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
    contents_of(request)
    validate(request, model, file_check)
    total = prompt_tokens(request)
    return {"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]}


# ---------------------------------------------------------------- generation


@dataclass(frozen=True)
class _Turn:
    request: str
    """The user's own words since the model last spoke (reminders stripped; attachments as markers)."""
    results: list[tuple[str, str]]
    """``(function name, response JSON)`` for every function response since the model last spoke."""
    context: str
    notes: list[str]
    """The agent's ``<system-reminder>`` notes in those turns."""


def _latest_turn(body: dict[str, Any], contents: list[dict[str, Any]]) -> _Turn:
    pieces: list[str] = []
    results: list[tuple[str, str]] = []
    for content in reversed(contents):
        if pick(content, "role", "user") == "model":
            break
        words: list[str] = []
        for part in pick(content, "parts") or []:
            if pick(part, "text") is not None and not pick(part, "thought"):
                words.append(str(pick(part, "text")))
            elif (response := pick(part, "functionResponse")) is not None:
                results.insert(0, (str(pick(response, "name")), orjson.dumps(pick(response, "response")).decode()))
            elif (blob := pick(part, "inlineData")) is not None:
                digest = hashlib.sha256(str(pick(blob, "data")).encode()).hexdigest()[:8]
                words.append(f"[attached {pick(blob, 'mimeType')} {digest}]")
            elif (ref := pick(part, "fileData")) is not None:
                words.append(f"[attached {pick(ref, 'fileUri')}]")
        pieces.insert(0, " ".join(words))
    system = " ".join(str(pick(p, "text") or "") for p in pick(pick(body, "systemInstruction"), "parts") or [])
    said = " ".join(p for p in pieces if p)
    return _Turn(user_words(said), results, system, reminders(said))


def _signature(model: str, call: dict[str, Any]) -> str:
    digest = hashlib.sha256(model.encode() + orjson.dumps(call, option=orjson.OPT_SORT_KEYS)).digest()
    return base64.b64encode(b"emulated-thought:" + digest).decode()


def _tools(declared: list[dict[str, Any]]) -> list[ToolSpec]:
    return [
        ToolSpec(
            str(pick(d, "name")),
            str(pick(d, "description") or ""),
            pick(d, "parametersJsonSchema") or pick(d, "parameters") or {},
        )
        for d in declared
    ]


def _code_tool(body: dict[str, Any]) -> bool:
    return any(pick(tool, "codeExecution") is not None for tool in pick(body, "tools") or [])


def _search_tool(body: dict[str, Any]) -> bool:
    return any(pick(tool, name) is not None for tool in pick(body, "tools") or [] for name in _SEARCH_TOOLS)


def _thoughts(model: str, config: dict[str, Any], request: str) -> int:
    info = traits(model)
    thinking = pick(config, "thinkingConfig") or {}
    budget, level = pick(thinking, "thinkingBudget"), pick(thinking, "thinkingLevel")
    if not info.thinks or budget == 0:
        return 0
    if budget is None and level is None and not info.thinks_by_default:
        return 0  # Flash-Lite thinks only when given a budget
    if level is not None and level != "THINKING_LEVEL_UNSPECIFIED":
        effort = str(level).lower()
    else:
        effort = "high" if info.thinking_levels else "medium"
    return reasoning_tokens(effort, request, budget=budget if isinstance(budget, int) and budget > 0 else None)


def _prompt_sequence(body: dict[str, Any]) -> list[str]:
    rendered = [orjson.dumps(pick(body, key)).decode() for key in ("systemInstruction", "tools")]
    rendered += [orjson.dumps(content).decode() for content in pick(body, "contents") or []]
    return tokenize("\n".join(rendered))


def plan(body: dict[str, Any], model: str, file_check: FileCheck, cache: PrefixCache | None = None) -> Plan:
    validate(body, model, file_check)
    contents = contents_of(body)
    config = pick(body, "generationConfig") or {}
    declared = declarations(body)
    choice = calling_config(body, declared)
    turn = _latest_turn(body, contents)
    seed = f"{turn.context}\n{turn.request}" if turn.context else turn.request

    tokens_in = prompt_tokens(body)
    cached = 0
    minimum = traits(model).cache_minimum
    if cache is not None and minimum:
        # Never the whole prompt: the tokens after the last cached step are processed anew.
        whole_steps_below = (max(tokens_in - 1, 0) // _CACHE_STEP) * _CACHE_STEP
        cached = min(whole_steps_below, cache.account(model, _prompt_sequence(body), minimum=minimum))
    topic = turn.request or " ".join(text for _, text in turn.results)
    max_tokens = pick(config, "maxOutputTokens")
    limit = max_tokens if isinstance(max_tokens, int) and max_tokens > 0 else None
    # maxOutputTokens bounds thoughts and answer together, as on the real service: a model that thinks its whole
    # allowance away answers with empty text and MAX_TOKENS.
    thoughts = _thoughts(model, config, topic)
    if limit is not None:
        thoughts = min(thoughts, limit)
    result = Plan(model=model, prompt_tokens=tokens_in, cached_tokens=cached, thoughts_tokens=thoughts)

    head: list[dict[str, Any]] = []
    if thoughts and pick(pick(config, "thinkingConfig"), "includeThoughts"):
        plan_note = "I will use the function results." if turn.results else "I will answer directly."
        head = [{"text": thinking_text(topic, thoughts, plan=plan_note), "thought": True}]
    if _search_tool(body) and not turn.results and wants_web_search(turn.request):
        _grounded(result, turn, head, int(pick(config, "candidateCount") or 1))
        return result
    execution = execute(turn.request) if _code_tool(body) and not turn.results else None
    if execution is not None:
        result.tool_use_prompt_tokens = count_tokens(execution.result_text)
        tokens = count_tokens(execution.output_tokens_text)
        for _ in range(int(pick(config, "candidateCount") or 1)):
            result.candidates.append(Candidate([*head, *execution.parts], "STOP", tokens))
        return result
    chosen = choose_tool(_tools(declared), turn.request, choice, answering_tool_result=bool(turn.results))
    fmt = output_format(body)
    stops = [str(s) for s in pick(config, "stopSequences") or []]
    for index in range(int(pick(config, "candidateCount") or 1)):
        parts = list(head)
        if chosen is not None:
            said = find_mentions(turn.request, context=turn.context)
            call = {"name": chosen.name, "args": tool_arguments(chosen.schema, said, tool_name=chosen.name)}
            part: dict[str, Any] = {"functionCall": call}
            if is_thinking(model):
                part["thoughtSignature"] = _signature(model, call)
            parts.append(part)
            result.candidates.append(Candidate(parts, "STOP", count_tokens(orjson.dumps(call).decode())))
            continue
        text = _text(turn, fmt, seed if index == 0 else f"{seed}\n#candidate {index}", stops)
        finish = "STOP"
        if limit is not None:
            text, cut = truncate_to_tokens(text, limit - thoughts)
            if cut:
                finish = "MAX_TOKENS"
        parts.append({"text": text})
        result.candidates.append(Candidate(parts, finish, count_tokens(text)))
    return result


def _text(turn: _Turn, fmt: OutputFormat | None, seed: str, stops: list[str]) -> str:
    if fmt is not None:
        context = find_mentions(" ".join([turn.request, *(text for _, text in turn.results)]))
        if fmt.schema is None:
            return orjson.dumps({"answer": reply_text(seed)}).decode()
        value = structured_answer(fmt.schema, context)
        return str(value) if fmt.mime_type == "text/x.enum" else orjson.dumps(value).decode()
    if turn.results:
        return apply_stop_sequences(reply_to_tool_results(turn.results), stops)[0]
    if not turn.request and turn.notes:
        return apply_stop_sequences(reply_to_notes(turn.notes), stops)[0]
    return apply_stop_sequences(reply_text(seed), stops)[0]


def _grounded(result: Plan, turn: _Turn, head: list[dict[str, Any]], count: int) -> None:
    query = search_query(turn.request)
    pages = search(query)
    text = f"Here is what I found about {query}:"
    supports = []
    for index, page in enumerate(pages):
        sentence = f" {page.snippet}"
        start = len(text.encode("utf-8")) + 1
        text += sentence
        supports.append(_support(index, page, start, len(text.encode("utf-8"))))
    grounding = {
        "webSearchQueries": [query],
        "searchEntryPoint": {"renderedContent": f'<div class="container">Search: {query}</div>'},
        "groundingChunks": [{"web": {"uri": page.url, "title": page.title}} for page in pages],
        "groundingSupports": supports,
    }
    result.tool_use_prompt_tokens = sum(count_tokens(f"{p.title} {p.url} {p.snippet}") for p in pages)
    for _ in range(count):
        result.candidates.append(Candidate([*head, {"text": text}], "STOP", count_tokens(text), grounding))


def _support(index: int, page: SearchResult, start: int, end: int) -> dict[str, Any]:
    return {
        "segment": {"startIndex": start, "endIndex": end, "text": page.snippet},
        "groundingChunkIndices": [index],
        "confidenceScores": [0.9],
    }


def _response(result: Plan, candidates: list[dict[str, Any]], usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidates": candidates,
        "usageMetadata": usage,
        "modelVersion": result.model,
        "responseId": result.response_id,
    }


def render(result: Plan) -> dict[str, Any]:
    """The whole GenerateContentResponse."""
    candidates = []
    for index, candidate in enumerate(result.candidates):
        entry = {"content": {"parts": candidate.parts, "role": "model"}, "finishReason": candidate.finish_reason}
        if candidate.grounding is not None:
            entry["groundingMetadata"] = candidate.grounding
        candidates.append({**entry, "index": index})
    return _response(result, candidates, result.usage())


def generate(
    body: dict[str, Any], model: str, file_check: FileCheck, cache: PrefixCache | None = None
) -> dict[str, Any]:
    return render(plan(body, model, file_check, cache))


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


def stream(
    body: dict[str, Any], model: str, file_check: FileCheck, cache: PrefixCache | None = None
) -> list[dict[str, Any]]:
    """The chunks of streamGenerateContent: partial candidates; finishReason, grounding and usage on the last."""
    result = plan(body, model, file_check, cache)
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
                if result.candidates[index].grounding is not None:
                    entry["groundingMetadata"] = result.candidates[index].grounding
            candidates.append(entry)
        last = step == steps - 1
        chunks.append(_response(result, candidates, result.usage() if last else result.usage(produced)))
    return chunks
