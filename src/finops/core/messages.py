"""Messages: parse the body, pick the provider (header or ``provider/model``), apply the field policy, resolve the
Anthropic-only features for other providers (``core.normalize``), look the request up in the response cache (after
admission), call the adapter, offer the answer to the cache."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from finops.cache import CacheControls, Lookup, ResponseCache
from finops.cache.controls import NO_CONTROLS
from finops.cache.service import Embed
from finops.core.errors import GatewayError, InvalidRequestError, NotFoundError
from finops.core.file_refs import referenced_file_ids, with_upstream_file_ids
from finops.core.ids import shown_id
from finops.core.models import find_model, page_of_models
from finops.core.normalize import normalize
from finops.core.params import parse_count_tokens_params, parse_message_params
from finops.core.policy import column_for, enforce_policy
from finops.core.routing import split_model
from finops.core.types import JSON, CacheStatus, CallContext, FileRef, MessageResult, MessageStream, Principal
from finops.providers.base import Provider
from finops.providers.embedding import EmbeddingProvider
from finops.providers.registry import ProviderRegistry
from finops.store.files import FileRepository
from finops.store.records import Page

if TYPE_CHECKING:
    from finops.governance.governor import Governance


class MessageService:
    def __init__(
        self,
        providers: ProviderRegistry,
        files: FileRepository,
        governance: Governance | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        self._providers = providers
        self._files = files
        self._governance = governance  # admission (key policy, budget, rate) before the call, pricing after
        self._cache = cache

    # Response cache -----------------------------------------------------------------------------------------------

    def _embedder(self, principal: Principal, request_id: str) -> Embed | None:
        """The semantic layer's embedding call for this request, billed to its caller like any request."""
        settings = self._cache.settings.embedding if self._cache is not None else None
        if settings is None:
            return None
        provider = self._providers.get(settings.provider)
        if not isinstance(provider, EmbeddingProvider):
            return None
        governance = self._governance

        async def embed(texts: list[str]) -> list[list[float]]:
            embedded = await provider.embed(texts, settings.model, settings.dimensions)
            if governance is not None:
                await governance.record_embedding(
                    principal, settings.provider, settings.model, embedded.input_tokens, request_id
                )
            return embedded.vectors

        return embed

    def _lookup(
        self, principal: Principal, provider: str, body: JSON, ctx: CallContext, controls: CacheControls
    ) -> Lookup | None:
        if self._cache is None:
            return None
        return self._cache.lookup(
            principal,
            provider,
            body,
            controls=controls,
            beta=ctx.anthropic_beta,
            raw_body=ctx.raw_body,
            embed=self._embedder(principal, ctx.request_id),
        )

    async def _find(self, lookup: Lookup) -> MessageResult | None:
        hit = await lookup.find()
        if self._governance is not None:
            self._governance.cache_result(lookup.status.result)
        if hit is None:
            return None
        return MessageResult(message=hit.message, usage=hit.message.get("usage") or {})

    async def _find_stream(self, lookup: Lookup) -> MessageStream | None:
        hit = await lookup.find()
        if self._governance is not None:
            self._governance.cache_result(lookup.status.result)
        return lookup.replayed(hit) if hit is not None else None

    # Messages ------------------------------------------------------------------------------------------------------

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
                raise NotFoundError(f"File not found: {shown_id(file_id)}")
            if record.provider != provider:
                raise InvalidRequestError(
                    f"file {file_id} was uploaded to {record.provider}; use it with x-model-provider: {record.provider}"
                )
            upstream_ids[file_id] = record.upstream_id
            files[record.upstream_id] = FileRef(record.upstream_id, record.mime_type, gateway_id=file_id)
        return with_upstream_file_ids(body, upstream_ids), replace(ctx, files=files, raw_body=None)

    async def create(
        self,
        principal: Principal,
        provider_name: str,
        body: JSON,
        ctx: CallContext,
        cache: CacheControls = NO_CONTROLS,
    ) -> MessageResult:
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        lookup = self._lookup(principal, provider.name, body, ctx, cache)  # keyed on the caller's own file IDs
        body, ctx = await self._resolve_files(principal, provider.name, body, ctx)

        async def call() -> MessageResult:
            with gateway_file_ids(ctx.files):
                result = await provider.create_message(body, ctx)
            if lookup is not None:
                lookup.offer(result.message)
            return result

        cached = (lambda: self._find(lookup)) if lookup is not None else None
        if self._governance is None:
            result = (await cached() if cached is not None else None) or await call()
        else:
            result = await self._governance.metered(
                principal, provider.name, body["model"], ctx.request_id, call, cached=cached
            )
        return replace(result, cache=lookup.status) if lookup is not None else result

    def stream(
        self,
        principal: Principal,
        provider_name: str,
        body: JSON,
        ctx: CallContext,
        cache: CacheControls = NO_CONTROLS,
    ) -> AnswerFrames:
        """The Anthropic SSE frames, as the provider produces them (or replayed from the cache); nothing happens
        before the first is pulled."""
        parse_message_params(body)
        provider, body, ctx = self._route(provider_name, body, ctx)
        lookup = self._lookup(principal, provider.name, body, ctx, cache)
        files: dict[str, FileRef] = {}

        async def open_stream() -> MessageStream:
            resolved, call_ctx = await self._resolve_files(principal, provider.name, body, ctx)
            files.update(call_ctx.files)
            live = provider.stream_message(resolved, call_ctx)
            return lookup.storing(live) if lookup is not None else live

        cached = (lambda: self._find_stream(lookup)) if lookup is not None else None
        if self._governance is None:
            return AnswerFrames(_frames(open_stream, cached), files, lookup)
        frames = self._governance.metered_stream(
            principal, provider.name, body["model"], ctx.request_id, open_stream, cached=cached
        )
        return AnswerFrames(frames, files, lookup)

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


class AnswerFrames:
    """A streamed answer's frames; ``cache`` says what the response cache did, once the first frame is out. An
    error raised before the first frame (a status for the caller) names the caller's files, as
    ``gateway_file_ids`` does; it is applied here rather than by one more generator every frame passes through."""

    def __init__(self, frames: AsyncGenerator[bytes, Any], files: Mapping[str, FileRef], lookup: Lookup | None) -> None:
        self._frames = frames
        self._files = files
        self._lookup = lookup

    @property
    def cache(self) -> CacheStatus | None:
        return self._lookup.status if self._lookup is not None else None

    @property
    def rest(self) -> AsyncGenerator[bytes, Any]:
        """The frames after the first, without this wrapper: once a frame is out, a failure is an error frame in
        the stream and there is nothing left to rename, and every layer costs a resumption per event."""
        return self._frames

    def __aiter__(self) -> AnswerFrames:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._frames.__anext__()
        except GatewayError as exc:
            renamed = _renamed(exc, self._files)
            if renamed is exc:
                raise
            raise renamed from exc

    async def aclose(self) -> None:
        await self._frames.aclose()


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


async def _frames(
    open_stream: Callable[[], Awaitable[MessageStream]],
    cached: Callable[[], Awaitable[MessageStream | None]] | None = None,
) -> AsyncGenerator[bytes, None]:
    stream = (await cached() if cached is not None else None) or await open_stream()
    try:
        async for frame in stream:
            yield frame
    finally:
        await stream.aclose()
