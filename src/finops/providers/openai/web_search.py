"""Anthropic's ``web_search`` server tool on OpenAI's Chat Completions search models, both ways. Pure.

Request: a ``web_search_*`` tool becomes ``web_search_options`` (``user_location`` as OpenAI's approximate
location); the model must be one of OpenAI's search models (``capabilities.is_search_model``), which search on
every request. ``max_uses`` is honoured as it stands: a Chat Completions search model searches once per request.
``allowed_domains`` / ``blocked_domains`` have no Chat Completions equivalent and are refused by name.

Answer: a search model's reply is text whose markdown links carry ``url_citation`` annotations. It becomes what
Anthropic's web search answers with: a ``server_tool_use`` block (``input`` is empty: OpenAI does not say what it
searched for), a ``web_search_tool_result`` block listing each cited page once (``encrypted_content`` is empty:
there is no Anthropic-encrypted copy), then the text cut into blocks, each piece that ends in a citation carrying
it as a ``web_search_result_location`` (``cited_text`` is the answer's own words before the link, the only text
OpenAI ties to the source). ``usage.server_tool_use.web_search_requests`` is 1: one search per request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from finops.core.errors import InvalidRequestError
from finops.core.ids import new_tool_use_id
from finops.core.types import JSON
from finops.providers.openai.capabilities import is_search_model

WEB_SEARCH_TOOL_PREFIX = "web_search_"
_CLAIM_LEAD = ".,;:!?)"
_CITED_TEXT_LIMIT = 150  # Anthropic's cited_text never exceeds 150 characters
_LOCATION_FIELDS = ("city", "region", "country", "timezone")
_UNSUPPORTED_FIELDS = {
    "allowed_domains": "Chat Completions web search has no domain filter",
    "blocked_domains": "Chat Completions web search has no domain filter",
}


def is_web_search_tool(tool: Mapping[str, Any]) -> bool:
    kind = tool.get("type")
    return isinstance(kind, str) and kind.startswith(WEB_SEARCH_TOOL_PREFIX)


def web_search_options(tool: Mapping[str, Any], where: str, model: str) -> JSON:
    """``web_search_options`` for a ``web_search_*`` tool at ``where`` (``tools.2``); a 400 where OpenAI cannot."""
    if not is_search_model(model):
        raise InvalidRequestError(
            f"{where}: tool type '{tool.get('type')}' is not supported by provider 'openai' (model {model}): only "
            "OpenAI's search models search the web in Chat Completions; use gpt-4o-search-preview, "
            "gpt-4o-mini-search-preview or gpt-5-search-api as the model"
        )
    for field, why in _UNSUPPORTED_FIELDS.items():
        if tool.get(field):
            raise InvalidRequestError(f"{where}.{field}: not supported by provider 'openai' (model {model}); {why}")
    callers = tool.get("allowed_callers")
    if isinstance(callers, list) and any(caller != "direct" for caller in callers):
        raise InvalidRequestError(
            f"{where}.allowed_callers: not supported by provider 'openai' (model {model}); calls from Anthropic's "
            "code execution need Anthropic"
        )
    options: JSON = {}
    location = tool.get("user_location")
    if isinstance(location, dict):
        approximate = {name: location[name] for name in _LOCATION_FIELDS if location.get(name)}
        options["user_location"] = {"type": "approximate", "approximate": approximate}
    return options


def new_server_tool_use_id() -> str:
    return f"srv{new_tool_use_id()}"  # srvtoolu_…, Anthropic's prefix for server tool calls


def search_blocks(text: str, annotations: Sequence[Mapping[str, Any]], *, tool_use_id: str) -> list[JSON]:
    """A search model's answer as Anthropic's web search content blocks (see the module docstring)."""
    citations = sorted(_citations(annotations, len(text)), key=lambda citation: citation[1])
    results: dict[str, JSON] = {}
    for _, _, url, title in citations:
        results.setdefault(
            url,
            # Anthropic's result title is never null; OpenAI's may be missing, so the URL stands in for it.
            {"type": "web_search_result", "url": url, "title": title or url, "encrypted_content": "", "page_age": None},
        )
    blocks: list[JSON] = [
        {"type": "server_tool_use", "id": tool_use_id, "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": tool_use_id, "content": list(results.values())},
    ]
    start = 0
    index = 0
    while index < len(citations):
        end = citations[index][1]
        group = [citation for citation in citations[index:] if citation[1] == end]
        index += len(group)
        if end <= start:
            continue  # a second annotation on text already cut off: its source is listed above
        # The words before the link, without the punctuation that closed the previous cited sentence.
        claim = text[start : min(citation[0] for citation in group)].strip().lstrip(_CLAIM_LEAD).strip()
        claim = claim or text[start:end].strip()
        blocks.append(
            {
                "type": "text",
                "text": text[start:end],
                "citations": [
                    {
                        "type": "web_search_result_location",
                        "url": url,
                        "title": title,
                        "cited_text": claim[:_CITED_TEXT_LIMIT],
                        "encrypted_index": "",
                    }
                    for _, _, url, title in group
                ],
            }
        )
        start = end
    if start < len(text):
        blocks.append({"type": "text", "text": text[start:], "citations": None})
    return blocks


def _citations(annotations: Sequence[Mapping[str, Any]], length: int) -> list[tuple[int, int, str, str | None]]:
    """(start, end, url, title) of each ``url_citation`` that lies within the text."""
    found = []
    for annotation in annotations:
        citation = annotation.get("url_citation") if annotation.get("type") == "url_citation" else None
        if not isinstance(citation, dict) or not isinstance(citation.get("url"), str):
            continue
        start, end = citation.get("start_index"), citation.get("end_index")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= length:
            continue
        title = citation.get("title")
        found.append((start, end, citation["url"], title if isinstance(title, str) else None))
    return found
