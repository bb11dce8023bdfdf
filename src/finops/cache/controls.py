"""What the cache does for one request: the gateway's config, then the virtual key's, then the request's headers,
each overriding the one before.

Request headers (a bad value is a 400 ``invalid_request_error`` naming the header):

- ``x-finops-cache: off|exact|semantic`` — the layers to use (``semantic`` = exact first, then semantic);
- ``x-finops-cache-ttl: <seconds>`` — how long the answer of this request is kept (1 s to 365 days);
- ``x-finops-cache-threshold: <0..1>`` — the cosine similarity a semantic hit needs;
- ``x-finops-cache-no-store: true`` — look up, but never store this request's answer;
- ``x-finops-cache-store-truncated: true`` — store the answer even if ``max_tokens`` cut it.

Answer headers: ``x-finops-cache: hit|miss|bypass`` whenever the cache is in play for the request (``bypass``
when the request turned it off), and ``x-finops-cache-similarity`` on a semantic hit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from finops.core.errors import InvalidRequestError

Mode = Literal["off", "exact", "semantic"]
MODES: tuple[Mode, ...] = ("off", "exact", "semantic")
MAX_TTL_SECONDS = 365 * 24 * 3600

MODE_HEADER = "x-finops-cache"
TTL_HEADER = "x-finops-cache-ttl"
THRESHOLD_HEADER = "x-finops-cache-threshold"
NO_STORE_HEADER = "x-finops-cache-no-store"
STORE_TRUNCATED_HEADER = "x-finops-cache-store-truncated"
SIMILARITY_HEADER = "x-finops-cache-similarity"


@dataclass(frozen=True)
class CacheControls:
    """Overrides for one request (from headers) or one key (from its ``cache`` field); ``None`` = inherit."""

    mode: Mode | None = None
    ttl_seconds: int | None = None
    threshold: float | None = None
    no_store: bool = False
    store_truncated: bool | None = None

    @property
    def given(self) -> bool:
        return (
            self.mode is not None
            or self.ttl_seconds is not None
            or self.threshold is not None
            or self.no_store
            or self.store_truncated is not None
        )


NO_CONTROLS = CacheControls()


@dataclass(frozen=True)
class CachePolicy:
    """The resolved behaviour for one request."""

    mode: Mode
    ttl_seconds: int
    threshold: float
    store: bool
    store_truncated: bool
    explicit_off: bool = False
    """The request (or its key) turned the cache off: answered ``x-finops-cache: bypass``."""

    @property
    def active(self) -> bool:
        return self.mode != "off"


def _flag(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise InvalidRequestError(f"{name}: must be true or false, got {value!r}")


def parse_mode(name: str, value: Any) -> Mode:
    lowered = value.strip().lower() if isinstance(value, str) else value
    for mode in MODES:
        if lowered == mode:
            return mode
    raise InvalidRequestError(f"{name}: must be one of {', '.join(MODES)}, got {value!r}")


def parse_ttl(name: str, value: Any) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str) and text.isascii() and text.isdigit():
        seconds = int(text)
    elif isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        seconds = -1
    if not 1 <= seconds <= MAX_TTL_SECONDS:
        raise InvalidRequestError(f"{name}: must be a whole number of seconds from 1 to {MAX_TTL_SECONDS}")
    return seconds


def parse_threshold(name: str, value: Any) -> float:
    try:
        threshold = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if isinstance(value, bool) or not 0.0 <= threshold <= 1.0:  # NaN fails both comparisons
        raise InvalidRequestError(f"{name}: must be a number from 0 to 1, got {value!r}")
    return threshold


def controls_from_headers(headers: Mapping[str, str]) -> CacheControls:
    """The request's cache headers, checked; no header costs four dictionary lookups."""
    mode = headers.get(MODE_HEADER)
    ttl = headers.get(TTL_HEADER)
    threshold = headers.get(THRESHOLD_HEADER)
    no_store = headers.get(NO_STORE_HEADER)
    truncated = headers.get(STORE_TRUNCATED_HEADER)
    if mode is None and ttl is None and threshold is None and no_store is None and truncated is None:
        return NO_CONTROLS
    return CacheControls(
        mode=parse_mode(MODE_HEADER, mode) if mode is not None else None,
        ttl_seconds=parse_ttl(TTL_HEADER, ttl) if ttl is not None else None,
        threshold=parse_threshold(THRESHOLD_HEADER, threshold) if threshold is not None else None,
        no_store=_flag(NO_STORE_HEADER, no_store) if no_store is not None else False,
        store_truncated=_flag(STORE_TRUNCATED_HEADER, truncated) if truncated is not None else None,
    )


def controls_from_key(field: Mapping[str, Any] | None) -> CacheControls:
    """A virtual key's ``cache`` field (validated when the key was written)."""
    if not field:
        return NO_CONTROLS
    return CacheControls(
        mode=field.get("mode"),
        ttl_seconds=field.get("ttl_seconds"),
        threshold=field.get("threshold"),
        store_truncated=field.get("store_truncated"),
    )


@dataclass(frozen=True)
class CacheDefaults:
    """The gateway-wide settings a policy starts from (``cache`` in the config)."""

    mode: Mode
    ttl_seconds: int
    threshold: float
    store_truncated: bool


def resolve(defaults: CacheDefaults, key: CacheControls, request: CacheControls) -> CachePolicy:
    """Request over key over gateway."""
    mode = request.mode or key.mode or defaults.mode
    ttl = request.ttl_seconds or key.ttl_seconds or defaults.ttl_seconds
    threshold = next(value for value in (request.threshold, key.threshold, defaults.threshold) if value is not None)
    truncated = next(
        value for value in (request.store_truncated, key.store_truncated, defaults.store_truncated) if value is not None
    )
    return CachePolicy(
        mode=mode,
        ttl_seconds=ttl,
        threshold=threshold,
        store=not request.no_store,
        store_truncated=truncated,
        explicit_off=mode == "off" and (request.mode == "off" or key.mode == "off"),
    )
