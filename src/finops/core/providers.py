"""The providers the gateway can front: the one list every other module reads.

A leaf (it imports nothing of the gateway), so settings, routing, the adapter registry, pricing and the demo
can all share it. Adding a provider starts here; ``tests/unit/test_providers.py`` then names every table that
needs an entry for it.
"""

from __future__ import annotations

from typing import Literal, TypeGuard

ProviderName = Literal["anthropic", "openai", "gemini", "bedrock"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("anthropic", "openai", "gemini", "bedrock")
DEFAULT_PROVIDER: ProviderName = "anthropic"
"""The provider of a call that names none (no ``x-model-provider`` header), as DESIGN.md specifies."""


def is_provider_name(value: str) -> TypeGuard[ProviderName]:
    return value in PROVIDER_NAMES
