"""Builds the Anthropic emulator: routes, error rendering, auth edge and the ``/_emulator`` control plane.

Every route answers with and without ``?beta=true`` (Starlette matches on the path only), which is how the
0.x SDKs call the beta Files and Batches APIs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from finops.emulators._common.control import EmulatorControl
from finops.emulators.anthropic import batches, files, messages, models
from finops.emulators.anthropic.edge import Edge
from finops.emulators.anthropic.errors import ApiError, envelope, error_type_for, render_error
from finops.emulators.anthropic.responses import json_response
from finops.emulators.anthropic.state import EmulatorState

ROUTES = [
    Route("/v1/messages", messages.create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", messages.count_tokens, methods=["POST"]),
    Route("/v1/models", models.list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", models.get_model, methods=["GET"]),
    Route("/v1/files", files.upload_file, methods=["POST"]),
    Route("/v1/files", files.list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", files.get_file, methods=["GET"]),
    Route("/v1/files/{file_id}", files.delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", files.download_file, methods=["GET"]),
    Route("/v1/messages/batches", batches.create_batch, methods=["POST"]),
    Route("/v1/messages/batches", batches.list_batches, methods=["GET"]),
    Route("/v1/messages/batches/{batch_id}", batches.get_batch, methods=["GET"]),
    Route("/v1/messages/batches/{batch_id}", batches.delete_batch, methods=["DELETE"]),
    Route("/v1/messages/batches/{batch_id}/cancel", batches.cancel_batch, methods=["POST"]),
    Route("/v1/messages/batches/{batch_id}/results", batches.batch_results, methods=["GET"]),
]


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return json_response(envelope(exc.error_type, exc.message, _request_id(request), exc.details), exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"Not found: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return json_response(envelope(error_type_for(exc.status_code), message, _request_id(request)), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> Response:
    return json_response(envelope("api_error", "Internal server error", _request_id(request)), 500)


def create_app(*, batch_seconds: float = 2.0, api_keys: set[str] | None = None) -> Any:
    """The emulator as an ASGI app. ``api_keys=None`` accepts any non-empty key, otherwise only those keys."""
    if batch_seconds < 0:
        raise ValueError("batch_seconds must be >= 0")
    state = EmulatorState(batch_seconds=batch_seconds)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            state.close()  # uploaded files live in a temp dir that goes away with the emulator

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.emulator = state
    return EmulatorControl(Edge(app, api_keys=api_keys), render_error, on_reset=state.prompt_cache.reset)
