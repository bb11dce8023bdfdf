"""The console's routes, mounted at ``/ui`` by ``finops.app`` when ``console.enabled`` is set."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from . import batches, files, keys, overview, requests
from .auth import login, login_form, logout, viewer_of
from .pages import html_errors, root
from .render import page
from .security import SecurityHeaders

STATIC = Path(__file__).parent / "static"


async def home(request: Request) -> Response:
    await viewer_of(request)
    return RedirectResponse(f"{root(request)}/overview", status_code=303)


async def not_found(request: Request) -> Response:
    return page(request, "error.html", {"status": 404, "message": "There is no such page."}, 404)


def _page(path: str, handler: object, methods: tuple[str, ...] = ("GET",)) -> Route:
    return Route(path, html_errors(handler), methods=list(methods))  # type: ignore[arg-type]


ROUTES: list[BaseRoute] = [
    _page("/", home),
    _page("/login", login_form),
    _page("/login", login, ("POST",)),
    _page("/logout", logout, ("POST",)),
    _page("/overview", overview.overview_page),
    _page("/fragments/overview", overview.overview_fragment),
    _page("/keys", keys.keys_page),
    _page("/keys", keys.create_key, ("POST",)),
    _page("/keys/new", keys.new_key),
    _page("/keys/{key_id}/edit", keys.edit_key),
    _page("/keys/{key_id}", keys.update_key, ("POST",)),
    _page("/keys/{key_id}/revoke", keys.revoke_key, ("POST",)),
    _page("/batches", batches.batches_page),
    _page("/fragments/batches", batches.batches_fragment),
    _page("/batches/{batch_id}", batches.batch_page),
    _page("/batches/{batch_id}/results", batches.batch_results),
    _page("/files", files.files_page),
    _page("/files/{file_id}/delete", files.delete_file, ("POST",)),
    _page("/requests", requests.requests_page),
    _page("/fragments/requests", requests.requests_fragment),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
    _page("/{path:path}", not_found, ("GET", "POST")),
]


def console_app() -> ASGIApp:
    """The ``/ui`` application: the routes behind the console's security headers."""
    return SecurityHeaders(Router(routes=ROUTES))
