"""Find and remove what an unfinished create left on OpenAI (``finops.core.recovery``).

Every upstream object a gateway create makes carries the intent's key: each part batch has it in its metadata
(``finops_intent``), each file (a part's JSONL input, a caller's upload) starts its file name with it. Recovery
pages through the newest batches and files, down to a little before the intent was opened, and cancels and deletes
whatever carries the key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from finops.core.cleanup import quietly
from finops.core.types import JSON
from finops.providers.base import CreateIntent

Call = Callable[..., Awaitable[JSON]]

METADATA_KEY = "finops_intent"
CLOCK_SKEW = timedelta(minutes=5)
"""Upstream ``created_at`` is OpenAI's clock; the intent's is the gateway's."""
_PAGE = 100


def upstream_file_name(key: str | None, name: str) -> str:
    """The name a created file gets upstream: the intent's key first, so recovery can find it."""
    return f"{key}-{name}" if key else name


async def _newest(call: Call, path: str, since: datetime) -> AsyncIterator[JSON]:
    """Objects of ``path`` (batches or files), newest first, until they are older than ``since``."""
    after: str | None = None
    floor = (since - CLOCK_SKEW).timestamp()
    while True:
        params: dict[str, Any] = {"limit": _PAGE}
        if path == "/files":
            params["order"] = "desc"
        if after:
            params["after"] = after
        page = await call("GET", path, params=params)
        data = page.get("data") or []
        for item in data:
            if int(item.get("created_at") or 0) < floor:
                return
            yield item
        if not page.get("has_more") or not data:
            return
        after = data[-1]["id"]


async def remove_created(call: Call, intent: CreateIntent) -> int:
    found = 0
    if intent.kind == "batch":
        async for batch in _newest(call, "/batches", intent.created_at):
            if (batch.get("metadata") or {}).get(METADATA_KEY) != intent.upstream_key:
                continue
            found += 1
            await quietly(call("POST", f"/batches/{batch['id']}/cancel"))
    async for file in _newest(call, "/files", intent.created_at):
        if str(file.get("filename") or "").startswith(f"{intent.upstream_key}-"):
            found += 1
            await quietly(call("DELETE", f"/files/{file['id']}"))
    return found
