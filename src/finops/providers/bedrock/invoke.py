"""InvokeModel for Claude (pure): the body is Anthropic's own, so translation is nearly the identity.

Everything the Messages API takes passes through: ``role: "system"`` messages, ``thinking``, ``output_config``
(effort and format), ``cache_control`` with its TTL, tools and their options. What the gateway changes: ``model``
and ``stream`` leave the body (the path and the operation carry them, and Bedrock refuses them as "extraneous"),
``anthropic_version`` is Bedrock's, and the client's betas become ``anthropic_beta`` after ``betas.py`` has kept the
ones Bedrock offers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from finops.core.errors import InvalidRequestError
from finops.core.ids import new_message_id
from finops.core.params import CountTokensParams, MessageParams
from finops.core.types import JSON
from finops.providers.bedrock.content import unsupported_source_message
from finops.providers.usage import complete_usage

ANTHROPIC_VERSION = "bedrock-2023-05-31"

# The model goes in the URL path and streaming is chosen by the endpoint; Bedrock's schema rejects both keys
# ("extraneous key [stream] is not permitted").
_INVOKE_STRIPPED_KEYS = ("model", "stream")
_INVOCATION_METRICS_KEY = "amazon-bedrock-invocationMetrics"


def to_invoke_body(params: MessageParams | CountTokensParams, *, anthropic_beta: Sequence[str] | None = None) -> JSON:
    """The InvokeModel body for a Claude model: the Messages body minus ``model``/``stream``, plus Bedrock's
    ``anthropic_version`` and the betas to forward (already filtered, see ``betas.bedrock_betas``)."""
    _reject_file_sources(params["messages"])
    body = {key: value for key, value in params.items() if key not in _INVOKE_STRIPPED_KEYS}
    body["anthropic_version"] = ANTHROPIC_VERSION
    if anthropic_beta:
        body["anthropic_beta"] = list(anthropic_beta)
    return body


def from_invoke_response(body: JSON, *, model: str, message_id: str | None = None) -> JSON:
    """An Anthropic Message from an InvokeModel answer. ``model`` is what the caller asked for (Bedrock echoes
    its own model name); the upstream ``id`` is kept unless the caller supplies ``message_id``."""
    message = {key: value for key, value in body.items() if key != _INVOCATION_METRICS_KEY}
    message["id"] = message_id or message.get("id") or new_message_id()
    message["type"] = "message"
    message["role"] = "assistant"
    message["model"] = model
    message.setdefault("content", [])
    message.setdefault("stop_reason", None)
    message.setdefault("stop_sequence", None)
    message["usage"] = complete_usage(message.get("usage"))
    return message


def _reject_file_sources(messages: Iterable[Mapping[str, Any]]) -> None:
    """Bedrock has no Files API: say so here rather than let Bedrock answer with a vague 400."""
    for position, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for index, block in enumerate(content):
            nested = block.get("content") if block.get("type") == "tool_result" else None
            for item in [block, *(nested if isinstance(nested, list) else [])]:
                source = item.get("source")
                if isinstance(source, dict) and source.get("type") == "file":
                    kind = str(item.get("type", "file"))
                    raise InvalidRequestError(
                        unsupported_source_message("file", kind, f"messages.{position}.content.{index}")
                    )
