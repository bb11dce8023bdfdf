"""Messages: parse the body, pick the provider (header or ``provider/model``), apply the field policy, resolve the
Anthropic-only features for other providers (``core.normalize``), call the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

from finops.core.errors import GatewayError, InvalidRequestError, NotFoundError
from finops.core.file_refs import referenced_file_ids, with_upstream_file_ids
from finops.core.models import find_model, page_of_models
from finops.core.normalize import normalize
from finops.core.params import parse_count_tokens_params, parse_message_params
from finops.core.policy import column_for, enforce_policy
from finops.core.routing import split_model
from finops.core.types import JSON, CallContext, FileRef, MessageResult, MessageStream, Principal
from finops.providers.base import Provider
from finops.providers.registry import ProviderRegistry
from finops.store.files import FileRepository
from finops.store.records import Page

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
        """The provider, and the body as its adapter takes it: ``provider/`` prefix removed, field policy
        enforced, Anthropic-only features resolved."""
        chosen, model = split_model(provider_name, body["model"])
        provider = self._providers.get(chosen)
        routed = body if model == body["model"] else {**body, "model": model}
        enforce_policy(routed, chosen, model)
        routed = normalize(routed, column_for(chosen, model))
        if routed is not body:
            ctx = replace(ctx, raw_body=None)  # the body changed: the client's bytes no longer describe it
        return provider, routed, ctx

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
            files[record.upstream_id] = FileRef(record.upstream_id, record.mime_type, gateway_id=file_id)
        return with_upstream_file_ids(body, upstream_ids), replace(ctx, files=files, raw_body=None)

    async def create(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> MessageResult:
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        body, ctx = await self._resolve_files(principal, provider.name, body, ctx)
        with gateway_file_ids(ctx.files):
            if self._governance is None:
                return await provider.create_message(body, ctx)
            return await self._governance.metered(
                principal, provider.name, body["model"], ctx.request_id, lambda: provider.create_message(body, ctx)
            )

    def stream(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        """The Anthropic SSE frames, as the provider produces them; nothing happens before the first is pulled."""
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        files: dict[str, FileRef] = {}

        async def open_stream() -> MessageStream:
            resolved, call_ctx = await self._resolve_files(principal, provider.name, body, ctx)
            files.update(call_ctx.files)
            return provider.stream_message(resolved, call_ctx)

        if self._governance is None:
            return _named_for_the_caller(_frames(open_stream), files)
        frames = self._governance.metered_stream(principal, provider.name, body["model"], ctx.request_id, open_stream)
        return _named_for_the_caller(frames, files)

    async def count_tokens(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> JSON:
        parse_count_tokens_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        body, ctx = await self._resolve_files(principal, provider.name, body, ctx)
        with gateway_file_ids(ctx.files):
            return await provider.count_tokens(body, ctx)

    async def list_models(
        self, provider_name: str, ctx: CallContext, *, limit: int, after_id: str | None, before_id: str | None
    ) -> Page[JSON]:
        models = await self._providers.get(provider_name).list_models(ctx)
        return page_of_models(models, provider_name, limit=limit, after_id=after_id, before_id=before_id)

    async def retrieve_model(self, header_provider: str, model_id: str, ctx: CallContext) -> JSON:
        """``model_id`` may be ``provider/model``, which picks the provider as it does for messages."""
        provider_name, model = split_model(header_provider, model_id)
        models = await self._providers.get(provider_name).list_models(ctx)
        return find_model(models, model, asked_as=model_id)


@contextmanager
def gateway_file_ids(files: Mapping[str, FileRef]) -> Iterator[None]:
    """An upstream error that names a file the body referenced names the caller's file instead: the redactor
    knows ID shapes and the IDs in a request's path, not the ones in its body (Gemini says "the File
    oi7inzjldkeqfzml" for a ``fileData`` it cannot read)."""
    try:
        yield
    except GatewayError as exc:
        renamed = _renamed(exc, files)
        if renamed is exc:
            raise
        raise renamed from exc


def _renamed(error: GatewayError, files: Mapping[str, FileRef]) -> GatewayError:
    message = error.message
    for upstream_id, ref in files.items():
        bare = upstream_id.rpartition("/")[2]  # Gemini's messages name ``files/abc`` as ``abc``
        for form in (upstream_id, bare) if len(bare) >= 8 else (upstream_id,):
            message = message.replace(form, ref.gateway_id)
    if message == error.message:
        return error
    return type(error)(message, headers=error.headers)


async def _named_for_the_caller(frames: AsyncIterator[bytes], files: Mapping[str, FileRef]) -> AsyncIterator[bytes]:
    """``frames``, with an error raised before the first frame (a status for the caller) renamed as above."""
    with gateway_file_ids(files):
        async for frame in frames:
            yield frame


async def _frames(open_stream: Callable[[], Awaitable[MessageStream]]) -> AsyncIterator[bytes]:
    stream = await open_stream()
    try:
        async for frame in stream:
            yield frame
    finally:
        await stream.aclose()
