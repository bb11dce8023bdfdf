"""IDs shaped like Anthropic's: ``msg_011C...``, ``file_011C...``, ``msgbatch_011C...``, ``req_011C...``."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_BODY_LENGTH = 20
# Anthropic's IDs start with a short version marker ("011C...", "013Z..."); keeping one makes ours look alike.
_MARKER = "011C"


def new_id(prefix: str) -> str:
    """A random, unguessable ID such as ``file_011CAbC...``."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY_LENGTH))
    return f"{prefix}_{_MARKER}{body}"


def stable_id(prefix: str, *parts: str) -> str:
    """An ID derived from ``parts``: batch results must carry the same message IDs on every download."""
    number = int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest(), "big")
    chars = []
    for _ in range(_BODY_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[index])
    return f"{prefix}_{_MARKER}{''.join(chars)}"
