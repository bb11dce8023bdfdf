"""Requests: the newest ledger rows, filterable by provider, model, key (admin) and unpriced, paged with a
keyset cursor (the sequence number of the last row shown), so page 1,000 costs what page 1 does."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from finops.core.providers import PROVIDER_NAMES
from finops.store.reports import RequestFilter

from .auth import viewer_of
from .pages import cursor
from .render import page
from .services import console_of

PAGE_SIZE = 50


async def _listing(request: Request) -> dict[str, object]:
    viewer = await viewer_of(request)
    console = console_of(request)
    query = request.query_params
    provider = query.get("provider") if query.get("provider") in PROVIDER_NAMES else None
    model = (query.get("model") or "").strip()[:255] or None
    key_id = (query.get("key") or "").strip()[:64] or None if viewer.is_admin else None
    unpriced = query.get("unpriced") == "1"
    where = RequestFilter(provider=provider, model=model, key_id=key_id, unpriced=unpriced)
    rows, older = await console.overview.recent_requests(
        only_key=viewer.only_key, where=where, before_seq=cursor(request), limit=PAGE_SIZE
    )
    filters = {
        "provider": provider or "",
        "model": model or "",
        "key": key_id or "",
        "unpriced": "1" if unpriced else "",
    }
    kept = {name: value for name, value in filters.items() if value}
    return {
        "rows": rows,
        "older": older,
        "filters": filters,
        "older_query": urlencode({**kept, "before": older}) if older else "",
        "providers": PROVIDER_NAMES,
    }


async def requests_page(request: Request) -> Response:
    context = await _listing(request)
    viewer = await viewer_of(request)
    console = console_of(request)
    context["models"] = await console.reports.models(only_key=viewer.only_key)
    context["keys"] = await console.governance.admin.list() if viewer.is_admin else []
    return page(request, "requests.html", context)


async def requests_fragment(request: Request) -> Response:
    return page(request, "_request_rows.html", await _listing(request))
