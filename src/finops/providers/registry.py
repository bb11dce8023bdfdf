"""Provider name -> adapter class. The names themselves are ``finops.core.providers``; adapters are imported
lazily so an optional provider's dependencies load only when that provider is configured."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Literal

from finops.config import ProviderSettings
from finops.core.errors import InvalidRequestError
from finops.core.providers import ProviderName
from finops.providers.base import Provider

ADAPTERS: dict[ProviderName, str] = {
    "anthropic": "finops.providers.anthropic.adapter:AnthropicProvider",
    "openai": "finops.providers.openai.adapter:OpenAIProvider",
    "gemini": "finops.providers.gemini.adapter:GeminiProvider",
    "bedrock": "finops.providers.bedrock.adapter:BedrockProvider",
}


def _load(path: str) -> Callable[[ProviderSettings], Provider]:
    module_name, _, attribute = path.partition(":")
    adapter: Callable[[ProviderSettings], Provider] = getattr(importlib.import_module(module_name), attribute)
    return adapter


class ProviderRegistry:
    def __init__(self, providers: Mapping[str, Provider]) -> None:
        self._providers = dict(providers)

    @classmethod
    def from_settings(cls, settings: Mapping[ProviderName, ProviderSettings]) -> ProviderRegistry:
        return cls({name: _load(ADAPTERS[name])(config) for name, config in settings.items()})

    def get(self, name: str, *, needs: Literal["files", "batches"] | None = None) -> Provider:
        """The adapter for ``name``; with ``needs``, refused with the provider's own explanation if it lacks it."""
        provider = self._providers.get(name)
        if provider is None:
            configured = ", ".join(sorted(self._providers)) or "none"
            raise InvalidRequestError(
                f"x-model-provider: provider {name!r} is not configured on this gateway (configured: {configured})"
            )
        if needs is not None and not getattr(provider.capabilities, needs):
            raise InvalidRequestError(provider.capabilities.refusal_for(needs))
        return provider

    def names(self) -> list[str]:
        return sorted(self._providers)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
