"""What the translation needs to know about an OpenAI chat model, in one table: whether it reasons (and which
``reasoning_effort`` values it takes) and whether it searches the web.

Sources: OpenAI's reasoning guide and model pages, and the API's own refusals ("Unsupported value: 'minimal' is not
supported with the 'gpt-5.1' model. Supported values are: 'none', 'low', 'medium', and 'high'."):

=====================================  ==========================================  =======================
family                                 ``reasoning_effort`` values                 default
=====================================  ==========================================  =======================
o1, o3, o3-mini, o4-mini, codex-mini   low, medium, high                           medium
o1-mini, o1-preview                    none taken (they reason at a fixed effort)  -
gpt-5, gpt-5-mini, gpt-5-nano          minimal, low, medium, high                  medium
gpt-5.1                                none, low, medium, high                     none
gpt-5.1-codex                          low, medium, high                           medium
gpt-5.2 … gpt-5.5                      none, low, medium, high, xhigh              none
gpt-5.2-pro                            medium, high, xhigh                         medium
gpt-5.6-*                              none, low, medium, high, xhigh, max         none
gpt-6*                                 low, medium, high, xhigh, max               medium
=====================================  ==========================================  =======================

``*-chat-latest`` / ``gpt-5-chat`` models and everything else (gpt-4o, gpt-4.1, gpt-3.5…) do not reason.
Search models are the Chat Completions web search models (``gpt-4o-search-preview``, ``gpt-4o-mini-search-preview``,
``gpt-5-search-api``…): they search the web on every request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
"""Every ``reasoning_effort`` value, from the least reasoning to the most."""

_O_SERIES = ("low", "medium", "high")
_GPT_5 = ("minimal", "low", "medium", "high")
_GPT_5_1 = ("none", "low", "medium", "high")
_GPT_5_2 = ("none", "low", "medium", "high", "xhigh")
_GPT_5_6 = ("none", "low", "medium", "high", "xhigh", "max")
_GPT_6 = ("low", "medium", "high", "xhigh", "max")

# Model-name prefix -> the efforts it takes; the longest matching prefix wins ("gpt-5.1-codex" over "gpt-5.1").
_REASONING_FAMILIES: dict[str, tuple[str, ...]] = {
    "o1-mini": (),
    "o1-preview": (),
    "o1": _O_SERIES,
    "o3": _O_SERIES,
    "o4": _O_SERIES,
    "codex-mini": _O_SERIES,
    "gpt-5": _GPT_5,
    "gpt-5-pro": ("high",),
    "gpt-5.1": _GPT_5_1,
    "gpt-5.1-codex": _O_SERIES,
    "gpt-5.1-codex-max": ("low", "medium", "high", "xhigh"),
    "gpt-5.2": _GPT_5_2,
    "gpt-5.2-pro": ("medium", "high", "xhigh"),
    "gpt-5.3": _GPT_5_2,
    "gpt-5.4": _GPT_5_2,
    "gpt-5.5": _GPT_5_2,
    "gpt-5.6": _GPT_5_6,
    "gpt-6": _GPT_6,
}
_PREFIXES = sorted(_REASONING_FAMILIES, key=len, reverse=True)


@dataclass(frozen=True)
class Reasoning:
    """How a reasoning model takes ``reasoning_effort``."""

    efforts: tuple[str, ...]
    """The values it accepts, least reasoning first; empty when it takes none (it reasons at a fixed effort)."""

    def closest(self, wanted: str) -> str | None:
        """The effort it accepts nearest to ``wanted``: the highest one not above it, else its lowest one."""
        if not self.efforts:
            return None
        rank = EFFORTS.index(wanted)
        below = [effort for effort in self.efforts if EFFORTS.index(effort) <= rank]
        return below[-1] if below else self.efforts[0]

    @property
    def least(self) -> str | None:
        """Its smallest effort (``none`` where it can skip reasoning)."""
        return self.efforts[0] if self.efforts else None


def base_model(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org::id`` -> ``gpt-4o-mini-2024-07-18``; other names unchanged."""
    return model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model


@functools.lru_cache(maxsize=1024)  # asked twice per request: a walk over every family's prefix
def reasoning(model: str) -> Reasoning | None:
    """How ``model`` reasons, or ``None`` if it does not."""
    name = base_model(model)
    if name.endswith("chat-latest") or name.startswith(("gpt-5-chat", "gpt-audio")) or is_search_model(name):
        return None
    for prefix in _PREFIXES:
        # A dated or sized variant ("o4-mini-2025-04-16", "gpt-6.2-astra") belongs to its family; a later point
        # release nobody listed yet ("gpt-5.7") falls back to the family of its major version.
        if name == prefix or name.startswith((f"{prefix}-", f"{prefix}.")):
            return Reasoning(_REASONING_FAMILIES[prefix])
    return None


def is_search_model(model: str) -> bool:
    """Chat Completions' web search models, which search on every request."""
    name = base_model(model)
    return "-search-" in name or name.endswith("-search")


__all__ = ["EFFORTS", "Reasoning", "base_model", "is_search_model", "reasoning"]
