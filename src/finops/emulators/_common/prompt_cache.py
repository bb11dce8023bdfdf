"""Prompt caches: explicit breakpoints (Anthropic, Bedrock) and automatic prefixes (OpenAI, Gemini).

**Explicit** (:class:`BreakpointCache`). A request is a sequence of pieces (tool definitions, system blocks,
message blocks) in the order the model reads them; a breakpoint (Anthropic ``cache_control``, Converse
``cachePoint``) after a piece makes everything up to it a cacheable prefix. As on Anthropic's API, a request
reads the longest prefix already cached that ends at one of its breakpoints or at any of the 20 pieces
before one (so a growing conversation whose breakpoint moves to its last message reads what the previous
turn wrote), and writes the rest up to its last breakpoint. Entries live 5 minutes (``ttl: "1h"``: an hour)
from their last use. Unlike the real services there is no minimum cacheable length, so short test prompts
exercise the cache too.

**Automatic** (:class:`PrefixCache`). OpenAI caches prompts of at least 1,024 tokens in 128-token steps and
Gemini 2.5+ caches repeated prefixes implicitly: a request reports the longest step boundary of its token
sequence that an earlier request (same model) already sent, and stores its own boundaries. Nothing is
reported on a first request, as on the real services.

Both caches are bounded (least recently used entries go first) and live as long as the emulator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from finops.emulators._common.tokens import count_tokens

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
_LOOKBACK = 20
_MAX_ENTRIES = 200_000
_BYTES_PER_MEDIA_TOKEN = 750
Clock = Callable[[], float]


@dataclass(frozen=True)
class Piece:
    material: str
    """A stable rendering of the piece: what the cache key is made of."""
    tokens: int
    breakpoint: str | None = None
    """``None``, or the TTL (``"5m"``/``"1h"``) of a cache breakpoint placed after this piece."""


@dataclass(frozen=True)
class CacheUsage:
    uncached: int
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    """The part of ``cache_write`` written with a one-hour TTL."""
    cache_used: bool = False
    """Whether the request asked for caching at all (Converse only reports cache fields then)."""

    @property
    def total(self) -> int:
        return self.uncached + self.cache_read + self.cache_write


def text_piece(text: str, breakpoint: str | None = None) -> Piece:
    return Piece(material=text, tokens=count_tokens(text), breakpoint=breakpoint)


def media_tokens(encoded: str) -> int:
    """Images and documents cost by size: one token per 750 bytes, at least one."""
    try:
        size = len(base64.b64decode(encoded, validate=False))
    except (binascii.Error, ValueError):
        size = len(encoded)
    return max(1, size // _BYTES_PER_MEDIA_TOKEN)


def media_piece(encoded: str, breakpoint: str | None = None) -> Piece:
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    return Piece(material=f"<media {digest}>", tokens=media_tokens(encoded), breakpoint=breakpoint)


class _Entries:
    """Key -> expiry time, least recently used first, at most ``_MAX_ENTRIES``."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def alive(self, key: str) -> bool:
        expiry = self._expiry.get(key)
        if expiry is None:
            return False
        if expiry < self.clock():
            del self._expiry[key]
            return False
        return True

    def keep(self, key: str, ttl: float) -> None:
        expiry = max(self._expiry.pop(key, 0.0), self.clock() + ttl)
        self._expiry[key] = expiry
        while len(self._expiry) > _MAX_ENTRIES:
            self._expiry.popitem(last=False)

    def clear(self) -> None:
        self._expiry.clear()


class BreakpointCache:
    """Explicit ``cache_control`` / ``cachePoint`` caching, per model."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._entries = _Entries(clock)

    def reset(self) -> None:
        self._entries.clear()

    def account(self, scope: str, pieces: Sequence[Piece]) -> CacheUsage:
        total = sum(piece.tokens for piece in pieces)
        breakpoints = [index for index, piece in enumerate(pieces) if piece.breakpoint]
        if not breakpoints:
            return CacheUsage(uncached=total)
        keys = _prefix_keys(scope, pieces)
        candidates = {i for b in breakpoints for i in range(max(0, b - _LOOKBACK + 1), b + 1)}
        hit = max((i for i in candidates if self._entries.alive(keys[i])), default=-1)
        read = sum(piece.tokens for piece in pieces[: hit + 1])
        written = written_1h = 0
        start = hit + 1
        for index in breakpoints:
            ttl = pieces[index].breakpoint or "5m"
            if index >= start:
                segment = sum(piece.tokens for piece in pieces[start : index + 1])
                written += segment
                written_1h += segment if ttl == "1h" else 0
                start = index + 1
            self._entries.keep(keys[index], TTL_SECONDS.get(ttl, TTL_SECONDS["5m"]))
        if hit >= 0:
            self._entries.keep(keys[hit], TTL_SECONDS["5m"])
        return CacheUsage(
            uncached=total - read - written,
            cache_read=read,
            cache_write=written,
            cache_write_1h=written_1h,
            cache_used=True,
        )


class PrefixCache:
    """Automatic prefix caching of token sequences, per model, in fixed steps above a minimum length."""

    def __init__(self, *, minimum: int, step: int, ttl_seconds: float, clock: Clock = time.monotonic) -> None:
        self.minimum = minimum
        self.step = step
        self.ttl_seconds = ttl_seconds
        self._entries = _Entries(clock)

    def reset(self) -> None:
        self._entries.clear()

    def account(
        self, scope: str, tokens: Sequence[str], *, minimum: int | None = None, ttl_seconds: float | None = None
    ) -> int:
        """The cached prefix length of ``tokens`` (0 on a first request); remembers this request's prefixes."""
        floor = self.minimum if minimum is None else minimum
        if len(tokens) < floor:
            return 0
        digest = hashlib.sha256(scope.encode("utf-8"))
        keys: list[tuple[int, str]] = []
        done = 0
        # A prefix never covers the whole prompt: the tokens after the last step boundary are always processed
        # (as OpenAI's and Gemini's implicit caches do), so a repeated prompt still reports uncached input.
        for boundary in range(floor, len(tokens), self.step):
            digest.update("\x1f".join(tokens[done:boundary]).encode("utf-8"))
            done = boundary
            keys.append((boundary, digest.hexdigest()))
        cached = max((boundary for boundary, key in keys if self._entries.alive(key)), default=0)
        for _, key in keys:
            self._entries.keep(key, self.ttl_seconds if ttl_seconds is None else ttl_seconds)
        return cached


def _prefix_keys(scope: str, pieces: Sequence[Piece]) -> list[str]:
    digest = hashlib.sha256(scope.encode("utf-8"))
    keys = []
    for piece in pieces:
        digest.update(b"\x1f" + piece.material.encode("utf-8"))
        keys.append(digest.hexdigest())
    return keys
