"""Gemini upstream (Generative Language API): Messages, Files and Message Batches translated to Gemini.

Translation is pure (``translate.py``, ``stream.py``, ``batch_lines.py``); this module sends what they build:
HTTP plumbing in ``client.py``, the resumable upload in ``uploads.py``, batch orchestration in ``batches.py``.
Gemini names (``files/...``, ``batches/...``) stay behind the gateway's IDs: the core stores them as upstream
IDs and never shows them to callers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import httpx
import orjson

from finops.config import ProviderSettings
from finops.core.errors import InvalidRequestError, NotFoundError, UpstreamError
from finops.core.params import CountTokensParams, MessageParams
from finops.core.types import JSON
from finops.providers.base import (
    BatchRef,
    BatchStatus,
    CallContext,
    Capabilities,
    CreateIntent,
    Download,
    FileUpload,
    MessageResult,
    MessageStream,
    UpstreamBatch,
    UpstreamFile,
)
from finops.providers.embedding import Embeddings
from finops.providers.gemini import embeddings
from finops.providers.gemini.batches import GeminiBatches
from finops.providers.gemini.client import GeminiClient
from finops.providers.gemini.paths import model_path
from finops.providers.gemini.recovery import remove_created, upstream_display_name
from finops.providers.gemini.stream import GenerateStreamTranslator, generate_events
from finops.providers.gemini.translate import (
    GeminiFileRef,
    as_int,
    from_count_tokens_response,
    from_generate_response,
    from_models_list,
    grounded,
    to_count_tokens_request,
    to_generate_request,
)
from finops.providers.http import iter_body
from finops.providers.relay import relay_events
from finops.providers.usage import message_result

DOWNLOAD_REFUSAL = (
    "Gemini only allows downloading files it generated, e.g. batch results; uploaded files cannot be downloaded"
)
_MODELS_PAGE_SIZE = "1000"


def _file_path(api: str, upstream_id: str) -> str:
    name = upstream_id.removeprefix("files/")
    if not name or upstream_id == name:
        raise NotFoundError("File not found")  # the upstream's name is never shown
    return f"{api}/files/{quote(name, safe='-')}"


def _time(value: Any) -> datetime:
    if isinstance(value, str) and value:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.now(UTC)


class GeminiProvider:
    name = "gemini"
    capabilities = Capabilities()

    def __init__(self, settings: ProviderSettings) -> None:
        self._http = GeminiClient(settings)
        self._api = self._http.api
        self._batches = GeminiBatches(self._http, self._api)

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- messages ---------------------------------------------------------------------------------------

    def _file_refs(self, ctx: CallContext) -> dict[str, GeminiFileRef]:
        """Gemini addresses an uploaded file by its URI (``{host}/{version}/files/...``) plus its MIME type."""
        return {
            upstream_id: GeminiFileRef(
                uri=f"{self._http.base_url}/{self._http.version}/{upstream_id}", mime_type=ref.mime_type
            )
            for upstream_id, ref in ctx.files.items()
        }

    async def create_message(self, body: JSON, ctx: CallContext) -> MessageResult:
        params = cast(MessageParams, body)  # the core parsed it (``parse_message_params``) before routing here
        model, request = to_generate_request(params, file_refs=self._file_refs(ctx))
        response = await self._http.call(
            "POST", f"{self._api}/models/{model_path(model)}:generateContent", content=orjson.dumps(request)
        )
        return message_result(from_generate_response(response, model=params["model"]))

    def stream_message(self, body: JSON, ctx: CallContext) -> MessageStream:
        params = cast(MessageParams, body)
        translator = GenerateStreamTranslator(model=params["model"], grounded=grounded(params))

        async def open_response() -> httpx.Response:
            model, request = to_generate_request(params, file_refs=self._file_refs(ctx))
            return await self._http.open(
                "POST",
                f"{self._api}/models/{model_path(model)}:streamGenerateContent",
                content=orjson.dumps(request),
                params={"alt": "sse"},
            )

        return relay_events(self._http.errors, generate_events(open_response, translator, self.name))

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON:
        params = cast(CountTokensParams, body)
        model, request = to_count_tokens_request(params, file_refs=self._file_refs(ctx))
        response = await self._http.call(
            "POST", f"{self._api}/models/{model_path(model)}:countTokens", content=orjson.dumps(request)
        )
        return from_count_tokens_response(response)

    async def list_models(self, ctx: CallContext) -> list[JSON]:
        models: list[JSON] = []
        params = {"pageSize": _MODELS_PAGE_SIZE}
        seen_tokens: set[str] = set()
        while True:
            page = await self._http.call("GET", f"{self._api}/models", params=params)
            models += from_models_list(page)
            token = page.get("nextPageToken")
            if not token or token in seen_tokens:  # a repeated token would loop forever
                return models
            seen_tokens.add(token)
            params = {"pageSize": _MODELS_PAGE_SIZE, "pageToken": token}

    async def embed(self, texts: list[str], model: str, dimensions: int | None = None) -> Embeddings:
        return await embeddings.embed(self._http, texts, model, dimensions)

    # -- files ------------------------------------------------------------------------------------------

    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile:
        display_name = upstream_display_name(ctx.upstream_key, upload.filename)
        file = await self._http.upload(upload.file, upload.size_bytes, upload.content_type, display_name)
        name = file.get("name")
        if not isinstance(name, str) or not name.startswith("files/"):
            raise UpstreamError("the gemini upstream answered an upload without a file name")
        return UpstreamFile(
            upstream_id=name,
            filename=upload.filename,
            mime_type=file.get("mimeType") or upload.content_type,
            size_bytes=as_int(file.get("sizeBytes")) or upload.size_bytes,
            created_at=_time(file.get("createTime")),
            downloadable=file.get("source") == "GENERATED" or bool(file.get("downloadUri")),
        )

    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None:
        await self._http.call("DELETE", _file_path(self._api, upstream_id))

    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download:
        path = _file_path(self._api, upstream_id)
        # Ask first: Gemini serves bytes only for files it generated, and says so with a less helpful error.
        file = await self._http.call("GET", path)
        if file.get("source") != "GENERATED" and not file.get("downloadUri"):
            raise InvalidRequestError(DOWNLOAD_REFUSAL)
        response = await self._http.open("GET", f"{path}:download", params={"alt": "media"})
        length = response.headers.get("content-length")
        return Download(
            content_type=response.headers.get("content-type") or file.get("mimeType") or "application/octet-stream",
            chunks=iter_body(response, self.name),
            size_bytes=int(length) if length and length.isdigit() else None,
        )

    # -- batches ----------------------------------------------------------------------------------------

    async def create_batch(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch:
        return await self._batches.create(requests, ctx.upstream_key)

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return await self._batches.status(ref)

    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return await self._batches.cancel(ref)

    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None:
        await self._batches.delete(ref)

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        return await remove_created(self._http.call, self._api, intent)

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        async for line in self._batches.results(ref):
            yield line
