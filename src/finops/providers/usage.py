"""Token usage as the client sees it and as the ledger prices it: one shape, one way to combine it.

Anthropic's usage has four counts (``input_tokens`` excludes cache reads and writes). A streamed answer carries
them twice: ``message_start.message.usage`` (what is known before any output) and ``message_delta.usage``, whose
non-null counts replace the earlier ones — exactly how the official SDKs build the final message's usage. The
gateway prices the same fold, so what a client adds up and what the ledger records cannot differ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finops.core.types import JSON, MessageResult

USAGE_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")


def _count(value: Any) -> int:
    return value if type(value) is int else int(value or 0)


def complete_usage(usage: Mapping[str, Any] | None) -> JSON:
    """``usage`` with all four counts as integers (absent or null is 0); other keys (``service_tier``,
    ``cache_creation``, ``server_tool_use``...) are kept."""
    result = dict(usage or {})
    for key in USAGE_KEYS:
        result[key] = _count(result.get(key))
    return result


def fold_usage(current: JSON | None, update: Mapping[str, Any] | None) -> JSON:
    """``current`` (a complete usage, or None before ``message_start``) with every non-null value of ``update``
    (a ``message_delta.usage``) taking over, as the SDKs do."""
    result = complete_usage(current)
    for key, value in (update or {}).items():
        if value is not None:
            result[key] = _count(value) if key in USAGE_KEYS else value
    return result


def message_result(message: JSON) -> MessageResult:
    """A non-streamed answer whose usage, completed in place, is both what the client reads and what is priced."""
    usage = complete_usage(message.get("usage"))
    message["usage"] = usage
    return MessageResult(message=message, usage=usage)
