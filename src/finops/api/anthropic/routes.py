"""The ``/anthropic`` surface. Query strings (``?beta=true``) play no part in routing, so every route
answers with and without them."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import batches, files, messages
from .responses import json_response


async def hello(request: Request) -> Response:
    """Claude Code's start-up connectivity probe (``HEAD /api/hello``, unless its non-essential traffic is
    switched off): answered, so a first run does not show up as a 404 in the gateway's metrics."""
    return json_response({"ok": True})


ROUTES = [
    Route("/v1/messages", messages.create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", messages.count_tokens, methods=["POST"]),
    Route("/v1/messages/batches", batches.create_batch, methods=["POST"]),
    Route("/v1/messages/batches", batches.list_batches, methods=["GET"]),
    Route("/v1/messages/batches/{batch_id}", batches.get_batch, methods=["GET"]),
    Route("/v1/messages/batches/{batch_id}", batches.delete_batch, methods=["DELETE"]),
    Route("/v1/messages/batches/{batch_id}/cancel", batches.cancel_batch, methods=["POST"]),
    Route("/v1/messages/batches/{batch_id}/results", batches.batch_results, methods=["GET"]),
    Route("/v1/models", messages.list_models, methods=["GET"]),
    Route("/v1/models/{model_id:path}", messages.get_model, methods=["GET"]),
    Route("/v1/files", files.upload_file, methods=["POST"]),
    Route("/v1/files", files.list_files, methods=["GET"]),
    Route("/v1/files/{file_id}", files.get_file, methods=["GET"]),
    Route("/v1/files/{file_id}", files.delete_file, methods=["DELETE"]),
    Route("/v1/files/{file_id}/content", files.download_file, methods=["GET"]),
    Route("/api/hello", hello, methods=["GET"]),  # and HEAD
]
