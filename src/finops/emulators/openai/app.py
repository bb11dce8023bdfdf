"""The OpenAI emulator's ASGI app: routes under ``/v1``, Bearer auth, request IDs, OpenAI-shaped errors.

``create_app()`` is the only entry point; nothing happens at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import weakref
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from finops.emulators._common.control import EmulatorControl
from finops.emulators.openai import batches, chat, embeddings, files, models
from finops.emulators.openai.errors import OpenAIError, error_response, render_error
from finops.emulators.openai.state import EmulatorState, new_request_id

MAX_FILE_BYTES = 512 * 1024 * 1024  # the real API's per-file limit

ASGIApp = Any


def create_app(
    *,
    batch_seconds: float = 2.0,
    api_keys: set[str] | None = None,
    max_file_bytes: int = MAX_FILE_BYTES,
    storage_dir: Path | None = None,
) -> ASGIApp:
    """Build a fresh emulator with its own state.

    ``api_keys=None`` accepts any non-empty Bearer key. Uploaded files live under ``storage_dir`` (default: a
    new temporary directory, removed when the app shuts down or is garbage-collected).
    """
    owned_dir = storage_dir is None
    directory = storage_dir if storage_dir is not None else Path(tempfile.mkdtemp(prefix="finops-openai-emulator-"))
    directory.mkdir(parents=True, exist_ok=True)
    state = EmulatorState(
        storage_dir=directory,
        batch_seconds=batch_seconds,
        max_file_bytes=max_file_bytes,
        api_keys=set(api_keys) if api_keys is not None else None,
    )
    if owned_dir:
        weakref.finalize(state, shutil.rmtree, directory, ignore_errors=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        tasks = [b.task for b in state.batches.values() if b.task is not None and not b.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if owned_dir:
            shutil.rmtree(directory, ignore_errors=True)

    routes = [
        Route("/v1/chat/completions", chat.create_chat_completion, methods=["POST"]),
        Route("/v1/embeddings", embeddings.create_embeddings, methods=["POST"]),
        Route("/v1/models", models.list_models, methods=["GET"]),
        Route("/v1/models/{model}", models.retrieve_model, methods=["GET"]),
        Route("/v1/files", files.create_file, methods=["POST"]),
        Route("/v1/files", files.list_files, methods=["GET"]),
        Route("/v1/files/{file_id}", files.retrieve_file, methods=["GET"]),
        Route("/v1/files/{file_id}", files.delete_file, methods=["DELETE"]),
        Route("/v1/files/{file_id}/content", files.file_content, methods=["GET"]),
        Route("/v1/batches", batches.create_batch, methods=["POST"]),
        Route("/v1/batches", batches.list_batches, methods=["GET"]),
        Route("/v1/batches/{batch_id}", batches.retrieve_batch, methods=["GET"]),
        Route("/v1/batches/{batch_id}/cancel", batches.cancel_batch, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            OpenAIError: _handle_openai_error,
            HTTPException: _handle_http_exception,
            Exception: _handle_crash,
        },
    )
    app.state.emulator = state
    return EmulatorControl(_Gate(app, state.api_keys), render_error, on_reset=state.prompt_cache.reset)


class _Gate:
    """Checks the Bearer key and stamps ``x-request-id`` on every provider response, as the real API does."""

    def __init__(self, app: ASGIApp, api_keys: set[str] | None) -> None:
        self.app = app
        self.api_keys = api_keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id().encode()

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        problem = self._auth_problem(scope)
        if problem is not None:
            await error_response(problem)(scope, receive, send_with_id)
            return
        await self.app(scope, receive, send_with_id)

    def _auth_problem(self, scope: dict[str, Any]) -> OpenAIError | None:
        headers = dict(scope.get("headers") or [])
        authorization = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return OpenAIError(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        if self.api_keys is not None and key not in self.api_keys:
            shown = key if len(key) <= 8 else f"{key[:3]}*****{key[-4:]}"
            return OpenAIError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")
        return None


async def _handle_openai_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OpenAIError)
    return error_response(exc)


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"Method not allowed ({request.method} {request.url.path})."
    else:
        message = f"Invalid URL ({request.method} {request.url.path})"
    return error_response(OpenAIError(exc.status_code, message))


async def _handle_crash(request: Request, exc: Exception) -> Response:
    body = {"error": {"message": f"Emulator error: {exc!r}", "type": "server_error", "param": None, "code": None}}
    return Response(orjson.dumps(body), status_code=500, media_type="application/json")
