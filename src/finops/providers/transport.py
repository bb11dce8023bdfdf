"""The upstream client class every adapter uses: ``httpx.AsyncClient`` with a cache for relative URL merges.
Its transport (``finops.providers.pool``) is set by ``finops.providers.http.build_client``."""

from __future__ import annotations

from typing import Any

import httpx


class UpstreamClient(httpx.AsyncClient):
    """Remembers how relative paths resolve against ``base_url``: that merge (parse, quote, copy) is half of
    ``build_request``'s cost, and an adapter sends a handful of fixed paths. Paths carrying ids only churn the
    small table, which is emptied when full."""

    _MERGED_MAX = 64

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._merged: dict[str, httpx.URL] = {}

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        if type(url) is not str:
            return super()._merge_url(url)
        merged = self._merged.get(url)
        if merged is None:
            merged = super()._merge_url(url)
            if len(self._merged) >= self._MERGED_MAX:
                self._merged.clear()
            self._merged[url] = merged
        return merged
