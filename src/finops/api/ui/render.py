"""Templates (Jinja2, autoescaped) and the number formats every page uses: all formatting happens here, on the
server, so a page reads the same with or without JavaScript."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"
NONE = "\N{EN DASH}"  # an empty cell


def usd(amount: Decimal | float | int | None) -> str:
    """``$1,234.56``; amounts under a cent keep enough digits to tell them from zero."""
    if amount is None:
        return "unpriced"
    value = Decimal(str(amount))
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value == 0:
        return "$0.00"
    if value >= Decimal("0.01"):
        return f"{sign}${value:,.2f}" if value >= 1 else f"{sign}${value:.4f}"
    return f"{sign}${value:.6f}" if value >= Decimal("0.000001") else f"{sign}<$0.000001"


def count(value: int | None) -> str:
    return NONE if value is None else f"{value:,}"


def compact(value: int | float) -> str:
    """``1.2M`` style, for tiles and chart axes."""
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}"
    return f"{number:.0f}"


def size(value: int) -> str:
    number = float(value)
    for unit in ("B", "KB", "MB", "GB"):
        if number < 1024 or unit == "GB":
            return f"{number:.0f} {unit}" if unit == "B" else f"{number:.1f} {unit}"
        number /= 1024
    return f"{number:.1f} TB"


def when(value: datetime | date | None) -> str:
    if value is None:
        return NONE
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return value.isoformat()


def percent(share: float | None) -> str:
    return NONE if share is None else f"{share * 100:.0f} %"


def duration(milliseconds: int | None) -> str:
    if milliseconds is None:
        return NONE
    return f"{milliseconds} ms" if milliseconds < 1000 else f"{milliseconds / 1000:.1f} s"


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template is HTML
        undefined=jinja2.StrictUndefined,  # a missing value is a bug, not an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        usd=usd, count=count, compact=compact, size=size, when=when, percent=percent, duration=duration
    )
    return environment


ENVIRONMENT = _environment()


def page(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """Render ``template`` with the signed-in viewer (if any) and the request's base paths."""
    body = ENVIRONMENT.get_template(template).render(
        request=request,
        ui=str(request.scope.get("root_path", "")).rstrip("/"),
        viewer=request.scope.get("state", {}).get("viewer"),
        **context,
    )
    return HTMLResponse(body, status_code=status_code)
