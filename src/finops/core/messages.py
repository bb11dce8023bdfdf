"""Messages: validate, pick the provider (header or ``provider/model``), call the adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from finops.core.errors import InvalidRequestError
from finops.core.routing import split_model
from finops.core.types import JSON, Principal
from finops.core.validation import validate_message_params
from finops.providers.base import CallContext, Provider
from finops.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from finops.governance.governor import Governance


class MessageService:
    def __init__(self, providers: ProviderRegistry, governance: Governance | None = None) -> None:
        self._providers = providers
        self._governance = governance  # admission (key policy, budget, rate) before the call, pricing after

    def _route(self, provider_name: str, body: JSON, ctx: CallContext) -> tuple[Provider, JSON]:
        chosen, model = split_model(provider_name, body["model"])
        if model != body["model"]:
            body = {**body, "model": model}
            ctx.raw_body = None  # the body changed: the client's bytes no longer describe it
        ctx.model = model
        return self._providers.get(chosen), body

    async def create(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> JSON:
        validate_message_params(body)
        provider, body = self._route(provider_name, body, ctx)
        if self._governance is None:
            return await provider.create_message(body, ctx)
        return await self._governance.metered(
            principal, provider.name, body["model"], ctx, lambda: provider.create_message(body, ctx)
        )

    def stream(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> AsyncIterator[bytes]:
        """The Anthropic SSE frames, as the provider produces them."""
        validate_message_params(body)
        provider, body = self._route(provider_name, body, ctx)
        if self._governance is None:
            return provider.stream_message(body, ctx)
        return self._governance.metered_stream(
            principal, provider.name, body["model"], ctx, lambda: provider.stream_message(body, ctx)
        )

    async def count_tokens(self, principal: Principal, provider_name: str, body: JSON, ctx: CallContext) -> JSON:
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            raise InvalidRequestError("model: Field required")
        provider, body = self._route(provider_name, body, ctx)
        return await provider.count_tokens(body, ctx)

    async def list_models(self, provider_name: str, ctx: CallContext) -> list[JSON]:
        return await self._providers.get(provider_name).list_models(ctx)
