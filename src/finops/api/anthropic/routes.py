"""The ``/anthropic`` surface. Query strings (``?beta=true``) play no part in routing, so every route
answers with and without them."""

from __future__ import annotations

from starlette.routing import Route

from . import batches, files, messages

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
]
