"""Canonical shapes. The gateway's pivot dialect is Anthropic's: a request body is a Messages body as JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True)
class Principal:
    """Who is calling: ``owner`` scopes every file and batch; key facts are set for virtual keys."""

    owner: str
    key_id: str | None = None
    key_name: str | None = None
