"""Chart specifications the page hands to ``static/app.js`` in a ``data-chart`` attribute: the numbers to draw and,
beside each, its label as the server formats it (tooltips show those, so numbers read the same everywhere)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from finops.governance.overview import Overview

from .render import compact, count, usd

BATCH_DISCOUNT = "batch discount"
CACHE_SAVINGS = "cache savings"


def _money(values: list[Decimal]) -> dict[str, Any]:
    return {"data": [float(value) for value in values], "formatted": [usd(value) for value in values]}


def spend_chart(overview: Overview) -> str:
    """Stacked daily spend per provider, model or key; beside it a second stack with what was saved."""
    datasets = [{"label": series.label, "stack": "spend", **_money(series.values)} for series in overview.spend]
    datasets.append({"label": BATCH_DISCOUNT, "stack": "saved", "saving": True, **_money(overview.batch_discount)})
    datasets.append({"label": CACHE_SAVINGS, "stack": "saved", "saving": True, **_money(overview.cache_savings)})
    spec = {
        "type": "bar",
        "labels": [day.isoformat() for day in overview.days],
        "datasets": datasets,
        "axis": "usd",
    }
    return orjson.dumps(spec).decode()


def activity_chart(overview: Overview) -> str:
    """Requests and tokens per day, on two axes."""
    spec = {
        "type": "line",
        "labels": [day.isoformat() for day in overview.days],
        "datasets": [
            {
                "label": "requests",
                "data": overview.requests,
                "formatted": [count(value) for value in overview.requests],
                "axis": "y",
            },
            {
                "label": "tokens",
                "data": overview.tokens,
                "formatted": [f"{compact(value)} ({count(value)})" for value in overview.tokens],
                "axis": "tokens",
            },
        ],
        "axis": "count",
    }
    return orjson.dumps(spec).decode()
