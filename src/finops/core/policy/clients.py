"""The "Real clients" section of ``docs/compatibility.md``: what Claude Code and the TypeScript SDK send and how
each provider answers. The prose is kept here; the decisions come from the policy rows, so they cannot drift."""

from __future__ import annotations

from collections.abc import Iterator

from .features import BILLING_BLOCK
from .rules import ANTHROPIC, BEDROCK_CLAUDE, BEDROCK_NOVA, GEMINI, OPENAI
from .table import ROWS

# (what Claude Code 2.1.332 sends, the row that decides it)
CLAUDE_CODE_FEATURES: tuple[tuple[str, str], ...] = (
    ('a `role: "system"` message after the first user turn (environment, deferred tool names)', "role: system"),
    (
        '`thinking: {type: "adaptive", display: "updates"}` (models it does not know, and `claude-opus-5-5`)',
        "thinking: adaptive",
    ),
    ('`thinking: {type: "enabled", budget_tokens: 31999}` (the Sonnet 4.x IDs it knows)', "thinking: enabled"),
    ("`output_config: {effort}`", "output_config.effort"),
    (
        '`context_management: {edits: [{type: "clear_thinking_20251015", keep: "all"}]}`',
        "context_management: clear_thinking_20251015",
    ),
    ("`system[0]`: `x-anthropic-billing-header: cc_version=…; cc_entrypoint=sdk-cli;`", BILLING_BLOCK),
    ("`metadata.user_id` (a ~170-character JSON: device, account, session)", "metadata"),
    ("`cache_control` on the last system block, the last user block and tool results", "text.cache_control"),
    ("`DeferredToolPlaceholder` with `defer_loading: true`", "tool.defer_loading"),
    ("`tool_reference` blocks in a `tool_result` after its ToolSearch tool", "tool_result content: tool_reference"),
    ("its earlier answers' `thinking` blocks, echoed back", "assistant turn: thinking"),
)
_COLUMNS = (
    (ANTHROPIC, "anthropic"),
    (OPENAI, "openai"),
    (GEMINI, "gemini"),
    (BEDROCK_CLAUDE, "Bedrock Claude"),
    (BEDROCK_NOVA, "Bedrock Nova"),
)

