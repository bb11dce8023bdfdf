"""OpenAI upstream: Anthropic Messages, Files and Message Batches on top of Chat Completions, Files and Batch.

The pure pieces live beside this module (``translate``, ``stream``, ``batch_lines``, ``batch_plan``,
``batch_status``, ``batch_results``, ``tokens``, ``models``); this class owns the HTTP: auth, error mapping,
streaming, and the bookkeeping that makes several OpenAI batches look like one Anthropic batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import orjson

from finops.config import ProviderSettings
from finops.core.cleanup import quietly
from finops.core.errors import GatewayError, InvalidRequestError
from finops.core.faults import AFTER_UPSTREAM_PART, fault_point
from finops.core.params import MessageParams
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
from finops.providers.http import build_client, iter_body, iter_lines, send
from finops.providers.openai import embeddings
from finops.providers.openai.batch_lines import CHAT_COMPLETIONS_ENDPOINT
from finops.providers.openai.batch_plan import PartFile, write_batch_parts
from finops.providers.openai.batch_results import part_results
from finops.providers.openai.batch_status import merge_status
from finops.providers.openai.capabilities import is_search_model
from finops.providers.openai.models import to_model_object
from finops.providers.openai.recovery import METADATA_KEY, remove_created, upstream_file_name
from finops.providers.openai.sse import chat_events
from finops.providers.openai.stream import ChatStreamTranslator
from finops.providers.openai.tokens import count_tokens
from finops.providers.openai.translate import from_chat_response, openai_fault, to_chat_request
from finops.providers.relay import relay_events
from finops.providers.upstream_errors import ErrorPolicy
from finops.providers.usage import message_result

DEFAULT_BASE_URL = "https://api.openai.com/v1"
COMPLETION_WINDOW = "24h"
SPOOL_PREFIX = "finops-openai-batch-"
"""Batch input files are spooled in ``<tmp>/finops-openai-batch-<pid>-<random>/`` (``finops.core.recovery``)."""
_JSONL_TYPES = frozenset({"application/jsonl", "application/x-ndjson", "application/x-jsonlines", "application/ndjson"})
# OpenAI serves the content of batch files (input and output) and vision images, and refuses it for user_data,
# assistants, fine-tune and evals uploads ("Not allowed to download files of purpose: user_data").
_DOWNLOADABLE_PURPOSES = frozenset({"batch", "batch_output", "vision"})
DOWNLOAD_REFUSAL = (
    "This file is not downloadable: on the openai provider only batch files (input and output) can be downloaded; "
    "OpenAI does not serve the content of files uploaded for use in messages."
)


def _is_jsonl(upload: FileUpload) -> bool:
    return upload.filename.lower().endswith(".jsonl") or upload.content_type.lower() in _JSONL_TYPES


def _from_unix(value: Any) -> datetime:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int | float) else datetime.now(UTC)


class OpenAIProvider:
    name = "openai"
    capabilities = Capabilities()

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self._base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._client = build_client(settings, self._base_url, {"authorization": f"Bearer {self._api_key}"})
        self._errors = ErrorPolicy(self.name, [self._api_key], openai_fault)

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- plumbing ---------------------------------------------------------------------------------------

    def _request(self, method: str, url: str, *, json_body: Any = None, **kwargs: Any) -> httpx.Request:
        if json_body is not None:
            kwargs["content"] = orjson.dumps(json_body)
            kwargs["headers"] = {"content-type": "application/json"}
        return self._client.build_request(method, url, **kwargs)

    async def _call(self, method: str, url: str, *, json_body: Any = None, **kwargs: Any) -> JSON:
        request = self._request(method, url, json_body=json_body, **kwargs)
        response = await send(self._client, request, provider=self.name, on_error=self._errors.for_response)
        answer: JSON = orjson.loads(response.content)
        return answer

    async def _open(self, method: str, url: str, *, json_body: Any = None, **kwargs: Any) -> httpx.Response:
        request = self._request(method, url, json_body=json_body, **kwargs)
        return await send(self._client, request, provider=self.name, on_error=self._errors.for_response, stream=True)

    # -- messages ---------------------------------------------------------------------------------------

    async def create_message(self, body: JSON, ctx: CallContext) -> MessageResult:
        params = cast(MessageParams, body)  # parsed and checked against the field policy by the core
        chat = to_chat_request(params)
        completion = await self._call("POST", "/chat/completions", json_body=chat)
        return message_result(
            from_chat_response(completion, model=params["model"], stop_sequences=params.get("stop_sequences"))
        )

    def stream_message(self, body: JSON, ctx: CallContext) -> MessageStream:
        params = cast(MessageParams, body)
        model = params["model"]
        # OpenAI reports usage only at the end, so message_start says 0 input tokens and the real count arrives in
        # message_delta, which every Anthropic SDK folds into the final message (as for Bedrock's ConverseStream).
        # Estimating it up front cost a tokenizer pass and a thread hop on every streamed request.
        translator = ChatStreamTranslator(
            model=model, stop_sequences=params.get("stop_sequences"), searching=is_search_model(model)
        )

        async def open_response() -> httpx.Response:
            chat = to_chat_request(params, stream=True)
            return await self._open("POST", "/chat/completions", json_body=chat)

        return relay_events(self._errors, chat_events(open_response, translator, self.name))

    async def count_tokens(self, body: JSON, ctx: CallContext) -> JSON:
        # count_tokens bodies have no max_tokens; the translation never needs it.
        return {"input_tokens": await asyncio.to_thread(count_tokens, cast(MessageParams, body))}

    async def list_models(self, ctx: CallContext) -> list[JSON]:
        listed = await self._call("GET", "/models")
        models = [to_model_object(model) for model in listed.get("data") or [] if model.get("id")]
        # Anthropic lists newest first; RFC 3339 UTC strings sort chronologically.
        return sorted(models, key=lambda model: model["created_at"], reverse=True)

    async def embed(self, texts: list[str], model: str, dimensions: int | None = None) -> Embeddings:
        return await embeddings.embed(self._call, texts, model, dimensions)

    # -- files ------------------------------------------------------------------------------------------

    async def _upload(self, upload: FileUpload, purpose: str, key: str | None) -> JSON:
        return await self._call(
            "POST",
            "/files",
            files={"file": (upstream_file_name(key, upload.filename), upload.file, upload.content_type)},
            data={"purpose": purpose},
        )

    async def upload_file(self, upload: FileUpload, ctx: CallContext) -> UpstreamFile:
        purpose = upload.purpose or ("batch" if _is_jsonl(upload) else "user_data")
        try:
            created = await self._upload(upload, purpose, ctx.upstream_key)
        except InvalidRequestError:
            if upload.purpose or purpose != "batch":
                raise
            # A .jsonl that is not an OpenAI batch input is still a file the caller may keep: store it as data.
            upload.file.seek(0)
            purpose = "user_data"
            created = await self._upload(upload, purpose, ctx.upstream_key)
        return UpstreamFile(
            upstream_id=created["id"],
            filename=upload.filename,
            # The caller's type, not OpenAI's purpose: Anthropic's mime_type describes the bytes.
            mime_type=upload.content_type,
            size_bytes=int(created.get("bytes", upload.size_bytes)),
            created_at=_from_unix(created.get("created_at")),
            downloadable=created.get("purpose", purpose) in _DOWNLOADABLE_PURPOSES,
        )

    async def delete_file(self, upstream_id: str, ctx: CallContext) -> None:
        await self._call("DELETE", f"/files/{upstream_id}")

    async def download_file(self, upstream_id: str, ctx: CallContext) -> Download:
        # Ask first, as the file's `downloadable` flag says: OpenAI serves only some purposes' content, and a
        # compatible upstream that serves every file must not hand out what the gateway lists as not downloadable.
        file = await self._call("GET", f"/files/{upstream_id}")
        if file.get("purpose") not in _DOWNLOADABLE_PURPOSES:
            raise InvalidRequestError(DOWNLOAD_REFUSAL)
        response = await self._open("GET", f"/files/{upstream_id}/content")
        length = response.headers.get("content-length")
        return Download(
            content_type=response.headers.get("content-type", "application/octet-stream"),
            chunks=iter_body(response, self.name),
            size_bytes=int(length) if length and length.isdigit() else None,
        )

    async def _file_lines(self, upstream_id: str) -> AsyncGenerator[str, None]:
        return iter_lines(await self._open("GET", f"/files/{upstream_id}/content"), self.name)

    # -- batches ----------------------------------------------------------------------------------------

    async def create_batch(self, requests: list[JSON], ctx: CallContext) -> UpstreamBatch:
        parts: list[JSON] = []
        batches: list[JSON] = []
        # The pid in the name lets the recovery pass remove the spool of a process killed mid-create.
        with tempfile.TemporaryDirectory(prefix=f"{SPOOL_PREFIX}{os.getpid()}-") as directory:
            # Translation errors surface here, before any upstream call.
            plan = await asyncio.to_thread(write_batch_parts, requests, Path(directory))
            try:
                for number, part_file in enumerate(plan, start=1):
                    part, batch = await self._start_part(part_file, ctx, f"{number}/{len(plan)}")
                    parts.append(part)
                    batches.append(batch)
                    if number < len(plan):
                        fault_point(AFTER_UPSTREAM_PART)
            except BaseException:
                # All or nothing: parts already running would cost money for a batch the caller never got.
                await self._abandon(parts)
                raise
        status = merge_status(parts, batches, cancel_requested=False)
        return UpstreamBatch(upstream_id=parts[0]["batch_id"], state={"parts": parts}, status=status)

    async def _start_part(self, part_file: PartFile, ctx: CallContext, label: str) -> tuple[JSON, JSON]:
        with part_file.path.open("rb") as handle:
            uploaded = await self._call(
                "POST",
                "/files",
                files={
                    "file": (upstream_file_name(ctx.upstream_key, part_file.path.name), handle, "application/jsonl")
                },
                data={"purpose": "batch"},
            )
        metadata = {"finops_part": label, "finops_model": part_file.model[:512]}
        if ctx.request_id:
            metadata["finops_request_id"] = ctx.request_id
        if ctx.upstream_key:
            metadata[METADATA_KEY] = ctx.upstream_key
        try:
            batch = await self._call(
                "POST",
                "/batches",
                json_body={
                    "input_file_id": uploaded["id"],
                    "endpoint": CHAT_COMPLETIONS_ENDPOINT,
                    "completion_window": COMPLETION_WINDOW,
                    "metadata": metadata,
                },
            )
        except BaseException:
            await quietly(self.delete_file(uploaded["id"], ctx))
            raise
        part = {
            "model": part_file.model,
            "batch_id": batch["id"],
            "input_file_id": uploaded["id"],
            "count": part_file.count,
        }
        return part, batch

    async def _abandon(self, parts: list[JSON]) -> None:
        for part in parts:
            await quietly(self._call("POST", f"/batches/{part['batch_id']}/cancel"))
            await quietly(self._call("DELETE", f"/files/{part['input_file_id']}"))

    async def _fetch_parts(self, parts: list[JSON]) -> list[JSON]:
        return list(await asyncio.gather(*(self._call("GET", f"/batches/{part['batch_id']}") for part in parts)))

    async def get_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        parts = ref.state["parts"]
        return merge_status(parts, await self._fetch_parts(parts), ref.cancel_requested)

    async def cancel_batch(self, ref: BatchRef, ctx: CallContext) -> BatchStatus:
        parts = ref.state["parts"]
        batches = await asyncio.gather(*(self._cancel_part(part) for part in parts))
        return merge_status(parts, list(batches), cancel_requested=True)

    async def _cancel_part(self, part: JSON) -> JSON:
        try:
            return await self._call("POST", f"/batches/{part['batch_id']}/cancel")
        except InvalidRequestError:
            # OpenAI refuses to cancel a batch that already ended; its current state is the answer.
            return await self._call("GET", f"/batches/{part['batch_id']}")

    async def delete_batch(self, ref: BatchRef, ctx: CallContext) -> None:
        # OpenAI cannot delete a batch; what holds the caller's data are its files, so those go (best-effort:
        # a file that expired or is already gone is exactly what the caller wants).
        for part in ref.state["parts"]:
            file_ids = [part["input_file_id"]]
            with contextlib.suppress(GatewayError):
                batch = await self._call("GET", f"/batches/{part['batch_id']}")
                file_ids += [batch.get("output_file_id"), batch.get("error_file_id")]
            for file_id in filter(None, file_ids):
                await quietly(self._call("DELETE", f"/files/{file_id}"))

    async def remove_created(self, intent: CreateIntent, ctx: CallContext) -> int:
        return await remove_created(self._call, intent)

    async def batch_results(self, ref: BatchRef, ctx: CallContext) -> AsyncIterator[bytes]:
        parts = ref.state["parts"]
        batches = await self._fetch_parts(parts)
        for part, batch in zip(parts, batches, strict=True):
            async for line in part_results(part, batch, ref.cancel_requested, self._file_lines):
                yield line
