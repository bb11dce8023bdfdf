"""The emulated Claude: what it answers to a validated Messages request, with no HTTP involved.

``/v1/messages``, streaming and batch results all go through :func:`plan_reply`, so a batch result and a direct
call with the same params give the same content and the same usage. In order, the reply is:

- a web search (``server_tool_use`` + ``web_search_tool_result`` + cited text) when a ``web_search_*`` server
  tool is offered and the user's words ask for one (``_common.web_search``); the results are billed as input
  and counted in ``usage.server_tool_use.web_search_requests``;
- else a ``tool_use`` block when the tool policy (``_common.tool_policy``) picks a tool, with an input built
  from its schema and the user's words;
- else text: after tool results, an answer quoting them; with ``output_config.format``, JSON valid against
  the schema; otherwise the deterministic ``_common.replies`` text;
- preceded by a ``thinking`` block (with a signature) when ``thinking`` is ``enabled`` or ``adaptive``, as long
  as the effort table of ``_common.thinking`` says (``budget_tokens`` caps it; ``display: "omitted"`` empties
  the text but keeps the signature). Thinking tokens count as output and against ``max_tokens``.

Cache usage comes from the emulator's :class:`BreakpointCache` (``cache_control`` blocks and the top-level
``cache_control``): the first request with a prefix writes it, a repeat reads it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import orjson

from finops.emulators._common.mentions import find_mentions
from finops.emulators._common.prompt_cache import BreakpointCache, CacheUsage
from finops.emulators._common.replies import (
    apply_stop_sequences,
    reply_text,
    reply_to_notes,
    reply_to_tool_results,
    truncate_to_tokens,
)
from finops.emulators._common.schema_values import structured_answer, tool_arguments
from finops.emulators._common.thinking import reasoning_tokens, signature, thinking_text
from finops.emulators._common.tokens import count_tokens
from finops.emulators._common.tool_policy import ToolChoice, ToolSpec, choose_tool
from finops.emulators._common.web_search import search, search_query, wants_web_search
from finops.emulators.anthropic.conversation import LatestTurn, input_tokens, latest_turn, pieces, system_text


@dataclass(frozen=True)
class Reply:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    cache: CacheUsage
    output_tokens: int
    thinking_tokens: int = 0
    web_search_requests: int = 0

    @property
    def input_tokens(self) -> int:
        """Input tokens that were neither read from nor written to the cache (Anthropic's ``input_tokens``)."""
        return self.cache.uncached


def plan_reply(params: dict[str, Any], *, tool_use_id: str, cache: BreakpointCache | None = None) -> Reply:
    """The deterministic answer to validated ``params``; ``tool_use_id`` names a tool call if one is made."""
    usage = cache.account(params["model"], pieces(params)) if cache else CacheUsage(uncached=input_tokens(params))
    turn = latest_turn(params)
    thinking = _thinking_block(params, turn)
    thought = count_tokens(thinking["thinking"]) if thinking else 0
    head = [thinking] if thinking else []

    search_tool = _web_search_tool(params)
    # tool_choice "any" with only the search tool offered must search, whatever the words.
    forced = _tool_choice(params).mode == "any" and not _custom_tools(params)
    if search_tool is not None and not turn.tool_results and (forced or wants_web_search(turn.request)):
        return _web_search_reply(params, turn, search_tool, head, usage, thought, tool_use_id)

    tool = choose_tool(
        _custom_tools(params), turn.request, _tool_choice(params), answering_tool_result=bool(turn.tool_results)
    )
    if tool is not None:
        said = find_mentions(turn.request, context=system_text(params))
        tool_input = tool_arguments(tool.schema, said, tool_name=tool.name)
        block = {
            "type": "tool_use",
            "id": tool_use_id,
            "name": tool.name,
            "input": tool_input,
            "caller": {"type": "direct"},
        }
        if _between_tools(params):
            note = f"Calling {tool.name} for this request."
            head = [{"type": "thinking", "thinking": note, "signature": signature(params["model"], note)}]
            thought = count_tokens(note)
        output = thought + count_tokens(f"{tool.name} {orjson.dumps(tool_input).decode()}")
        return Reply([*head, block], "tool_use", None, usage, output, thought)

    text, stop_reason, stop_sequence = _text(params, turn, budget=int(params["max_tokens"]) - thought)
    # The real API sends no block at all rather than an empty one (max_tokens 0, stop sequence at the start).
    content = [*head, {"type": "text", "text": text, "citations": None}] if text else head
    return Reply(content, stop_reason, stop_sequence, usage, thought + count_tokens(text), thought)


def _text(params: dict[str, Any], turn: LatestTurn, *, budget: int) -> tuple[str, str, str | None]:
    schema = _output_schema(params)
    if schema is not None:
        context = "\n".join([turn.request, *(text for _, text in turn.tool_results)])
        answer = orjson.dumps(structured_answer(schema, find_mentions(context))).decode()
        text, sequence = answer, None  # stop sequences do not cut a constrained answer
    elif turn.tool_results:
        text, sequence = apply_stop_sequences(reply_to_tool_results(turn.tool_results), params.get("stop_sequences"))
    elif not turn.request and turn.notes:
        text, sequence = apply_stop_sequences(reply_to_notes(turn.notes), params.get("stop_sequences"))
    else:
        text, sequence = apply_stop_sequences(reply_text(turn.request), params.get("stop_sequences"))
    text, cut = truncate_to_tokens(text, max(0, budget))
    if cut:
        return text, "max_tokens", None
    return text, ("stop_sequence" if sequence is not None else "end_turn"), sequence


def _output_schema(params: dict[str, Any]) -> dict[str, Any] | None:
    spec = (params.get("output_config") or {}).get("format") or params.get("output_format")
    return spec["schema"] if isinstance(spec, dict) else None


def _custom_tools(params: dict[str, Any]) -> list[ToolSpec]:
    return [
        ToolSpec(str(t["name"]), str(t.get("description") or ""), t["input_schema"])
        for t in params.get("tools") or []
        if isinstance(t.get("input_schema"), dict)
    ]


def _tool_choice(params: dict[str, Any]) -> ToolChoice:
    choice = params.get("tool_choice") or {"type": "auto"}
    return ToolChoice(mode=choice["type"], name=choice.get("name"))


def _web_search_tool(params: dict[str, Any]) -> dict[str, Any] | None:
    if (params.get("tool_choice") or {}).get("type") in ("none", "tool"):
        return None
    tools: list[dict[str, Any]] = params.get("tools") or []
    return next((t for t in tools if str(t.get("type", "")).startswith("web_search_") and t.get("max_uses") != 0), None)


def _between_tools(params: dict[str, Any]) -> bool:
    return (params.get("thinking") or {}).get("type") == "between_tools"


def _thinking_block(params: dict[str, Any], turn: LatestTurn) -> dict[str, Any] | None:
    config = params.get("thinking") or {}
    if config.get("type") not in ("enabled", "adaptive"):
        return None
    effort = (params.get("output_config") or {}).get("effort") or "high"
    request = turn.request or " ".join(text for _, text in turn.tool_results)
    # Thinking counts against max_tokens (and a cache pre-warm, max_tokens 0, thinks not at all).
    budget = min(config.get("budget_tokens") or params["max_tokens"], params["max_tokens"])
    tokens = reasoning_tokens(effort, request, budget=budget)
    if tokens == 0:
        return None
    plan = "I will use the tool results to answer." if turn.tool_results else "I will answer directly and briefly."
    text = thinking_text(request, tokens, plan=plan)
    shown = "" if config.get("display") == "omitted" else text
    return {"type": "thinking", "thinking": shown, "signature": signature(params["model"], text)}


def _web_search_reply(
    params: dict[str, Any],
    turn: LatestTurn,
    tool: dict[str, Any],
    head: list[dict[str, Any]],
    usage: CacheUsage,
    thought: int,
    tool_use_id: str,
) -> Reply:
    query = search_query(turn.request)
    found = search(
        query, allowed_domains=tool.get("allowed_domains") or (), blocked_domains=tool.get("blocked_domains") or ()
    )
    search_id = "srvtoolu_" + tool_use_id.split("_", 1)[-1]
    results = [
        {
            "type": "web_search_result",
            "url": page.url,
            "title": page.title,
            "encrypted_content": _opaque(page.url, page.snippet),
            "page_age": page.page_age,
        }
        for page in found
    ]
    content: list[dict[str, Any]] = [
        *head,
        {
            "type": "server_tool_use",
            "id": search_id,
            "name": "web_search",
            "input": {"query": query},
            "caller": {"type": "direct"},
        },
        {"type": "web_search_tool_result", "tool_use_id": search_id, "content": results, "caller": {"type": "direct"}},
        {"type": "text", "text": f"Here is what I found about {query}:", "citations": None},
    ]
    for page in found:
        citation = {
            "type": "web_search_result_location",
            "url": page.url,
            "title": page.title,
            "encrypted_index": _opaque(page.url, "index"),
            "cited_text": page.snippet,
        }
        content.append({"type": "text", "text": f" {page.snippet}", "citations": [citation]})
    written = sum(count_tokens(block["text"]) for block in content if block["type"] == "text")
    output = thought + count_tokens(query) + written
    # The results become part of the context: billed as (uncached) input, as on the real API.
    read = sum(count_tokens(f"{page.title} {page.url} {page.snippet}") for page in found)
    return Reply(content, "end_turn", None, replace(usage, uncached=usage.uncached + read), output, thought, 1)


def _opaque(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()