_INTRO = """\
## Real clients

Two real clients run against `finops serve --demo` in CI, at the versions `tests/clients/package-lock.json`
pins: **Claude Code 2.1.332** (`@anthropic-ai/claude-code`, a native binary bundling the Anthropic JS SDK 0.128) in
print mode (`tests/integration/test_claude_code.py`) and **`@anthropic-ai/sdk` 1.14** on Node
(`tests/integration/test_typescript_sdk.py`, checks in `tests/clients/sdk_checks.mjs`). Set
`FINOPS_CLIENT_CAPTURE_DIR` to keep every request and answer of a run as JSON.

### Claude Code

Each case reads a file with the Read tool and answers with the secret token in it, on anthropic (the default
model `claude-opus-5-5` and `claude-sonnet-4-5-20250929`), openai (`gpt-4o-mini`), gemini (`gemini-2.5-flash`),
Bedrock Claude (`us.anthropic.claude-sonnet-4-20250514-v1:0`) and Bedrock Nova (`amazon.nova-lite-v1:0`). Each
passes when Claude Code exits 0 with the token, the gateway answered no 4xx/5xx, it took fewer than 20 model
calls, and the usage Claude Code reports (`modelUsage`, summed over models) is the ledger's.

- **Routes.** In print mode with its non-essential traffic off (as the tests run it): only `POST
  /v1/messages?beta=true`, always `stream: true`. Otherwise also `HEAD /api/hello` at start-up (answered 200).
  `POST /v1/messages/count_tokens` (sizing large MCP tool results) and `GET /v1/models?limit=1000` (its model
  picker) exist in it; both work on every provider (models are listed as the provider names them).
- **Headers.** `x-api-key` (or `Authorization: Bearer` with `ANTHROPIC_AUTH_TOKEN`), `anthropic-version`,
  `anthropic-beta`, `x-app: cli`, `user-agent: claude-cli/…`, `x-claude-code-session-id`, and whatever
  `ANTHROPIC_CUSTOM_HEADERS` holds: `x-model-provider: openai` picks the provider. `anthropic-beta` lists
  `claude-code-20250219`, `interleaved-thinking-2025-05-14`, `context-management-2025-06-27`, and for some models
  `advanced-tool-use-2025-11-20`, `effort-2025-11-24`, `thinking-token-count-2026-05-13`,
  `thinking-display-updates-2026-08-18`, `mid-conversation-tool-changes-2026-07-01`, `per-turn-control-2026-07-01`:
  Anthropic receives them all, Claude on Bedrock those Bedrock offers (the others are dropped and logged), the
  other providers none (the features they switch on are the rows below).
- **On a 400** Claude Code assumes a beta is at fault and retries the same turn up to six times, dropping betas
  one by one, then prints `API Error: 400 …` and exits 1: a refusal costs a few quick calls, never a loop.
- **Models.** Its default with an API key is `claude-opus-5-5`. It picks Haiku for some agents and side tasks:
  on another provider, set `ANTHROPIC_DEFAULT_HAIKU_MODEL` (and `_SONNET_`/`_OPUS_`) to that provider's models,
  or name them `provider/model`.
- **Usage.** It reads input and cache counts from `message_start` and the final counts from `message_delta`;
  the gateway sends all four counts in both, equal to the ledger's row.
- **Offline.** Installed with `npm ci --ignore-scripts` (its `install.cjs` only links the platform binary npm
  fetched); with the switches `tests/support/claude_code.py` sets and the proxy variables pointed at a closed
  port, it reaches no host but the gateway.

What it sends and what each provider does with it (the rows above say how):

"""

_TYPESCRIPT = """
`tool_use.caller: {type: "direct"}`, `text.citations: null` and `tool_result.is_error: false` come back in its
history too; they ask for nothing and are not judged.

### TypeScript SDK

`@anthropic-ai/sdk` 1.14 calls `/v1/...` without `?beta=true` or `anthropic-beta` (files, structured outputs and
batches are GA there). On anthropic, openai, gemini, Bedrock Claude and Bedrock Nova it checks, and passes:
`messages.create`; `messages.stream().finalMessage()`; a tool round trip (`tool_use` → `tool_result` → text); a
system message mid-conversation; structured output (`zodOutputFormat`) parsed against its schema; thinking
(`enabled`, streamed and not, and `adaptive`: thinking blocks where the provider returns reasoning, else
`usage.output_tokens_details.thinking_tokens`); prompt caching (a write where the provider bills writes, a read
on the repeat); `countTokens`; `models.list({limit: 2})` and `models.retrieve`; `provider/model` routing with no
header for messages, `models.retrieve` and batches; files (upload with `toFile`, list, retrieve, download where
the provider allows it, delete) and a whole batch workflow (create, poll, results iterated, cancel) — on Bedrock,
a refusal that speaks of files for files calls and of batch jobs for batch calls; and that the usage the SDK
reports is the ledger's.
"""


def _claude_code_matrix() -> Iterator[str]:
    yield "| Claude Code sends | " + " | ".join(title for _, title in _COLUMNS) + " |"
    yield "|---" * (len(_COLUMNS) + 1) + "|"
    for sent, key in CLAUDE_CODE_FEATURES:
        rules = ROWS[key].rules
        cells = " | ".join(rules[column].decision.value for column, _ in _COLUMNS)
        yield f"| {sent} (`{key}`) | {cells} |"


def render_real_clients() -> str:
    return _INTRO + "\n".join(_claude_code_matrix()) + "\n" + _TYPESCRIPT
