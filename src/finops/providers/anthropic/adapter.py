"""Anthropic upstream: the gateway's own dialect, so requests and streams pass through unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from finops.config import ProviderSettings
from finops.providers.anthropic.recovery import remove_created
from finops.providers.base import (
    JSON,
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
from finops.providers.http import build_client, iter_body, send
from finops.providers.relay import relay_sse
from finops.providers.upstream_errors import ErrorPolicy
from finops.providers.usage import message_result

DEFAULT_BASE_URL = "https://api.anthropic.com"
DEFAULT_VERSION = "2023-06-01"
FILES_BETA = "files-api-2025-04-14"


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _status(batch: dict[str, Any]) -> BatchStatus:
    return BatchStatus(
        processing_status=batch["processing_status"],
        request_counts=batch["request_counts"],
        ended_at=_parse_time(batch.get("ended_at")),
        cancel_initiated_at=_parse_time(batch.get("cancel_initiated_at")),
    )


class AnthropicProvider:
    name = "anthropic"
    capabilities = Capabilities()

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._client = build_client(settings, self._base_url, {"x-api-key": self._api_key})
        self._errors = ErrorPolicy(self.name, [self._api_key])

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _headers(self, ctx: CallContext, *, files_api: bool = False, json_body: bool = False) -> dict[str, str]:
        headers = {"anthropic-version": ctx.anthropic_version or DEFAULT_VERSION}
        if json_body:
            headers["content-type"] = "application/json"
        betas = [beta.strip() for beta in (ctx.anthropic_beta or "").split(",") if beta.strip()]
        if files_api and FILES_BETA not in betas:
            betas.append(FILES_BETA)
        if betas:
            headers["anthropic-beta"] = ",".join(betas)
        return headers

    async def _call(self, method: str, url: str, ctx: CallContext, *, files_api: bool = False, **kwargs: Any) -> JSON:
        headers = self._headers(ctx, files_api=files_api, json_body="content" in kwargs)
        request = self._client.build_request(method, url, headers=headers, **kwargs)
        response = await send(self._client, request, provider=self.name, on_error=self._errors.for_response)
        answer: JSON = orjson.loads(response.content)
        return answer

    async def _open(
        self, method: str, url: str, ctx: CallContext, *, files_api: bool = False, **kwargs: Any
    ) -> httpx.Response:
        headers = self._headers(ctx, files_api=files_api, json_body="content" in kwargs)
        request = self._client.build_request(method, url, headers=headers, **kwargs)
        return await send(self._client, request, provider=self.name, on_error=self._errors.for_response, stream=True)

    # -- messages ---------------------------------------------------------------------------------------

    def _body(self, body: dict[str, Any], ctx: CallContext) -> bytes:
        return ctx.raw_body if ctx.raw_body is not None else orjson.dumps(body)

    async def create_message(self, body: dict[str, Any], ctx: CallContext) -> MessageResult:
        return message_result(await self._call("POST", "/v1/messages", ctx, content=self._body(body, ctx)))

    def stream_message(self, body: dict[str, Any], ctx: CallContext) -> MessageStream:
        content = self._body(body, ctx)
        return relay_sse(self._errors, lambda: self._open("POST", "/v1/messages", ctx, content=content))

    async def count_tokens(self, body: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return await self._call("POST", "/v1/messages/count_tokens", ctx, content=orjson.dumps(body))

    async def list_models(self, ctx: CallContext) -> list[dict[str, Any]]:
        models: list[JSON] = (await self._call("GET", "/v1/models", ctx, params={"limit": 1000}))["data"]
        return models

    # -- files ------------------------------------------------------------------------------------------

    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile:
        created = await self._call(
            "POST",
            "/v1/files",
            ctx,
            files_api=True,
            files={"file": (upload.filename, upload.file, upload.content_type)},
        )
        return UpstreamFile(
            upstream_id=created["id"],
            filename=created.get("filename", upload.filename),
            mime_type=created.get("mime_type", upload.content_type),
            size_bytes=created.get("size_bytes", upload.size_bytes),
            created_at=datetime.fromisoformat(created["created_at"]),
            downloadable=bool(created.get("downloadable", False)),
        )

    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None:
        await self._call("DELETE", f"/v1/files/{upstream_id}", ctx, files_api=True)

    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download:
        response = await self._open("GET", f"/v1/files/{upstream_id}/content", ctx, files_api=True)
        length = response.headers.get("content-length")
        return Download(
            content_type=response.headers.get("content-type", "application/octet-stream"),
            chunks=iter_body(response, self.name),
            size_bytes=int(length) if length and length.isdigit() else None,
        )

    # -- batches ----------------------------------------------------------------------------------------

    async def create_batch(self, requests: list[dict[str, Any]], ctx: CallContext) -> UpstreamBatch:
        batch = await self._call(
            "POST",
            "/v1/messages/batches",
            ctx,
            content=orjson.dumps({"requests": requests}),
        )
        return UpstreamBatch(upstream_id=batch["id"], state={}, status=_status(batch))

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        async def call(method: str, url: str, **kwargs: Any) -> JSON:
            return await self._call(method, url, ctx, files_api=url.startswith("/v1/files"), **kwargs)

        return await remove_created(call, intent)

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return _status(await self._call("GET", f"/v1/messages/batches/{ref.upstream_id}", ctx))

    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        return _status(await self._call("POST", f"/v1/messages/batches/{ref.upstream_id}/cancel", ctx))

    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None:
        await self._call("DELETE", f"/v1/messages/batches/{ref.upstream_id}", ctx)

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        batch = await self._call("GET", f"/v1/messages/batches/{ref.upstream_id}", ctx)
        url = batch.get("results_url") or f"/v1/messages/batches/{ref.upstream_id}/results"
        if urlsplit(url).netloc and urlsplit(url).netloc != urlsplit(self._base_url).netloc:
            # Our API key goes only to the configured upstream, whatever host a response names.
            url = f"/v1/messages/batches/{ref.upstream_id}/results"
        response = await self._open("GET", url, ctx)
        async for chunk in iter_body(response, self.name):
            yield chunk
