"""Helpers every console page shares: reading query parameters, naming owners, and turning errors into pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from finops.core.errors import GatewayError
from finops.governance.keys import owner_of
from finops.store.keys import VirtualKeyRecord

from .auth import Forbidden, SignInRequired
from .render import page

logger = logging.getLogger("finops.api.ui")
T = TypeVar("T", bound=str)
Handler = Callable[[Request], Awaitable[Response]]


def choice(value: str | None, allowed: Sequence[T], default: T) -> T:
    return next((option for option in allowed if option == value), default)


def cursor(request: Request, name: str = "before") -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def is_fragment(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" or "/fragments/" in request.url.path


def owner_names(keys: Sequence[VirtualKeyRecord]) -> dict[str, str]:
    """Owner -> a readable name: a key's name, or for open mode (no virtual key) a short form of its hash."""
    return {owner_of(key.id): key.name for key in keys}


def owner_label(owner: str, names: dict[str, str]) -> str:
    if owner in names:
        return names[owner]
    kind, _, rest = owner.partition(":")
    return f"open mode ({rest[:8]}\N{HORIZONTAL ELLIPSIS})" if kind == "anon" else owner


def html_errors(handler: Handler) -> Handler:
    """Console errors as pages (or, for htmx fragments, as a redirect htmx follows), never as JSON."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except SignInRequired:
            login = f"{root(request)}/login"
            if is_fragment(request):
                return Response(status_code=401, headers={"hx-redirect": login})
            return RedirectResponse(login, status_code=303)
        except Forbidden as exc:
            return page(request, "error.html", {"status": 403, "message": str(exc)}, 403)
        except GatewayError as exc:
            return page(request, "error.html", {"status": exc.status_code, "message": exc.message}, exc.status_code)
        except Exception:
            logger.exception("console page %s failed", request.url.path)
            message = "Something went wrong on the gateway; the error is in its log."
            return page(request, "error.html", {"status": 500, "message": message}, 500)

    return wrapped
