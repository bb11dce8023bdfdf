"""Find and remove what an unfinished create left on Gemini (``finops.core.recovery``).

A gateway create names everything it makes after the intent's key: each part batch's ``displayName`` and its
uploaded JSONL input start with it, as does the ``displayName`` of a caller's upload. Recovery pages through the
batch operations (newest first, down to a little before the intent) and the files (Gemini keeps them 48 hours),
and cancels and deletes whatever carries the key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from finops.core.cleanup import quietly
from finops.core.types import JSON
from finops.providers.base import CreateIntent

Call = Callable[..., Awaitable[JSON]]

CLOCK_SKEW = timedelta(minutes=5)
_PAGE = "100"


def upstream_display_name(key: str | None, name: str) -> str:
    return f"{key}-{name}" if key else name


async def _pages(call: Call, path: str, field: str) -> AsyncIterator[JSON]:
    token: str | None = None
    while True:
        params = {"pageSize": _PAGE, **({"pageToken": token} if token else {})}
        page = await call("GET", path, params=params)
        for item in page.get(field) or []:
            yield item
        token = page.get("nextPageToken")
        if not token:
            return


def _created(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


async def remove_created(call: Call, api: str, intent: CreateIntent) -> int:
    prefix = f"{intent.upstream_key}-"
    found = 0
    if intent.kind == "batch":
        floor = intent.created_at - CLOCK_SKEW
        async for operation in _pages(call, f"{api}/batches", "operations"):
            metadata = operation.get("metadata") or {}
            created = _created(metadata.get("createTime"))
            if created is not None and created < floor:
                break
            if str(metadata.get("displayName") or "").startswith(prefix):
                found += 1
                await quietly(call("POST", f"{api}/{operation['name']}:cancel"))
                await quietly(call("DELETE", f"{api}/{operation['name']}"))
    async for file in _pages(call, f"{api}/files", "files"):
        if str(file.get("displayName") or "").startswith(prefix):
            found += 1
            await quietly(call("DELETE", f"{api}/{file['name']}"))
    return found
