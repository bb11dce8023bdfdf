"""Which ``anthropic-beta`` values go to Claude on Bedrock (InvokeModel's ``anthropic_beta``).

Bedrock refuses a request that names a beta it does not offer with ``400 invalid beta flag`` (reported against
Claude Code itself: anthropics/claude-code#56595, #49370, #49648; LiteLLM filters to an allowlist,
BerriAI/litellm#19877), and clients such as Claude Code send Anthropic's whole list. So the gateway forwards only
the betas Bedrock offers and decides for each other one:

- a beta that only changes behaviour or the answer's extras (``oauth-2025-04-20``, ``thinking-token-count-...``)
  gates nothing in the request body: it is dropped (and logged by the adapter);
- a beta whose request field is in the body (``mcp_servers`` needs ``mcp-client-...``) cannot be honoured on
  Bedrock, and dropping it would drop the field's meaning: the call is refused with a 400 naming both;
- tool search is offered under another name on Bedrock (``tool-search-tool-2025-10-19`` for Anthropic's
  ``advanced-tool-use-2025-11-20``, as Anthropic's tool-search docs say for Bedrock and Vertex).

Sources of the allowlist: AWS's "Anthropic Claude Messages API" parameters page as quoted in
BerriAI/litellm#19877 (computer use, token-efficient tools, interleaved thinking, 128k output, full thinking, 1M
context, context management, effort, tool search, tool examples); ``claude-code-20250219`` accepted by Bedrock
(anthropics/claude-code#49648, router-for-me/CLIProxyAPI#4750); the later betas LiteLLM's Bedrock Invoke table
forwards (``litellm/anthropic_beta_headers_config.json``: compaction, ``computer-use-2025-11-24``, fine-grained tool
streaming, the mid-conversation and thinking-display betas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from finops.core.errors import InvalidRequestError

BEDROCK_BETAS = frozenset(
    {
        "claude-code-20250219",
        "compact-2026-01-12",
        "computer-use-2024-10-22",
        "computer-use-2025-01-24",
        "computer-use-2025-11-24",
        "context-1m-2025-08-07",
        "context-management-2025-06-27",
        "dev-full-thinking-2025-05-14",
        "effort-2025-11-24",
        "fine-grained-tool-streaming-2025-05-14",
        "interleaved-thinking-2025-05-14",
        "mid-conversation-output-config-2026-07-01",
        "mid-conversation-tool-changes-2026-07-01",
        "output-128k-2025-02-19",
        "thinking-display-updates-2026-08-18",
        "token-efficient-tools-2025-02-19",
        "tool-examples-2025-10-29",
        "tool-search-tool-2025-10-19",
    }
)
"""What Bedrock's InvokeModel accepts in ``anthropic_beta`` for Claude (sources above)."""

BEDROCK_NAMES: Mapping[str, str] = {"advanced-tool-use-2025-11-20": "tool-search-tool-2025-10-19"}
"""Anthropic betas Bedrock offers under its own name."""

Body = Mapping[str, Any]


def _tools_of_type(*prefixes: str) -> Callable[[Body], str | None]:
    def uses(body: Body) -> str | None:
        for index, tool in enumerate(body.get("tools") or []):
            if isinstance(tool, dict) and str(tool.get("type") or "").startswith(prefixes):
                return f"tools.{index} ({tool['type']})"
        return None

    return uses


def _field(name: str) -> Callable[[Body], str | None]:
    return lambda body: name if body.get(name) is not None else None


def _system_message_controls(body: Body) -> str | None:
    for index, message in enumerate(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "system":
            for key in ("output_config", "clear_at"):
                if message.get(key) is not None:
                    return f"messages.{index}.{key}"
    return None


# What the body must not use when its beta is missing on Bedrock, by the beta's name without its date.
_GATED: Mapping[str, Callable[[Body], str | None]] = {
    "mcp-client": _field("mcp_servers"),
    "skills": _field("container"),
    "fast-mode": _field("speed"),
    "code-execution": _tools_of_type("code_execution"),
    "web-search": _tools_of_type("web_search"),
    "web-fetch": _tools_of_type("web_fetch"),
    "advisor-tool": _tools_of_type("advisor"),
    "per-turn-control": _system_message_controls,
}


@dataclass(frozen=True)
class BedrockBetas:
    forwarded: list[str]
    """What goes in ``anthropic_beta``, in the client's order, without repeats."""
    dropped: list[str]
    """Betas Bedrock does not offer that gate nothing in this body (the adapter logs them)."""


def _undated(beta: str) -> str:
    """``mcp-client`` for ``mcp-client-2025-11-20`` (the date is the beta's version)."""
    parts = beta.split("-")
    return "-".join(parts[:-3]) if len(parts) > 3 and all(part.isdigit() for part in parts[-3:]) else beta


def bedrock_betas(requested: Iterable[str], body: Body) -> BedrockBetas:
    """Split the client's betas into those Bedrock takes (renamed where Bedrock names them differently) and those
    to drop; raise a 400 for a beta Bedrock lacks whose request field ``body`` uses."""
    forwarded: list[str] = []
    dropped: list[str] = []
    for beta in requested:
        name = BEDROCK_NAMES.get(beta, beta)
        if name in BEDROCK_BETAS:
            if name not in forwarded:
                forwarded.append(name)
            continue
        gate = _GATED.get(_undated(beta))
        used = gate(body) if gate else None
        if used is not None:
            raise InvalidRequestError(
                f"anthropic-beta: {beta!r} is not available for Claude on Bedrock, and the request uses {used}, "
                "which needs it; remove the field or use the anthropic provider"
            )
        dropped.append(beta)
    return BedrockBetas(forwarded, dropped)
