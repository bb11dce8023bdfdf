"""The emulated model catalogue and the per-model traits the fake behaves by.

Only listed models (and their pinned versions and ``-latest`` aliases) are served; any other name is Google's
404 ``NOT_FOUND``, as is a chat model asked to embed or an embedding model asked to generate. Traits follow
Google's model pages: Gemini 2.5 and later think (2.5 Pro and Gemini 3 cannot stop thinking, Flash-Lite
thinks only when given a budget, Gemini 3 takes ``thinkingLevel``: Pro only LOW and HIGH) and cache repeated
prompt prefixes implicitly (from 1,024 tokens, 2,048 on Pro); older models do neither. Only Gemini 3 takes
built-in tools beside function declarations (Google's tool-combination guide: "Gemini 3 models only").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from finops.emulators.gemini.errors import not_found

Kind = Literal["chat", "embedding"]
_CHAT_METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]
_EMBEDDING_METHODS = ["embedContent", "batchEmbedContents", "countTokens"]
CHAT_METHODS = frozenset({"generateContent", "streamGenerateContent", "countTokens", "batchGenerateContent"})
EMBEDDING_METHODS = frozenset({"embedContent", "batchEmbedContents", "countTokens"})


@dataclass(frozen=True)
class Traits:
    display: str
    kind: Kind = "chat"
    input_limit: int = 1_048_576
    output_limit: int = 8_192
    thinks: bool = False
    thinks_by_default: bool = False
    can_stop_thinking: bool = True
    thinking_levels: tuple[str, ...] = ()
    """The ``thinkingLevel`` values the model takes (Gemini 3 Pro: LOW and HIGH only; Flash all four)."""
    combines_tools: bool = False
    """Built-in tools (Google Search, code execution) beside function declarations: Gemini 3 only."""
    cache_minimum: int = 0
    """Smallest prompt implicit caching applies to; 0 = no implicit caching."""
    dimensions: int = 0
    """Embedding size (embedding models)."""
    resizable: bool = False
    """Whether ``outputDimensionality`` is accepted (embedding models)."""


_OLD = Traits("Gemini")
_FLASH = Traits("Gemini 2.5 Flash", output_limit=65_536, thinks=True, thinks_by_default=True, cache_minimum=1024)
_LITE = Traits("Gemini 2.5 Flash-Lite", output_limit=65_536, thinks=True, cache_minimum=1024)
_PRO = Traits(
    "Gemini 2.5 Pro", output_limit=65_536, thinks=True, thinks_by_default=True, can_stop_thinking=False,
    cache_minimum=2048,
)  # fmt: skip
_THREE = Traits(
    "Gemini 3", output_limit=65_536, thinks=True, thinks_by_default=True, can_stop_thinking=False,
    thinking_levels=("MINIMAL", "LOW", "MEDIUM", "HIGH"), combines_tools=True, cache_minimum=1024,
)  # fmt: skip

_MODELS: dict[str, Traits] = {
    "gemini-1.5-flash": Traits("Gemini 1.5 Flash", input_limit=1_000_000),
    "gemini-1.5-flash-001": Traits("Gemini 1.5 Flash 001", input_limit=1_000_000),
    "gemini-1.5-flash-002": Traits("Gemini 1.5 Flash 002", input_limit=1_000_000),
    "gemini-1.5-flash-8b": Traits("Gemini 1.5 Flash-8B", input_limit=1_000_000),
    "gemini-1.5-pro": Traits("Gemini 1.5 Pro", input_limit=2_000_000),
    "gemini-1.5-pro-001": Traits("Gemini 1.5 Pro 001", input_limit=2_000_000),
    "gemini-1.5-pro-002": Traits("Gemini 1.5 Pro 002", input_limit=2_000_000),
    "gemini-2.0-flash": Traits("Gemini 2.0 Flash"),
    "gemini-2.0-flash-001": Traits("Gemini 2.0 Flash 001"),
    "gemini-2.0-flash-lite": Traits("Gemini 2.0 Flash-Lite"),
    "gemini-2.0-flash-lite-001": Traits("Gemini 2.0 Flash-Lite 001"),
    "gemini-2.5-flash": _FLASH,
    "gemini-2.5-flash-preview-05-20": _FLASH,
    "gemini-2.5-flash-preview-09-2025": _FLASH,
    "gemini-flash-latest": _FLASH,
    "gemini-2.5-flash-lite": _LITE,
    "gemini-2.5-flash-lite-preview-06-17": _LITE,
    "gemini-2.5-flash-lite-preview-09-2025": _LITE,
    "gemini-flash-lite-latest": _LITE,
    "gemini-2.5-pro": _PRO,
    "gemini-2.5-pro-preview-05-06": _PRO,
    "gemini-2.5-pro-preview-06-05": _PRO,
    "gemini-pro-latest": _PRO,
    "gemini-3-pro-preview": replace(
        _THREE, display="Gemini 3 Pro Preview", thinking_levels=("LOW", "HIGH"), cache_minimum=2048
    ),
    "gemini-3-flash-preview": replace(_THREE, display="Gemini 3 Flash Preview"),
    "gemma-3-27b-it": _OLD,
    "gemma-3-12b-it": _OLD,
    "gemma-3-4b-it": _OLD,
    "gemma-3-1b-it": _OLD,
    "gemini-embedding-001": Traits(
        "Gemini Embedding 001", kind="embedding", input_limit=2048, output_limit=1, dimensions=3072, resizable=True
    ),
    "text-embedding-004": Traits(
        "Text Embedding 004", kind="embedding", input_limit=2048, output_limit=1, dimensions=768, resizable=True
    ),
    "embedding-001": Traits("Embedding 001", kind="embedding", input_limit=2048, output_limit=1, dimensions=768),
}
_LISTED = [
    "gemini-1.5-flash",
    "gemini-1.5-pro",
    "gemini-2.0-flash",
    "gemini-2.0-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-2.5-pro",
    "gemini-3-pro-preview",
    "gemini-3-flash-preview",
    "gemini-embedding-001",
    "text-embedding-004",
]


def model_id(path_model: str, *, method: str = "generateContent", version: str = "v1beta") -> str:
    """``models/gemini-x`` or ``gemini-x`` -> ``gemini-x``, or Google's 404 for a model ``method`` cannot use."""
    name = path_model.removeprefix("models/")
    traits = _MODELS.get(name)
    allowed = EMBEDDING_METHODS if traits is not None and traits.kind == "embedding" else CHAT_METHODS
    if traits is None or method not in allowed:
        raise not_found(
            f"models/{name} is not found for API version {version}, or is not supported for {method}. "
            "Call ListModels to see the list of available models and their supported methods."
        )
    return name


def traits(model: str) -> Traits:
    return _MODELS[model]


def is_thinking(model: str) -> bool:
    """Gemini 2.5 and later think before answering (thoughtsTokenCount, thought signatures)."""
    return traits(model).thinks


def model_resource(model: str) -> dict[str, Any]:
    info = traits(model)
    embedding = info.kind == "embedding"
    resource: dict[str, Any] = {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": info.display,
        "description": f"Emulated {info.display}.",
        "inputTokenLimit": info.input_limit,
        "outputTokenLimit": info.output_limit,
        "supportedGenerationMethods": list(_EMBEDDING_METHODS if embedding else _CHAT_METHODS),
    }
    if not embedding:
        resource.update(temperature=1.0, maxTemperature=2.0, topP=0.95, topK=64 if info.thinks else 40)
    if info.thinks:
        resource["thinking"] = True
    return resource


def all_models() -> list[dict[str, Any]]:
    return [model_resource(name) for name in _LISTED]


def get_model(path_model: str) -> dict[str, Any]:
    name = path_model.removeprefix("models/")
    if name not in _MODELS:
        raise not_found(f"Model is not found: models/{name} for api version.")
    return model_resource(name)
