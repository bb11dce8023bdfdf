"""Anthropic content blocks -> Converse content blocks (pure).

Shapes follow botocore's ``bedrock-runtime`` service model; blobs (image and document bytes) stay base64 strings,
as they travel in the rest-json wire format. The field policy (``core/policy``) has refused what Bedrock cannot take
before anything here runs; the ``InvalidRequestError``s below are the backstop for direct callers (batches, tests).

Prompt caching: a block carrying ``cache_control`` (or holding one, like a ``tool_result`` whose text does) is
followed by a ``cachePoint`` when the model caches, so the prefix up to and including it is written and then read,
as Anthropic's breakpoint is. ``ttl`` is passed on (Converse's ``CachePointBlock.ttl``: ``5m`` / ``1h``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from finops.core.errors import InvalidRequestError
from finops.core.params import (
    CacheControlEphemeralParam,
    ContentBlockParam,
    DocumentBlockParam,
    ImageBlockParam,
    MessageContentParam,
    SearchResultBlockParam,
    TextBlockParam,
    ToolResultBlockParam,
)
from finops.core.types import JSON

IMAGE_FORMATS: dict[str, str] = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}

DOCUMENT_FORMATS: dict[str, str] = {
    "application/pdf": "pdf",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/html": "html",
    "text/markdown": "md",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
}

# Converse names every document, and a name may hold only letters, digits, single spaces, hyphens,
# parentheses and square brackets (at most 200 characters).
_DOCUMENT_NAME_BAD_CHARS_RE = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_DOCUMENT_NAME_MAX = 200
TOOL_NAME_MAX = 64


def cache_point(control: CacheControlEphemeralParam) -> JSON:
    """A Converse ``cachePoint`` for an Anthropic ``cache_control`` (its TTL kept)."""
    point: JSON = {"type": "default"}
    if control.get("ttl"):
        point["ttl"] = control["ttl"]
    return {"cachePoint": point}


@dataclass(frozen=True)
class ContentOptions:
    """What the target model family can take, decided once per request."""

    caches: bool = False
    """Follow blocks marked with ``cache_control`` by a ``cachePoint``."""
    claude: bool = False
    """Claude reads its own earlier reasoning (signed) and ``searchResult`` blocks; other families get neither."""


@dataclass
class DocumentNamer:
    """Gives each Converse document a valid, unique name (Bedrock rejects duplicates within a request)."""

    used: set[str] = field(default_factory=set)

    def name_for(self, title: str | None) -> str:
        base = " ".join(_DOCUMENT_NAME_BAD_CHARS_RE.sub(" ", title or "").split())[:_DOCUMENT_NAME_MAX].strip()
        base = base or f"document {len(self.used) + 1}"
        name, counter = base, 2
        while name in self.used:
            suffix = f" ({counter})"
            name = base[: _DOCUMENT_NAME_MAX - len(suffix)] + suffix
            counter += 1
        self.used.add(name)
        return name


@dataclass
class ContentTranslator:
    """Turns the blocks of one request into Converse blocks (document names are unique per request)."""

    options: ContentOptions
    names: DocumentNamer = field(default_factory=DocumentNamer)

    def message(self, content: MessageContentParam, *, where: str) -> list[JSON]:
        if isinstance(content, str):
            return [{"text": content}]
        blocks: list[JSON] = []
        for index, block in enumerate(content):
            blocks += self.block(block, where=f"{where}.{index}")
        return blocks

    def system_text(self, blocks: Iterable[TextBlockParam]) -> list[JSON]:
        """Text blocks of ``system`` or of a system message: Converse system text must not be empty (an empty
        Anthropic text block adds nothing), cache points follow their marked blocks."""
        result: list[JSON] = []
        for block in blocks:
            if block["text"]:
                result.append({"text": block["text"]})
            result += self._cache_point(block.get("cache_control"))
        return result

    def block(self, block: ContentBlockParam, *, where: str) -> list[JSON]:
        """The Converse blocks for one Anthropic block (none, one, or a few: a document built from content
        blocks is followed by its images, a cached block by its ``cachePoint``)."""
        kind = block["type"]
        if block["type"] == "text":
            return [{"text": block["text"]}, *self._cache_point(block.get("cache_control"))]
        if block["type"] == "image":
            return [{"image": image(block, where=where)}, *self._cache_point(block.get("cache_control"))]
        if block["type"] == "document":
            return [*self.document(block, where=where), *self._cache_point(block.get("cache_control"))]
        if block["type"] == "search_result":
            return [self.search_result(block), *self._cache_point(block.get("cache_control"))]
        if block["type"] == "tool_use":
            check_tool_name(block["name"], where=where)
            use = {"toolUseId": block["id"], "name": block["name"], "input": block["input"]}
            return [{"toolUse": use}, *self._cache_point(block.get("cache_control"))]
        if block["type"] == "tool_result":
            return [{"toolResult": self.tool_result(block, where=where)}, *self._cache_point(_marked(block))]
        if block["type"] == "thinking":
            # Claude needs its signed reasoning back to continue a tool use; other families cannot read it and
            # Anthropic drops earlier turns' reasoning from the context anyway.
            if not self.options.claude:
                return []
            return [
                {"reasoningContent": {"reasoningText": {"text": block["thinking"], "signature": block["signature"]}}}
            ]
        if block["type"] == "redacted_thinking":
            return [{"reasoningContent": {"redactedContent": block["data"]}}] if self.options.claude else []
        raise InvalidRequestError(f"{where}: content block type {kind!r} is not supported on Bedrock Converse")

    def document(self, block: DocumentBlockParam, *, where: str) -> list[JSON]:
        """A ``document`` block; one built from content blocks keeps its text in a ``txt`` document and its
        images as ``image`` blocks right after it (a Converse document holds text only)."""
        source = block["source"]
        images: list[JSON] = []
        s3 = s3_source(source)
        if s3 is not None:
            uri, media_type = s3
            document_format = DOCUMENT_FORMATS.get(media_type)
            if document_format is None:
                raise InvalidRequestError(
                    f"{where}: a file of type {media_type!r} cannot be a document on Bedrock "
                    f"(use one of {', '.join(DOCUMENT_FORMATS)})"
                )
            document: JSON = {
                "format": document_format,
                "name": self.names.name_for(block.get("title")),
                "source": {"s3Location": {"uri": uri}},
            }
            return [{"document": document}]
        if source["type"] == "base64":
            document_format = DOCUMENT_FORMATS.get(source["media_type"])
            if document_format is None:
                raise InvalidRequestError(
                    f"{where}: document media_type {source['media_type']!r} is not supported on Bedrock "
                    f"(use one of {', '.join(DOCUMENT_FORMATS)})"
                )
            data = source["data"]
        elif source["type"] == "text":
            document_format, data = "txt", _b64_text(source["data"])
        elif source["type"] == "content":
            inner = source["content"]
            texts: list[str] = []
            if isinstance(inner, str):
                texts.append(inner)
            else:
                for index, item in enumerate(inner):
                    if item["type"] == "text":
                        texts.append(item["text"])
                    elif item["type"] == "image":
                        images.append({"image": image(item, where=f"{where}.source.content.{index}")})
            if not texts:
                return images
            document_format, data = "txt", _b64_text("\n\n".join(texts))
        else:
            raise InvalidRequestError(unsupported_source_message(source["type"], "document", where))
        document = {
            "format": document_format,
            "name": self.names.name_for(block.get("title")),
            "source": {"bytes": data},
        }
        if block.get("context"):
            document["context"] = block["context"]
        citations = block.get("citations")
        if citations and citations.get("enabled"):
            document["citations"] = {"enabled": True}
        return [{"document": document}, *images]

    def search_result(self, block: SearchResultBlockParam) -> JSON:
        """Claude reads ``searchResult`` blocks (and cites them); other families get the result as text."""
        texts = [item["text"] for item in block["content"]]
        if self.options.claude:
            result: JSON = {
                "source": block["source"],
                "title": block["title"],
                "content": [{"text": text} for text in texts],
            }
            citations = block.get("citations")
            if citations and citations.get("enabled"):
                result["citations"] = {"enabled": True}
            return {"searchResult": result}
        return {"text": search_result_text(block["title"], block["source"], texts)}

    def tool_result(self, block: ToolResultBlockParam, *, where: str) -> JSON:
        content = block.get("content")
        converted: list[JSON] = []
        if isinstance(content, str):
            if content:
                converted.append({"text": content})
        elif content:
            for index, item in enumerate(content):
                item_where = f"{where}.content.{index}"
                if item["type"] == "text":
                    converted.append({"text": item["text"]})
                elif item["type"] == "image":
                    converted.append({"image": image(item, where=item_where)})
                elif item["type"] == "document":
                    converted += self.document(item, where=item_where)
                elif item["type"] == "search_result":
                    converted.append(self.search_result(item))
                else:
                    raise InvalidRequestError(
                        f"{item_where}: tool_result content {item['type']!r} is not supported on Bedrock Converse"
                    )
        return {
            "toolUseId": block["tool_use_id"],
            "content": converted,
            "status": "error" if block.get("is_error") else "success",
        }

    def _cache_point(self, control: CacheControlEphemeralParam | None) -> list[JSON]:
        return [cache_point(control)] if control and self.options.caches else []


def _marked(block: ToolResultBlockParam) -> CacheControlEphemeralParam | None:
    """The ``cache_control`` of a tool result, or of the last block inside it that has one (Converse cannot put a
    cache point inside a tool result, so it goes right after it)."""
    if block.get("cache_control"):
        return block["cache_control"]
    content = block.get("content")
    if isinstance(content, list):
        for item in reversed(content):
            control = item.get("cache_control")
            if isinstance(control, dict):
                return control
    return None


def s3_source(source: Mapping[str, Any]) -> tuple[str, str] | None:
    """(S3 URI, media type) of the gateway-internal ``s3`` source (a Bedrock file for Nova, see
    ``file_sources``); ``None`` for every Anthropic source type."""
    if source.get("type") != "s3":
        return None
    return str(source["uri"]), str(source["media_type"])


def image(block: ImageBlockParam, *, where: str) -> JSON:
    source = block["source"]
    s3 = s3_source(source)
    if s3 is not None:
        image_format = IMAGE_FORMATS.get(s3[1])
        if image_format is None:
            raise InvalidRequestError(f"{where}: a file of type {s3[1]!r} cannot be an image on Bedrock")
        return {"format": image_format, "source": {"s3Location": {"uri": s3[0]}}}
    if source["type"] != "base64":
        raise InvalidRequestError(unsupported_source_message(source["type"], "image", where))
    image_format = IMAGE_FORMATS.get(source["media_type"])
    if image_format is None:
        raise InvalidRequestError(
            f"{where}: image media_type {source['media_type']!r} is not supported on Bedrock "
            f"(use one of {', '.join(IMAGE_FORMATS)})"
        )
    # The base64 text is exactly what the rest-json wire carries for a blob: no decoding needed.
    return {"format": image_format, "source": {"bytes": source["data"]}}


def search_result_text(title: str, source: str, texts: Sequence[str]) -> str:
    """A search result as plain text, for models without ``searchResult`` blocks: what Claude reads, minus the
    ability to cite it."""
    return "\n".join([f"Search result: {title}", f"Source: {source}", *texts])


def tool_description(description: str | None, examples: Sequence[object] | None) -> str | None:
    """A tool's description with its ``input_examples`` appended (Converse tools have no examples field; the
    model reads them where Anthropic's API would render them, beside the tool's definition)."""
    if not examples:
        return description or None
    rendered = "\n".join(orjson.dumps(example).decode() for example in examples)
    intro = "Examples of valid input:"
    return f"{description}\n\n{intro}\n{rendered}" if description else f"{intro}\n{rendered}"


def check_tool_name(name: str, *, where: str) -> None:
    if not 1 <= len(name) <= TOOL_NAME_MAX:
        raise InvalidRequestError(f"{where}: Bedrock tool names must be 1 to {TOOL_NAME_MAX} characters")


def unsupported_source_message(source_type: str, kind: str, where: str) -> str:
    if source_type == "url":
        return f"{where}: Bedrock cannot fetch {kind} URLs; send the {kind} inline as base64"
    if source_type == "file":
        return f"{where}: Bedrock has no Files API; send the {kind} inline as base64"
    return f"{where}: {kind} source type {source_type!r} is not supported on Bedrock"


def _b64_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
