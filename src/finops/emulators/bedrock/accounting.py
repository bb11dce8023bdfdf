"""Input-token accounting, including the prompt cache both dialects expose.

A request is a sequence of pieces (tool definitions, system blocks, message blocks) in the order the model
reads them. A cache breakpoint (Anthropic ``cache_control`` / Converse ``cachePoint``) after a piece makes
everything up to it a cacheable prefix: the first request with that prefix (per model) writes it, later
ones read it. This is the state that makes the emulator's cache counters move the way Bedrock's do.
Unlike Bedrock there is no minimum cacheable length and no TTL, so short test prompts exercise it too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from finops.emulators._common.tokens import count_tokens

_BYTES_PER_MEDIA_TOKEN = 750


@dataclass(frozen=True)
class Piece:
    material: str
    """A stable rendering of the piece: what the cache key is made of."""
    tokens: int
    breakpoint: bool = False


@dataclass(frozen=True)
class InputUsage:
    uncached: int
    cache_read: int = 0
    cache_write: int = 0
    cache_used: bool = False
    """Whether the request asked for caching at all (Converse only reports cache fields then)."""

    @property
    def total(self) -> int:
        return self.uncached + self.cache_read + self.cache_write


def text_piece(text: str, breakpoint: bool = False) -> Piece:
    return Piece(material=text, tokens=count_tokens(text), breakpoint=breakpoint)


def media_tokens(encoded: str) -> int:
    """Images and documents cost by size: one token per 750 bytes, at least one."""
    try:
        size = len(base64.b64decode(encoded, validate=False))
    except (binascii.Error, ValueError):
        size = len(encoded)
    return max(1, size // _BYTES_PER_MEDIA_TOKEN)


def media_piece(encoded: str, breakpoint: bool = False) -> Piece:
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    return Piece(material=f"<media {digest}>", tokens=media_tokens(encoded), breakpoint=breakpoint)


class PromptCache:
    """Prefixes seen so far, per model; lives as long as the emulator process."""

    def __init__(self) -> None:
        self._prefixes: set[str] = set()

    def reset(self) -> None:
        self._prefixes.clear()

    def account(self, model_id: str, pieces: list[Piece]) -> InputUsage:
        total = sum(piece.tokens for piece in pieces)
        last = max((i for i, piece in enumerate(pieces) if piece.breakpoint), default=None)
        if last is None:
            return InputUsage(uncached=total)
        prefix = pieces[: last + 1]
        prefix_tokens = sum(piece.tokens for piece in prefix)
        key = hashlib.sha256("\x1f".join([model_id, *(p.material for p in prefix)]).encode()).hexdigest()
        if key in self._prefixes:
            return InputUsage(uncached=total - prefix_tokens, cache_read=prefix_tokens, cache_used=True)
        self._prefixes.add(key)
        return InputUsage(uncached=total - prefix_tokens, cache_write=prefix_tokens, cache_used=True)
