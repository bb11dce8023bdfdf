"""Deterministic reasoning: what the emulated models think, how long, and the signature proving it.

Every provider reports reasoning differently (Anthropic ``thinking`` blocks, Gemini ``thought`` parts,
OpenAI only a ``reasoning_tokens`` count, Bedrock ``reasoningContent``), but the amount follows one table so
the emulators agree: an effort level maps to a token count, plus up to 15 tokens that depend on the request
(so different prompts think for different lengths), never more than the caller's budget.
"""

from __future__ import annotations

import base64
import hashlib

from finops.emulators._common.replies import truncate_to_tokens
from finops.emulators._common.tokens import count_tokens

EFFORT_TOKENS: dict[str, int] = {
    "none": 0,
    "minimal": 8,
    "low": 24,
    "medium": 48,
    "high": 96,
    "xhigh": 144,
    "max": 192,
}
"""Reasoning tokens per effort level, before the request-dependent part."""

_PADDING = " Checking the request once more before answering."


def reasoning_tokens(effort: str, request: str, *, budget: int | None = None) -> int:
    """How many tokens the model reasons for at ``effort`` (0 for ``none``), capped by ``budget``."""
    base = EFFORT_TOKENS.get(effort, EFFORT_TOKENS["medium"])
    if base == 0:
        return 0
    tokens = base + _digest(request)[0] % 16
    return tokens if budget is None else max(0, min(tokens, budget))


def thinking_text(request: str, tokens: int, *, plan: str) -> str:
    """Readable reasoning about ``request``, exactly ``tokens`` tokens long; ``plan`` says what comes next."""
    if tokens <= 0:
        return ""
    topic = " ".join(request.split())[:160] or "(no question)"
    text = f"The user asks: {topic}. {plan}"
    while count_tokens(text) < tokens:
        text += _PADDING
    return truncate_to_tokens(text, tokens)[0]


def signature(model: str, thinking: str) -> str:
    """An opaque, deterministic signature for a thinking block (base64, as the real ones are)."""
    return base64.b64encode(b"finops-emulated-thinking:" + _digest(f"{model}\x00{thinking}")).decode()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()
