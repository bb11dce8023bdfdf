"""Which models the OpenAI emulator serves, and what kind each is (chat, reasoning, search, embedding).

Chat models are the ``ChatModel`` IDs of the official ``openai`` SDK (3.57), plus fine-tuned ``ft:<base>:...``
IDs of those; anything else is OpenAI's 404 ``model_not_found``. An embedding model sent to Chat
Completions gets the 404 OpenAI gives a non-chat model.
"""

from __future__ import annotations

_CHAT_MODELS_TEXT = """
gpt-6-astra gpt-6.2-astra gpt-6.1-sol gpt-6.2-sol gpt-6.1-terra gpt-6-sol gpt-6-luna gpt-5.6-sol gpt-5.6-terra
gpt-5.6-luna gpt-5.5 gpt-5.5-2026-04-23 gpt-5.4 gpt-5.4-mini gpt-5.4-nano gpt-5.4-mini-2026-03-17
gpt-5.4-nano-2026-03-17 gpt-5.3-chat-latest gpt-5.2 gpt-5.2-2025-12-11 gpt-5.2-chat-latest gpt-5.2-pro
gpt-5.2-pro-2025-12-11 gpt-5.1 gpt-5.1-2025-11-13 gpt-5.1-codex gpt-5.1-mini gpt-5.1-chat-latest gpt-5 gpt-5-mini
gpt-5-nano gpt-5-2025-08-07 gpt-5-mini-2025-08-07 gpt-5-nano-2025-08-07 gpt-5-chat-latest gpt-4.1 gpt-4.1-mini
gpt-4.1-nano gpt-4.1-2025-04-14 gpt-4.1-mini-2025-04-14 gpt-4.1-nano-2025-04-14 o4-mini o4-mini-2025-04-16 o3
o3-2025-04-16 o3-mini o3-mini-2025-01-31 o1 o1-2024-12-17 o1-preview o1-preview-2024-09-12 o1-mini
o1-mini-2024-09-12 gpt-4o gpt-4o-2024-11-20 gpt-4o-2024-08-06 gpt-4o-2024-05-13 gpt-audio-mini
gpt-audio-mini-2025-12-15 gpt-4o-audio-preview gpt-4o-audio-preview-2024-10-01 gpt-4o-audio-preview-2024-12-17
gpt-4o-audio-preview-2025-06-03 gpt-4o-mini-audio-preview gpt-4o-mini-audio-preview-2024-12-17
gpt-4o-search-preview gpt-4o-mini-search-preview gpt-4o-search-preview-2025-03-11
gpt-4o-mini-search-preview-2025-03-11 chatgpt-4o-latest codex-mini-latest gpt-4o-mini gpt-4o-mini-2024-07-18
gpt-4-turbo gpt-4-turbo-2024-04-09 gpt-4-0125-preview gpt-4-turbo-preview gpt-4-1106-preview gpt-4-vision-preview
gpt-4 gpt-4-0314 gpt-4-0613 gpt-4-32k gpt-4-32k-0314 gpt-4-32k-0613 gpt-3.5-turbo gpt-3.5-turbo-16k
gpt-3.5-turbo-0301 gpt-3.5-turbo-0613 gpt-3.5-turbo-1106 gpt-3.5-turbo-0125 gpt-3.5-turbo-16k-0613
"""
CHAT_MODELS = frozenset(_CHAT_MODELS_TEXT.split())

EMBEDDING_MODELS: dict[str, int] = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
"""Embedding model -> its full number of dimensions."""
RESIZABLE_EMBEDDINGS = frozenset({"text-embedding-3-small", "text-embedding-3-large"})
"""The models that accept ``dimensions`` (text-embedding-3 and later)."""


def base_model(model: str) -> str:
    """``ft:gpt-4o-mini-2024-07-18:org::id`` -> ``gpt-4o-mini-2024-07-18``; other IDs unchanged."""
    return model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model


def is_chat_model(model: str) -> bool:
    return base_model(model) in CHAT_MODELS


def is_reasoning_model(model: str) -> bool:
    """o-series and GPT-5 (and later) models reason before answering; their ``chat-latest`` variants do not."""
    name = base_model(model)
    if name.endswith("chat-latest") or name.startswith(("gpt-5-chat", "gpt-audio")) or is_search_model(name):
        return False
    return name.startswith(("o1", "o3", "o4", "gpt-5", "gpt-6", "codex-mini"))


_O_SERIES = ("low", "medium", "high")
_REASONING_EFFORTS: dict[str, tuple[str, ...]] = {
    "o1-mini": (),
    "o1-preview": (),
    "o1": _O_SERIES,
    "o3": _O_SERIES,
    "o4": _O_SERIES,
    "codex-mini": _O_SERIES,
    "gpt-5": ("minimal", "low", "medium", "high"),
    "gpt-5.1": ("none", "low", "medium", "high"),
    "gpt-5.1-codex": _O_SERIES,
    "gpt-5.2": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.2-pro": ("medium", "high", "xhigh"),
    "gpt-5.3": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.4": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.5": ("none", "low", "medium", "high", "xhigh"),
    "gpt-5.6": ("none", "low", "medium", "high", "xhigh", "max"),
    "gpt-6": ("low", "medium", "high", "xhigh", "max"),
}
"""Model family -> the ``reasoning_effort`` values it accepts (OpenAI's reasoning guide and model pages; the API
answers any other value with "Unsupported value: 'minimal' is not supported with the 'gpt-5.1' model.")."""


def reasoning_efforts(model: str) -> tuple[str, ...]:
    """The ``reasoning_effort`` values a reasoning model accepts (empty: it takes the parameter not at all)."""
    name = base_model(model)
    for family in sorted(_REASONING_EFFORTS, key=len, reverse=True):
        if name == family or name.startswith((f"{family}-", f"{family}.")):
            return _REASONING_EFFORTS[family]
    return _O_SERIES


def default_effort(model: str) -> str:
    """What a reasoning model spends without ``reasoning_effort``: ``none`` from GPT-5.1 on, else ``medium``."""
    efforts = reasoning_efforts(model)
    return "none" if "none" in efforts else "medium"


def is_search_model(model: str) -> bool:
    """Chat Completions' web search models (they search on every request)."""
    return "-search-" in base_model(model)
