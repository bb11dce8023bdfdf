"""Gateway IDs: a type prefix plus 24 random base62 characters (~143 bits), like Anthropic's own.

The characters come from ``os.urandom`` mapped onto base62 without bias (bytes past the last whole multiple of
62 are dropped), instead of 24 ``secrets.choice`` calls: a request ID is minted on every request, and the
per-character calls showed at ~5 % of a request's CPU. The random bytes are read 1 KiB at a time (one
``getrandom`` system call per ~40 IDs, where one per ID still showed in profiles); a forked child starts with an
empty buffer, so two processes never hand out the same characters.
"""

from __future__ import annotations

import os
import string
import threading

_ALPHABET = (string.ascii_letters + string.digits).encode()
_UNBIASED = 4 * len(_ALPHABET)  # 248: bytes below it map onto base62 uniformly
_TO_BASE62 = bytes(_ALPHABET[byte % len(_ALPHABET)] for byte in range(_UNBIASED)) + bytes(256 - _UNBIASED)
_DROP = bytes(range(_UNBIASED, 256))


_lock = threading.Lock()
_buffer = b""


def _forget_buffer() -> None:
    global _buffer
    _buffer = b""


os.register_at_fork(after_in_child=_forget_buffer)


def _random(length: int = 24) -> str:
    global _buffer
    with _lock:
        while len(_buffer) < length:
            _buffer += os.urandom(1024).translate(_TO_BASE62, _DROP)
        chars, _buffer = _buffer[:length], _buffer[length:]
    return chars.decode("ascii")


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


def new_intent_key() -> str:
    """An upstream create's intent: its row's ID and what is sent upstream to find the object again. Short enough
    for every provider's display-name field, distinctive enough to match nothing else."""
    return f"finops-{_random(20)}"
