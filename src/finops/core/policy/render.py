"""``docs/compatibility.md``, written from the field policy so that the page cannot drift from what the gateway does.

Regenerate with ``python -m finops.core.policy.render docs/compatibility.md``; a test fails when the page is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from .clients import render_real_clients
from .rules import ANTHROPIC, BEDROCK_CLAUDE, COLUMN_TITLES, CONVERSE_COLUMNS, GEMINI, OPENAI, Row, Rule, unknown_rule
from .table import ROWS, SECTIONS

_HEADER = """\
# Compatibility: the Anthropic Messages API on each provider

Generated from `src/finops/core/policy/table.py` by `python -m finops.core.policy.render docs/compatibility.md`;
a test fails when this page and the table differ. The contract is the newest official SDK's request types
(`anthropic` 2.14: `MessageCreateParams`, `MessageCountTokensParams`, `BatchCreateParams`), walked by a test that
fails when a field, role, block type or tool type has no row here.

Every feature of a request gets exactly one decision per provider:

* **translated**: the provider's API expresses it (how is said);
* **passthrough**: sent on unchanged and judged by the provider (Anthropic; Claude on Bedrock, whose InvokeModel
  body is Anthropic's own);
* **ignored**: dropped, only where that cannot change the answer (why is said);
* **refused**: a 400 `invalid_request_error` naming the field and the provider, e.g.
  `top_k: not supported by provider 'openai' (model gpt-4o-mini)`, before anything is sent or billed.

The policy is applied to `POST /v1/messages`, `/v1/messages/count_tokens` and every request of a batch, after the
body is checked against the request types (wrong types are a 400 naming the field) and after a `provider/model`
prefix has chosen the provider. On Bedrock the column depends on the model: Claude models go through InvokeModel,
every other family through Converse, where families differ only where a cell says so.

A feature no row names (a beta field, a new block or tool type, a key a known object does not define) is
{unknown_anthropic} on Anthropic and Claude on Bedrock, and **refused** elsewhere: {unknown_note}.
A row marked "when …" is judged only for those values (`disable_parallel_tool_use: false` asks nothing of a provider).
"""


def _cell(rule: Rule) -> str:
    text = f"**{rule.decision.value}**"
    return f"{text}: {rule.note}" if rule.note else text


def _converse_cell(row: Row) -> str:
    rules = [row.rules[column] for column in CONVERSE_COLUMNS]
    if all(rule == rules[0] for rule in rules):
        return _cell(rules[0])
    return "<br>".join(f"{COLUMN_TITLES[column]}: {_cell(row.rules[column])}" for column in CONVERSE_COLUMNS)


def _feature(row: Row) -> str:
    return f"`{row.key}` (when {row.when})" if row.when else f"`{row.key}`"


def _section(title: str) -> Iterator[str]:
    yield f"## {title}"
    yield ""
    yield "| feature | anthropic | openai | gemini | bedrock: Claude (InvokeModel) | bedrock: Converse families |"
    yield "|---|---|---|---|---|---|"
    for row in ROWS.values():
        if row.section == title:
            cells = [_cell(row.rules[column]) for column in (ANTHROPIC, OPENAI, GEMINI, BEDROCK_CLAUDE)]
            yield f"| {_feature(row)} | {' | '.join(cells)} | {_converse_cell(row)} |"
    yield ""


def render_compatibility() -> str:
    unknown = unknown_rule(OPENAI)
    lines = [
        _HEADER.format(unknown_anthropic=f"**{unknown_rule(ANTHROPIC).decision.value}**", unknown_note=unknown.note)
    ]
    families = ", ".join(COLUMN_TITLES[column] for column in CONVERSE_COLUMNS)
    lines.append(f"The Converse families the last column tells apart where they differ: {families}.\n")
    for title in SECTIONS:
        lines.extend(_section(title))
    lines.append(render_real_clients())
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str]) -> None:
    text = render_compatibility()
    if len(argv) > 1:
        Path(argv[1]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
