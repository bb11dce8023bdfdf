"""The Gemini emulator's ASGI app: routes for ``/v1`` and ``/v1beta``, auth, errors and the control plane."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from finops.emulators._common.control import EmulatorControl
from finops.emulators.gemini import batches, catalog, embeddings, files, generate, uploads
from finops.emulators.gemini.auth import ApiKeyAuth
from finops.emulators.gemini.errors import GoogleError, error_response, not_found, render_error
from finops.emulators.gemini.state import Store
from finops.emulators.gemini.wire import json_response, page_size, paginate, read_json

VERSIONS = ("v1", "v1beta")


def _version(request: Request) -> str:
    version = str(request.path_params["ver"])
    if version not in VERSIONS:
        raise not_found(f"Unknown API version {version}.")
    return version


def create_app(*, batch_seconds: float = 2.0, api_keys: set[str] | None = None) -> Any:
    """Build the emulator. ``api_keys=None`` accepts any non-empty key."""
    store = Store()
    prompt_cache = generate.new_prompt_cache()

    async def models_list(request: Request) -> Response:
        _version(request)
        size = page_size(request.query_params.get("pageSize"), default=50, maximum=1000)
        models = catalog.all_models()
        # paginate() walks descending sequence numbers; number the catalogue so it keeps its order.
        indexed = [(len(models) - i, model) for i, model in enumerate(models)]
        page, token = paginate(indexed, lambda item: item[0], request.query_params.get("pageToken"), size)
        payload: dict[str, Any] = {"models": [model for _, model in page]}
        if token:
            payload["nextPageToken"] = token
        return json_response(payload)

    async def model_get(request: Request) -> Response:
        _version(request)
        return json_response(catalog.get_model(request.path_params["name"]))

    async def model_action(request: Request) -> Response:
        """``models/{model}:{method}``: the path parameter holds both parts."""
        version = _version(request)
        target, _, method = request.path_params["name"].rpartition(":")
        if not target:
            raise not_found(f"Method not found: {request.path_params['name']}.")
        known = catalog.CHAT_METHODS | catalog.EMBEDDING_METHODS
        model = catalog.model_id(target, method=method, version=version) if method in known else target
        if method == "batchGenerateContent":
            return await batches.create(request, store, model, version, batch_seconds)
        check = store.file_exists_for_uri
        if method == "generateContent":
            return json_response(generate.generate(await read_json(request), model, check, prompt_cache))
        if method == "countTokens":
            return json_response(generate.count(await read_json(request), model, check))
        if method == "embedContent":
            return json_response(embeddings.embed_content(await read_json(request), model))
        if method == "batchEmbedContents":
            return json_response(embeddings.batch_embed_contents(await read_json(request), model))
        if method == "streamGenerateContent":
            chunks = generate.stream(await read_json(request), model, check, prompt_cache)
            return _stream(chunks, sse=request.query_params.get("alt") == "sse")
        raise not_found(f"Method not found: models/{model}:{method}.")

    async def upload(request: Request) -> Response:
        return await uploads.handle(request, store, _version(request))

    async def files_list(request: Request) -> Response:
        _version(request)
        return files.list_files(request, store)

    async def file_item(request: Request) -> Response:
        _version(request)
        file_id = request.path_params["file_id"]
        if request.method == "DELETE":
            return files.delete_file(store, file_id)
        return files.get_file(store, file_id)

    async def file_download(request: Request) -> Response:
        _version(request)
        return files.download(request, store, request.path_params["file_id"])

    async def batches_list(request: Request) -> Response:
        _version(request)
        return batches.list_batches(request, store)

    async def batch_item(request: Request) -> Response:
        _version(request)
        batch_id, _, method = request.path_params["batch_id"].partition(":")
        if method == "cancel" and request.method == "POST":
            return batches.cancel(store, batch_id)
        if method:
            raise not_found(f"Method not found: batches/{batch_id}:{method}.")
        if request.method == "DELETE":
            return batches.delete(store, batch_id)
        if request.method == "GET":
            return batches.get(store, batch_id)
        raise not_found(f"Method {request.method} not allowed on batches/{batch_id}.")

    async def on_google_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GoogleError)
        return error_response(exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = 404 if exc.status_code in (404, 405) else exc.status_code
        message = "Not found." if code == 404 else str(exc.detail)
        return error_response(GoogleError(code, message))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    routes = [
        Route("/upload/{ver}/files", upload, methods=["POST"]),
        Route("/{ver}/models", models_list, methods=["GET"]),
        Route("/{ver}/models/{name}", model_get, methods=["GET"]),
        Route("/{ver}/models/{name}", model_action, methods=["POST"]),
        Route("/{ver}/files", files_list, methods=["GET"]),
        Route("/{ver}/files/{file_id}:download", file_download, methods=["GET"]),
        Route("/download/{ver}/files/{file_id}:download", file_download, methods=["GET"]),
        Route("/{ver}/files/{file_id}", file_item, methods=["GET", "DELETE"]),
        Route("/{ver}/batches", batches_list, methods=["GET"]),
        Route("/{ver}/batches/{batch_id}", batch_item, methods=["GET", "POST", "DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={GoogleError: on_google_error, HTTPException: on_http_error},
        lifespan=lifespan,
    )
    app.state.store = store
    control = EmulatorControl(ApiKeyAuth(app, api_keys), render_error, on_reset=prompt_cache.reset)
    return control


def _stream(chunks: list[dict[str, Any]], *, sse: bool) -> Response:
    """SSE (``alt=sse``) sends ``data: <json>`` events; without it Google streams one JSON array."""
    if sse:

        async def events() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield b"data: " + orjson.dumps(chunk) + b"\r\n\r\n"

        return StreamingResponse(events(), media_type="text/event-stream")
    return Response(orjson.dumps(chunks), media_type="application/json; charset=UTF-8")


__all__ = ["create_app"]
