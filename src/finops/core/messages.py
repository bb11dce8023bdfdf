"""Messages: parse the body, pick the provider (header or ``provider/model``), apply the field policy, call the
adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from finops.core.errors import InvalidRequestError, NotFoundError
from finops.core.file_refs import referenced_file_ids, with_upstream_file_ids
from finops.core.params import parse_count_tokens_params, parse_message_params
from finops.core.policy import enforce_policy
from finops.core.routing import split_model
from finops.core.types import JSON, CallContext, FileRef, MessageResult, MessageStream, Principal
from finops.providers.base import Provider
from finops.providers.registry import ProviderRegistry
from finops.store.files import FileRepository

if TYPE_CHECKING:
    from finops.governance.governor import Governance


class MessageService:
    def __init__(
        self, providers: ProviderRegistry, files: FileRepository, governance: Governance | None = None
    ) -> None:
        self._providers = providers
        self._files = files
        self._governance = governance  # admission (key policy, budget, rate) before the call, pricing after

    def _route(self, provider_name: str, body: JSON, ctx: CallContext) -> tuple[Provider, JSON, CallContext]:
        chosen, model = split_model(provider_name, body["model"])
        if model != body["model"]:
            body = {**body, "model": model}
            ctx = replace(ctx, raw_body=None)  # the body changed: the client's bytes no longer describe it
        return self._providers.get(chosen), body, ctx

    async def _resolve_files(
        self, principal: Principal, provider: str, body: JSON, ctx: CallContext
    ) -> tuple[JSON, CallContext]:
        """Swap the caller's gateway file IDs for the upstream's; a file is usable only on its own provider."""
        if ctx.raw_body is not None and b'"file_id"' not in ctx.raw_body:
            return body, ctx  # the common case, decided without walking the body
        file_ids = referenced_file_ids(body)
        if not file_ids:
            return body, ctx
        upstream_ids: dict[str, str] = {}
        files: dict[str, FileRef] = {}
        for file_id in sorted(file_ids):
            record = await self._files.get(file_id, principal.owner)
            if record is None:
                raise NotFoundError(f"File not found: {file_id}")
            if record.provider != provider:
                raise InvalidRequestError(
                    f"file {file_id} was uploaded to {record.provider}; use it with x-model-provider: {record.provider}"
                )
            upstream_ids[file_id] = record.upstream_id
            files[record.upstream_id] = FileRef(upstream_id=record.upstream_id, mime_type=record.mime_type)
        return with_upstream_file_ids(body, upstream_ids), replace(ctx, files=files, raw_body=None)

    async def create(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> MessageResult:
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        enforce_policy(body, provider.name, body["model"])
        body, ctx = await self._resolve_files(principal, provider.name, body, ctx)
        if self._governance is None:
            return await provider.create_message(body, ctx)
        return await self._governance.metered(
            principal, provider.name, body["model"], ctx.request_id, lambda: provider.create_message(body, ctx)
        )

    def stream(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        """The Anthropic SSE frames, as the provider produces them; nothing happens before the first is pulled."""
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        enforce_policy(body, provider.name, body["model"])

        async def open_stream() -> MessageStream:
            resolved, call_ctx = await self._resolve_files(principal, provider.name, body, ctx)
            return provider.stream_message(resolved, call_ctx)

        if self._governance is None:
            return _frames(open_stream)
        return self._governance.metered_stream(principal, provider.name, body["model"], ctx.request_id, open_stream)

    async def count_tokens(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> JSON:
        parse_count_tokens_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        enforce_policy(body, provider.name, body["model"])
        body, ctx = await self._resolve_files(principal, provider.name, body, ctx)
        return await provider.count_tokens(body, ctx)

    async def list_models(self, provider_name: str, ctx: CallContext) -> list[JSON]:
        return await self._providers.get(provider_name).list_models(ctx)


async def _frames(open_stream: Callable[[], Awaitable[MessageStream]]) -> AsyncIterator[bytes]:
    stream = await open_stream()
    try:
        async for frame in stream:
            yield frame
    finally:
        await stream.aclose()
