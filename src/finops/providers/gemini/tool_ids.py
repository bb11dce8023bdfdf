"""Anthropic ``tool_use`` ids that carry Gemini's ``thoughtSignature`` across turns.

Gemini rejects a later turn whose function calls lost their signature (finish reason
``MISSING_THOUGHT_SIGNATURE``), and an Anthropic client only echoes back ``tool_use`` blocks as it received
them, so the signature rides in the id.
"""

from __future__ import annotations

import base64
import binascii
import re

from finops.core.ids import new_tool_use_id

# Encoded form: ``toolu_gsig_<hex(call id)>_<base64url(signature), unpadded>``.
# * Anthropic ids must match ``^[a-zA-Z0-9_-]+$``; hex and base64url stay inside that alphabet.
# * The call id is hex so that it holds no ``_``: the first ``_`` after the prefix ends it, and the signature
#   (base64url may contain ``_``) is simply the rest. Any call id and any signature string round-trip exactly.
# * The call id is what goes upstream as functionCall.id / functionResponse.id: Gemini's own id when it sent
#   one, otherwise a minted ``toolu_...`` id (so parallel calls to one function still pair with their
#   results).
_SIGNED_ID_PREFIX = "toolu_gsig_"
_SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def _b64url_encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _b64url_decode(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def encode_tool_use_id(call_id: str | None, signature: str | None) -> str:
    """The Anthropic ``tool_use.id`` for a Gemini functionCall (its optional ``id`` and ``thoughtSignature``).

    Without a signature a safe Gemini id is used as-is, and a missing one is minted (``toolu_...``)."""
    call_id = call_id or new_tool_use_id()
    if not signature and _SAFE_ID.match(call_id) and not call_id.startswith(_SIGNED_ID_PREFIX):
        return call_id
    return f"{_SIGNED_ID_PREFIX}{call_id.encode().hex()}_{_b64url_encode(signature or '')}"


def decode_tool_use_id(tool_use_id: str) -> tuple[str, str | None]:
    """(functionCall id to send upstream, thoughtSignature or None) for an Anthropic ``tool_use.id``.

    Ids not in the encoded form (minted by Anthropic, by another provider, or plain Gemini ids) are their own
    call id and carry no signature."""
    if tool_use_id.startswith(_SIGNED_ID_PREFIX):
        hex_id, _, encoded_signature = tool_use_id.removeprefix(_SIGNED_ID_PREFIX).partition("_")
        try:
            call_id = bytes.fromhex(hex_id).decode()
            signature = _b64url_decode(encoded_signature)
        except (ValueError, binascii.Error):
            return tool_use_id, None
        if call_id:
            return call_id, signature or None
    return tool_use_id, None
