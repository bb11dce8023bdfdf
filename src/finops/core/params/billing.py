"""Claude Code's billing block: how the gateway recognises it (``core.normalize`` leaves it out upstream).

Claude Code puts ``x-anthropic-billing-header: cc_version=2.1.332.bf1; cc_entrypoint=sdk-cli;`` (sub-agents add
``cc_is_subagent=true;``, other versions ``cch=<hash>;``) as the first text block of ``system``. It is billing
metadata for Anthropic, not prompt text, and it changes from request to request.
"""

from __future__ import annotations

import re
from typing import Any

BILLING_MARKER = "x-anthropic-billing-header:"
BILLING_BLOCK = re.compile(r"x-anthropic-billing-header:( [a-z_]+=[^;\s]*;)+")
"""The whole text of the block: the marker, then one or more ``name=value;`` pairs, on one line."""


def is_billing_block(block: Any) -> bool:
    """A ``system`` text block holding Claude Code's billing header and nothing else: no other text (a prompt that
    merely mentions the header is prompt text) and no cache breakpoint (which would be the caller's own)."""
    if not isinstance(block, dict) or block.get("type") != "text" or block.get("cache_control") is not None:
        return False
    text = block.get("text")
    return (
        isinstance(text, str)
        and text[:64].lstrip().startswith(BILLING_MARKER)  # a slice: system prompts run to tens of kB
        and BILLING_BLOCK.fullmatch(text.strip()) is not None
    )
