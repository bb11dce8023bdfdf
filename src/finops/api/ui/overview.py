"""Overview: spend today, this month and against budgets; spend per day by provider, model or key with the batch
discount and cache savings beside it; requests and tokens; the top keys and models; unpriced usage."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from finops.governance.overview import DIMENSIONS

from .auth import viewer_of
from .charts import activity_chart, spend_chart
from .pages import choice
from .render import page
from .services import console_of

RANGES = ("7", "30", "90")


async def _context(request: Request) -> dict[str, object]:
    viewer = await viewer_of(request)
    by = choice(request.query_params.get("by"), DIMENSIONS, "provider")
    if by == "key" and not viewer.is_admin:
        by = "model"  # a key holder's spend is one key: break it down by something that varies
    days = choice(request.query_params.get("days"), RANGES, "30")
    data = await console_of(request).overview.overview(
        only_key=viewer.only_key, by=by, days=int(days), now=datetime.now(UTC)
    )
    dimensions = [name for name in DIMENSIONS if viewer.is_admin or name != "key"]
    return {
        "o": data,
        "by": by,
        "days": days,
        "ranges": RANGES,
        "dimensions": dimensions,
        "spend_chart": spend_chart(data),
        "activity_chart": activity_chart(data),
    }


async def overview_page(request: Request) -> Response:
    return page(request, "overview.html", await _context(request))


async def overview_fragment(request: Request) -> Response:
    return page(request, "_overview.html", await _context(request))
