"""Deterministic web search for the emulated models' search tools (no network).

**When** a model with a search tool searches: when the latest user turn's own words ask for it (they contain
"search", "web", "internet", "online", "google", "news", "latest", or "look up"); OpenAI's search models
always search, as the real ones do. **What** it finds: three results for the query, on ``example.com``
(or the caller's ``allowed_domains``; ``example.org`` if ``example.com`` is blocked) at paths derived from
the query, with titles and snippets derived from it too. The same query always finds the same pages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from finops.emulators._common.words import meaningful_words, split_identifier

_TRIGGERS = {"search", "searches", "searching", "web", "internet", "online", "google", "news", "latest"}
_LOOK_UP = re.compile(r"\blook\s*up\b", re.IGNORECASE)
_LEAD_IN = re.compile(
    r"^\s*(?:please\s+)?(?:(?:search|google|look\s*up|find)(?:\s+(?:the\s+)?(?:web|internet|online))?"
    r"(?:\s+(?:for|about))?\s*:?\s*)",
    re.IGNORECASE,
)
_RESULTS = 3
_FALLBACK_DOMAINS = ("example.com", "example.org", "example.net")


@dataclass(frozen=True)
class SearchResult:
    url: str
    title: str
    snippet: str
    page_age: str


def wants_web_search(request: str) -> bool:
    """Whether the user's words ask for a web search (see the module docstring)."""
    said = set(split_identifier(request))
    return bool(said & _TRIGGERS) or bool(_LOOK_UP.search(request))


def search_query(request: str) -> str:
    """The query a model would type: the request without its "search the web for" lead-in, at most 12 words."""
    words = _LEAD_IN.sub("", " ".join(request.split())).rstrip("?.! ").split()
    return " ".join(words[:12]) or "news"


def search(
    query: str, *, allowed_domains: Sequence[str] = (), blocked_domains: Sequence[str] = ()
) -> list[SearchResult]:
    """The pages the emulated search engine finds for ``query``."""
    domains = [d for d in allowed_domains if d] or [
        d for d in _FALLBACK_DOMAINS if not any(d.endswith(b) for b in blocked_domains)
    ]
    slug = "-".join(meaningful_words(query)[:6]) or "results"
    digest = hashlib.sha256(query.encode("utf-8")).hexdigest()
    topic = query[:1].upper() + query[1:]
    return [
        SearchResult(
            url=f"https://{domains[n % len(domains)]}/{slug}/{n + 1}",
            title=f"{topic} - result {n + 1}",
            snippet=f"Result {n + 1} for {query!r}: an emulated page about {query} ({digest[n * 6 : n * 6 + 6]}).",
            page_age=f"January {n + 1}, 2025",
        )
        for n in range(_RESULTS)
    ]
