"""Gateway IDs: a type prefix plus 24 random base62 characters (~143 bits), like Anthropic's own.

The characters come from one ``os.urandom`` call mapped onto base62 without bias (bytes past the last whole
multiple of 62 are dropped), instead of 24 ``secrets.choice`` calls: a request ID is minted on every request,
and the per-character calls showed at ~5 % of a request's CPU.
"""

from __future__ import annotations

import os
import string

_ALPHABET = (string.ascii_letters + string.digits).encode()
_UNBIASED = 4 * len(_ALPHABET)  # 248: bytes below it map onto base62 uniformly
_TO_BASE62 = bytes(_ALPHABET[byte % len(_ALPHABET)] for byte in range(_UNBIASED)) + bytes(256 - _UNBIASED)
_DROP = bytes(range(_UNBIASED, 256))


def _random(length: int = 24) -> str:
    chars = b""
    while len(chars) < length:
        chars += os.urandom(length + 8).translate(_TO_BASE62, _DROP)
    return chars[:length].decode("ascii")


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
