"""Converse answers -> Anthropic Messages (pure): content blocks, citations, stop reasons, usage.

``AnswerShape`` (from the request's ``ConversePlan``) says what the translation of the request changed: a forced
answer tool whose call is really the answer's JSON text, and thinking the caller asked to see ``omitted``.
"""

from __future__ import annotations

from typing import Any

import orjson

from finops.core.ids import new_message_id
from finops.core.types import JSON
from finops.providers.bedrock.translate import AnswerShape

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


def answer_stop_reason(stop_reason: str | None, content: list[JSON], shape: AnswerShape) -> str:
    """The stop reason of a finished answer: a turn that stopped for a tool but whose only tool call was the
    answer tool ended with its answer (``end_turn``)."""
    mapped = map_stop_reason(stop_reason) or "end_turn"
    if shape.json_tool is not None and mapped == "tool_use" and not any(b["type"] == "tool_use" for b in content):
        return "end_turn"
    return mapped


def from_converse_usage(usage: JSON | None) -> JSON:
    """Anthropic usage from Converse ``TokenUsage``. Bedrock's ``inputTokens`` already excludes cached tokens
    (``totalTokens`` = input + output + cache read + cache write), which is Anthropic's convention too. The cache
    writes' TTL split (``cacheDetails``) becomes ``cache_creation``, so 1-hour writes are priced as such."""
    usage = usage or {}
    result: JSON = {
        "input_tokens": int(usage.get("inputTokens") or 0),
        "output_tokens": int(usage.get("outputTokens") or 0),
        "cache_creation_input_tokens": int(usage.get("cacheWriteInputTokens") or 0),
        "cache_read_input_tokens": int(usage.get("cacheReadInputTokens") or 0),
    }
    details = usage.get("cacheDetails")
    if details:
        by_ttl = {"5m": 0, "1h": 0}
        for detail in details:
            by_ttl[str(detail.get("ttl"))] = by_ttl.get(str(detail.get("ttl")), 0) + int(detail.get("inputTokens") or 0)
        result["cache_creation"] = {
            "ephemeral_5m_input_tokens": by_ttl["5m"],
            "ephemeral_1h_input_tokens": by_ttl["1h"],
        }
    return result


def from_converse_response(
    resp: JSON, *, model: str, message_id: str | None = None, shape: AnswerShape | None = None
) -> JSON:
    """An Anthropic Message from a Converse answer."""
    shape = shape or AnswerShape()
    output_message = (resp.get("output") or {}).get("message") or {}
    items: list[JSON] = output_message.get("content") or []
    if shape.json_tool is not None and any(_is_answer_tool(item, shape) for item in items):
        # With structured output the answer is the schema's JSON and nothing else (as Anthropic's is): words the
        # model put around its answer tool call ("Here is the answer:") are left out.
        items = [item for item in items if "text" not in item]
    content = [block for item in items for block in from_converse_block(item, shape)]
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": answer_stop_reason(resp.get("stopReason"), content, shape),
        # Converse does not say which stop sequence matched (Claude's additional response fields may).
        "stop_sequence": (resp.get("additionalModelResponseFields") or {}).get("stop_sequence"),
        "usage": from_converse_usage(resp.get("usage")),
    }


def from_converse_block(block: JSON, shape: AnswerShape) -> list[JSON]:
    """The Anthropic blocks for one Converse output block (a cited passage may be several text blocks)."""
    if "text" in block:
        return [{"type": "text", "text": block["text"]}]
    if "toolUse" in block:
        tool_use = block["toolUse"]
        if shape.json_tool is not None and tool_use["name"] == shape.json_tool:
            return [{"type": "text", "text": orjson.dumps(tool_use.get("input") or {}).decode()}]
        return [{"type": "tool_use", "id": tool_use["toolUseId"], "name": tool_use["name"], "input": tool_use["input"]}]
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "reasoningText" in reasoning:
            text = reasoning["reasoningText"]
            thinking = "" if shape.hide_thinking else text.get("text", "")
            return [{"type": "thinking", "thinking": thinking, "signature": text.get("signature", "")}]
        if "redactedContent" in reasoning:
            return [{"type": "redacted_thinking", "data": reasoning["redactedContent"]}]
    if "citationsContent" in block:
        return cited_texts(block["citationsContent"])
    # Other output blocks (images, guard content...) have no Anthropic form the SDK would accept.
    return []


def cited_texts(cited: JSON) -> list[JSON]:
    """Converse ``citationsContent`` -> text blocks carrying Anthropic citations (one block per generated part,
    each citing what Converse says it rests on)."""
    citations = [citation for citation in (from_converse_citation(c) for c in cited.get("citations") or []) if citation]
    texts = [part.get("text", "") for part in cited.get("content") or []]
    text = "".join(texts)
    block: JSON = {"type": "text", "text": text}
    if citations:
        block["citations"] = citations
    return [block]


def from_converse_citation(citation: JSON) -> JSON | None:
    """One Converse ``Citation`` as an Anthropic citation (``char_location``, ``page_location``,
    ``content_block_location`` or ``search_result_location``); ``None`` for a location Anthropic has no form for."""
    location: JSON = citation.get("location") or {}
    cited_text = "".join(part.get("text", "") for part in citation.get("sourceContent") or [])
    title = citation.get("title")
    if "documentChar" in location:
        spot = location["documentChar"]
        return {
            "type": "char_location",
            "cited_text": cited_text,
            "document_index": _int(spot.get("documentIndex")),
            "document_title": title,
            "start_char_index": _int(spot.get("start")),
            "end_char_index": _int(spot.get("end")),
        }
    if "documentPage" in location:
        spot = location["documentPage"]
        return {
            "type": "page_location",
            "cited_text": cited_text,
            "document_index": _int(spot.get("documentIndex")),
            "document_title": title,
            "start_page_number": _int(spot.get("start")),
            "end_page_number": _int(spot.get("end")),
        }
    if "documentChunk" in location:
        spot = location["documentChunk"]
        return {
            "type": "content_block_location",
            "cited_text": cited_text,
            "document_index": _int(spot.get("documentIndex")),
            "document_title": title,
            "start_block_index": _int(spot.get("start")),
            "end_block_index": _int(spot.get("end")),
        }
    if "searchResultLocation" in location:
        spot = location["searchResultLocation"]
        return {
            "type": "search_result_location",
            "cited_text": cited_text,
            "search_result_index": _int(spot.get("searchResultIndex")),
            "source": citation.get("source") or "",
            "title": title,
            "start_block_index": _int(spot.get("start")),
            "end_block_index": _int(spot.get("end")),
        }
    return None


def _is_answer_tool(item: JSON, shape: AnswerShape) -> bool:
    return "toolUse" in item and item["toolUse"].get("name") == shape.json_tool


def _int(value: Any) -> int:
    return int(value or 0)
