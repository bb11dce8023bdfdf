"""Final usage of an Anthropic SSE stream, for adapters that relay the stream without filling ``ctx.usage``.

Only ``data:`` lines that mention ``"usage"`` are parsed (``message_start`` and ``message_delta``), so the
per-frame cost is a split and a substring search. ``message_delta`` usage is cumulative and overrides ``message_start``.
"""

from __future__ import annotations

from typing import Any

import orjson


class SSEUsage:
    def __init__(self) -> None:
        self._pending = b""
        self.usage: dict[str, Any] | None = None

    def feed(self, chunk: bytes) -> None:
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        if len(self._pending) > 1 << 20:  # no SSE line is that long; do not buffer without bound
            self._pending = b""
        for line in lines:
            if line.startswith(b"data:") and b'"usage"' in line:
                self._take(line[5:])

    def _take(self, payload: bytes) -> None:
        try:
            event = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(event, dict):
            return
        usage = event.get("usage") or (event.get("message") or {}).get("usage")
        if isinstance(usage, dict):
            self.usage = {**(self.usage or {}), **{k: v for k, v in usage.items() if v is not None}}
