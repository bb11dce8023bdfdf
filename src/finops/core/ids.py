"""Gateway IDs: a type prefix plus 24 random base62 characters (~143 bits), like Anthropic's own."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def _random(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_file_id() -> str:
    return f"file_{_random()}"


def new_batch_id() -> str:
    return f"msgbatch_{_random()}"


def new_message_id() -> str:
    return f"msg_{_random()}"


def new_tool_use_id() -> str:
    return f"toolu_{_random()}"


def new_request_id() -> str:
    return f"req_{_random()}"
