"""File references inside Messages bodies: ``{"type": "image"|"document", "source": {"type": "file", "file_id"}}``.

Callers only ever see the gateway's file IDs; the upstream knows its own. These pure helpers find the IDs a body
references (message content and ``tool_result`` content) and rewrite them, copying only what changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from finops.core.types import JSON


def _sources(content: Any) -> Iterator[str]:
    for block in content if isinstance(content, list) else ():
        if not isinstance(block, dict):
            continue
        source = block.get("source")
        if isinstance(source, dict) and source.get("type") == "file" and isinstance(source.get("file_id"), str):
            yield source["file_id"]
        if block.get("type") == "tool_result":
            yield from _sources(block.get("content"))


def referenced_file_ids(body: JSON) -> set[str]:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return set()
    return {
        file_id for message in messages if isinstance(message, dict) for file_id in _sources(message.get("content"))
    }


def _rewrite_content(content: Any, upstream_ids: Mapping[str, str]) -> Any:
    if not isinstance(content, list):
        return content
    rewritten = []
    for block in content:
        if isinstance(block, dict):
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "file" and source.get("file_id") in upstream_ids:
                block = {**block, "source": {**source, "file_id": upstream_ids[source["file_id"]]}}
            if block.get("type") == "tool_result":
                block = {**block, "content": _rewrite_content(block.get("content"), upstream_ids)}
        rewritten.append(block)
    return rewritten


def with_upstream_file_ids(body: JSON, upstream_ids: Mapping[str, str]) -> JSON:
    """``body`` with every referenced gateway file ID replaced by the upstream's ID."""
    messages = [
        {**message, "content": _rewrite_content(message.get("content"), upstream_ids)}
        if isinstance(message, dict)
        else message
        for message in body["messages"]
    ]
    return {**body, "messages": messages}
