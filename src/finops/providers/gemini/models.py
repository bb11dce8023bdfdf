"""What the gateway knows of a Gemini model from its name: how it thinks, and which tools it combines.

Gemini's thinking knobs differ by generation (Google's thinking guide): Gemini 2.5 takes a token budget
(``thinkingBudget``, ``-1`` = dynamic) within per-model bounds, Gemini 3 takes a ``thinkingLevel`` (Pro: low and
high; Flash and Flash-Lite also minimal and medium), and earlier models (1.x, 2.0, Gemma) refuse any
``thinkingConfig``. A name the gateway does not recognise is sent budget-style and left for Gemini to judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ThinkingStyle = Literal["none", "budget", "level", "unknown"]

_VERSION = re.compile(r"^gemini-(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class ModelFamily:
    name: str
    """What the refusals call the family (``Gemini 2.5 Pro``)."""
    thinking: ThinkingStyle
    can_stop_thinking: bool = False
    """Whether ``thinkingBudget: 0`` (2.5) or ``thinkingLevel: minimal`` (3) leaves thinking off."""
    min_budget: int = 1
    """The smallest positive ``thinkingBudget`` (``budget`` models)."""
    max_budget: int | None = None
    levels: tuple[str, ...] = ()
    """``thinkingLevel`` values (the spec's enum names), lowest first (``level`` models)."""
    combines_builtin_and_function_tools: bool = False
    """Google Search (and the other built-in tools) beside function declarations in one request: Gemini 3 only,
    and only with the server-side tool invocations circulated (Google's tool-combination guide)."""

    @property
    def reads_json_schema(self) -> bool:
        """Structured output as JSON Schema (``responseJsonSchema``): Gemini 2.5 and later; earlier models take
        only the OpenAPI subset (``responseSchema``)."""
        return self.thinking != "none"


_NO_THINKING = ModelFamily("Gemini before 2.5", "none")
_UNKNOWN = ModelFamily("an unrecognised Gemini model", "unknown")
_PRO_25 = ModelFamily("Gemini 2.5 Pro", "budget", min_budget=128, max_budget=32768)
_FLASH_25 = ModelFamily("Gemini 2.5 Flash", "budget", can_stop_thinking=True, max_budget=24576)
_FLASH_LITE_25 = ModelFamily(
    "Gemini 2.5 Flash-Lite", "budget", can_stop_thinking=True, min_budget=512, max_budget=24576
)
_PRO_3 = ModelFamily("Gemini 3 Pro", "level", levels=("LOW", "HIGH"), combines_builtin_and_function_tools=True)
# Gemini 3 Flash's ``MINIMAL`` is "no thinking for most queries"; it is the closest Gemini 3 comes to off.
_FLASH_3 = ModelFamily(
    "Gemini 3 Flash",
    "level",
    levels=("MINIMAL", "LOW", "MEDIUM", "HIGH"),
    combines_builtin_and_function_tools=True,
)


def model_family(model: str) -> ModelFamily:
    """The family of a bare Gemini model name (``gemini-2.5-flash``, ``gemini-3-pro-preview``)."""
    if model.startswith(("gemma-", "learnlm-")):
        return _NO_THINKING
    match = _VERSION.match(model)
    if match is None:
        return _UNKNOWN  # aliases (``gemini-flash-latest``) move between generations: Gemini judges
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    if major < 2 or (major == 2 and minor < 5):
        return _NO_THINKING
    if major == 2:
        if "-pro" in model:
            return _PRO_25
        return _FLASH_LITE_25 if "-flash-lite" in model else _FLASH_25
    return _PRO_3 if "-pro" in model else _FLASH_3
