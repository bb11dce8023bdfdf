"""Handle on a running emulator's test control plane (``/_emulator/*``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx


@cache
def _control() -> httpx.Client:
    """One client for every control call: ``httpx.post`` builds a client (and its TLS context, ~0.1 s) per call."""
    return httpx.Client(timeout=30)


@dataclass(frozen=True)
class EmulatorHandle:
    base_url: str

    def request_count(self) -> int:
        return _control().get(f"{self.base_url}/_emulator/requests").json()["count"]

    def requests(self) -> list[dict[str, Any]]:
        """``method``, ``path``, ``query`` and, for a JSON request, the parsed body as ``json``."""
        return _control().get(f"{self.base_url}/_emulator/requests").json()["requests"]

    def reset(self) -> None:
        _control().post(f"{self.base_url}/_emulator/reset").raise_for_status()

    def fail_next(self, status: int, *, count: int = 1, path_prefix: str = "", delay_seconds: float = 0.0) -> None:
        spec = {"status": status, "count": count, "path_prefix": path_prefix, "delay_seconds": delay_seconds}
        _control().post(f"{self.base_url}/_emulator/faults", json=spec).raise_for_status()

    def cut_next(self, after_bytes: int, *, mode: str = "reset", path_prefix: str = "") -> None:
        """The next matching answer stops after ``after_bytes`` body bytes: the connection drops (``reset``) or
        the body ends cleanly (``end``)."""
        spec = {"status": 0, "count": 1, "path_prefix": path_prefix, "cut_after_bytes": after_bytes, "cut": mode}
        _control().post(f"{self.base_url}/_emulator/faults", json=spec).raise_for_status()
