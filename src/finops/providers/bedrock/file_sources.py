"""A Bedrock file (an S3 object, see ``storage``) referenced in a message, as the model family can take it (pure).

- Amazon Nova on Converse reads images and documents straight from S3: the source becomes the gateway-internal
  ``{"type": "s3", "uri", "media_type"}``, which ``content`` turns into Converse's ``s3Location``.
- Every other family (Claude's InvokeModel takes no S3 source; AWS documents ``s3Location`` for Nova only) gets
  the object's bytes inline: base64 for images and PDFs, text for ``text/*`` documents.

The adapter reads the bytes (``storage.BedrockFiles.read``); these functions only rewrite the body.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from finops.core.types import JSON
from finops.providers.bedrock.models import base_model_id


@dataclass(frozen=True)
class FileSource:
    media_type: str
    uri: str
    data: bytes | None = None
    """The object's bytes, when they go inline."""


def reads_s3(model: str) -> bool:
    """Whether ``model`` takes Converse's ``s3Location`` for images and documents (Amazon Nova)."""
    return base_model_id(model).startswith("amazon.nova")


def _source(found: FileSource) -> JSON:
    if found.data is None:
        return {"type": "s3", "uri": found.uri, "media_type": found.media_type}
    if found.media_type.startswith("text/"):
        return {"type": "text", "media_type": "text/plain", "data": found.data.decode("utf-8", "replace")}
    return {"type": "base64", "media_type": found.media_type, "data": base64.b64encode(found.data).decode("ascii")}


def _content(content: Any, files: Mapping[str, FileSource]) -> Any:
    if not isinstance(content, list):
        return content
    rewritten = []
    for block in content:
        if isinstance(block, dict):
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "file" and source.get("file_id") in files:
                block = {**block, "source": _source(files[source["file_id"]])}
            if block.get("type") == "tool_result":
                block = {**block, "content": _content(block.get("content"), files)}
        rewritten.append(block)
    return rewritten


def with_file_sources(body: JSON, files: Mapping[str, FileSource]) -> JSON:
    """``body`` with every file source (by S3 key) replaced as ``files`` says."""
    messages = [
        {**message, "content": _content(message.get("content"), files)} if isinstance(message, dict) else message
        for message in body["messages"]
    ]
    return {**body, "messages": messages}
