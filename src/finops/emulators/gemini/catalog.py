"""The emulated model catalogue and the per-model traits the fake behaves by."""

from __future__ import annotations

import re
from typing import Any

from finops.emulators.gemini.errors import not_found

_GENERATION_METHODS = ["generateContent", "countTokens", "createCachedContent", "batchGenerateContent"]

# (id, display name, input limit, output limit, thinking)
_MODELS: list[tuple[str, str, int, int, bool]] = [
    ("gemini-1.5-flash", "Gemini 1.5 Flash", 1_000_000, 8_192, False),
    ("gemini-1.5-pro", "Gemini 1.5 Pro", 2_000_000, 8_192, False),
    ("gemini-2.0-flash", "Gemini 2.0 Flash", 1_048_576, 8_192, False),
    ("gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite", 1_048_576, 8_192, False),
    ("gemini-2.5-flash", "Gemini 2.5 Flash", 1_048_576, 65_536, True),
    ("gemini-2.5-flash-lite", "Gemini 2.5 Flash-Lite", 1_048_576, 65_536, True),
    ("gemini-2.5-pro", "Gemini 2.5 Pro", 1_048_576, 65_536, True),
]
_BY_ID = {entry[0]: entry for entry in _MODELS}

# Models not in the list are still served when they look like a Gemini/Gemma id (e.g. "gemini-2.0-flash-001"),
# so a gateway test can use a pinned version without the emulator knowing every release.
_ACCEPTED = re.compile(r"^(gemini|gemma)-[a-z0-9.\-]+$")


def model_id(path_model: str) -> str:
    """``models/gemini-x`` or ``gemini-x`` -> ``gemini-x``; unknown models answer 404 as Google does."""
    name = path_model.removeprefix("models/")
    if name in _BY_ID or _ACCEPTED.match(name):
        return name
    raise not_found(f"models/{name} is not found for API version, or is not supported for generateContent.")


def is_thinking(model: str) -> bool:
    """Gemini 2.5 and later think before answering (thoughtsTokenCount, thought signatures)."""
    if model in _BY_ID:
        return _BY_ID[model][4]
    return "2.5" in model or model.startswith("gemini-3")


def model_resource(model: str) -> dict[str, Any]:
    _, display, input_limit, output_limit, thinking = _BY_ID.get(
        model, (model, model, 1_048_576, 65_536 if is_thinking(model) else 8_192, is_thinking(model))
    )
    resource: dict[str, Any] = {
        "name": f"models/{model}",
        "baseModelId": model,
        "version": "001",
        "displayName": display,
        "description": f"Emulated {display}.",
        "inputTokenLimit": input_limit,
        "outputTokenLimit": output_limit,
        "supportedGenerationMethods": list(_GENERATION_METHODS),
        "temperature": 1.0,
        "maxTemperature": 2.0,
        "topP": 0.95,
        "topK": 64 if thinking else 40,
    }
    if thinking:
        resource["thinking"] = True
    return resource


def all_models() -> list[dict[str, Any]]:
    return [model_resource(entry[0]) for entry in _MODELS]


def get_model(path_model: str) -> dict[str, Any]:
    name = path_model.removeprefix("models/")
    if name not in _BY_ID and not _ACCEPTED.match(name):
        raise not_found(f"Model is not found: models/{name} for api version.")
    return model_resource(name)
