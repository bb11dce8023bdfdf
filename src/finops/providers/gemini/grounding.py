"""Google Search grounding (a candidate's ``groundingMetadata``) -> Anthropic's web search blocks and citations.

* Each query Gemini ran (``webSearchQueries``) is a ``server_tool_use`` ``web_search`` with that query and a
  ``web_search_tool_result``. Gemini does not say which query found which page, so every page it used
  (``groundingChunks``) is listed under the first query; the others list none. ``usage.server_tool_use``
  counts the queries (Gemini 3 bills grounding per query).
* The answer's text is split where its citations change. ``groundingSupports`` name a byte range of the answer
  (``segment``) and the pages behind it: each page becomes a ``web_search_result_location`` citation whose
  ``cited_text`` is the supported sentence (Gemini gives no excerpt of the page itself).
* Gemini sends no page content to re-send in a later turn, so ``encrypted_content`` and ``encrypted_index`` are
  opaque markers made from the page's URL; a later turn's search blocks are not sent back to Gemini anyway
  (``contents.py``).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.core.types import JSON
from finops.providers.sse import block_delta, block_start, block_stop

Event = tuple[str, JSON]


@dataclass
class Grounded:
    events: list[Event] = field(default_factory=list)
    """The ``server_tool_use`` / ``web_search_tool_result`` pairs, numbered from the index given."""
    block_count: int = 0
    requests: int = 0
    text_blocks: list[tuple[str, list[JSON]]] = field(default_factory=list)
    """The answer as (text, citations) pieces, in order."""


def _opaque(url: str) -> str:
    return base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def _pages(grounding: JSON) -> list[JSON]:
    pages = []
    for chunk in grounding.get("groundingChunks") or []:
        web = chunk.get("web") if isinstance(chunk, dict) else None
        pages.append(web if isinstance(web, dict) else {})
    return pages


def grounded_events(
    grounding: JSON | None, answer: str, first_index: int, new_id: Callable[[], str]
) -> Grounded | None:
    """The search blocks and the cited answer for ``grounding``; ``None`` when Gemini did not search."""
    if not isinstance(grounding, dict):
        return None
    queries = [str(query) for query in grounding.get("webSearchQueries") or []]
    pages = _pages(grounding)
    if not queries and not pages:
        return None
    found = Grounded(requests=max(len(queries), 1))
    results = [
        {
            "type": "web_search_result",
            "url": str(page.get("uri") or ""),
            "title": str(page.get("title") or page.get("domain") or ""),
            "encrypted_content": _opaque(str(page.get("uri") or "")),
            "page_age": None,
        }
        for page in pages
    ]
    for position, query in enumerate(queries or [""]):
        search_id = new_id()
        index = first_index + found.block_count
        found.events += [
            block_start(index, {"type": "server_tool_use", "id": search_id, "name": "web_search", "input": {}}),
            block_delta(index, {"type": "input_json_delta", "partial_json": orjson.dumps({"query": query}).decode()}),
            block_stop(index),
        ]
        listed = results if position == 0 else []
        result = {"type": "web_search_tool_result", "tool_use_id": search_id, "content": listed}
        found.events += [block_start(index + 1, result), block_stop(index + 1)]
        found.block_count += 2
    found.text_blocks = cited_pieces(answer, grounding.get("groundingSupports") or [], pages)
    return found


def cited_pieces(answer: str, supports: list[Any], pages: list[JSON]) -> list[tuple[str, list[JSON]]]:
    """``answer`` cut at every support's start and end (byte offsets into its UTF-8), each piece with the
    citations of the supports covering it; empty pieces are left out."""
    data = answer.encode()
    spans: list[tuple[int, int, list[JSON]]] = []
    for support in supports:
        if not isinstance(support, dict):
            continue
        segment = support.get("segment") or {}
        start = _offset(segment.get("startIndex"), 0, len(data))
        end = _offset(segment.get("endIndex"), len(data), len(data))
        citations = _citations(support, pages, str(segment.get("text") or data[start:end].decode(errors="ignore")))
        if start < end and citations:
            spans.append((start, end, citations))
    cuts = sorted({0, len(data), *(start for start, _, _ in spans), *(end for _, end, _ in spans)})
    pieces: list[tuple[str, list[JSON]]] = []
    for start, end in itertools.pairwise(cuts):
        text = data[start:end].decode(errors="ignore")
        if not text:
            continue
        covering: list[JSON] = []
        for span_start, span_end, span_citations in spans:
            if span_start <= start and end <= span_end:
                covering += [c for c in span_citations if c not in covering]
        if pieces and not covering and not pieces[-1][1]:
            pieces[-1] = (pieces[-1][0] + text, [])
        else:
            pieces.append((text, covering))
    return pieces


def _offset(value: Any, default: int, limit: int) -> int:
    try:
        offset = int(value) if value is not None else default
    except (TypeError, ValueError):
        offset = default
    return min(max(offset, 0), limit)


def _citations(support: JSON, pages: list[JSON], cited_text: str) -> list[JSON]:
    citations = []
    for index in support.get("groundingChunkIndices") or []:
        if not isinstance(index, int) or not 0 <= index < len(pages):
            continue
        url = str(pages[index].get("uri") or "")
        citation = {
            "type": "web_search_result_location",
            "url": url,
            "title": pages[index].get("title"),
            "cited_text": cited_text,
            "encrypted_index": _opaque(url),
        }
        if citation not in citations:
            citations.append(citation)
    return citations
