"""The vocabulary of the field policy: what the gateway does with a request feature on one provider.

Each request feature (a top-level field, a message role, a block type, a tool type…) gets exactly one decision per
column, a column being a provider, or a Bedrock model family where Bedrock's translation differs by family:

* ``translated``: the translator expresses it in the provider's API (``note`` says how);
* ``passthrough``: sent on unchanged, the provider judges it (Anthropic, and Claude through Bedrock InvokeModel);
* ``ignored``: dropped, only where that cannot change the answer (``note`` says why);
* ``refused``: a 400 naming the field and the provider, before anything is sent or billed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from finops.providers.bedrock.models import is_anthropic_model, model_family


class Decision(StrEnum):
    TRANSLATED = "translated"
    PASSTHROUGH = "passthrough"
    IGNORED = "ignored"
    REFUSED = "refused"


@dataclass(frozen=True)
class Rule:
    decision: Decision
    note: str = ""


def translated(how: str) -> Rule:
    return Rule(Decision.TRANSLATED, how)


def ignored(why: str) -> Rule:
    return Rule(Decision.IGNORED, why)


def refused(note: str = "") -> Rule:
    """``note``: what to do instead, or what the translator would need (shown in the 400 and in the table)."""
    return Rule(Decision.REFUSED, note)


PASSTHROUGH = Rule(Decision.PASSTHROUGH)

# Columns, in the order the compatibility table shows them. Bedrock sends Claude models through InvokeModel (the
# Anthropic body, passed through) and every other family through Converse, whose request differs by family only
# where a family takes extra fields (top_k today).
ANTHROPIC = "anthropic"
OPENAI = "openai"
GEMINI = "gemini"
BEDROCK_CLAUDE = "bedrock/claude"
BEDROCK_NOVA = "bedrock/nova"
BEDROCK_LLAMA = "bedrock/llama"
BEDROCK_MISTRAL = "bedrock/mistral"
BEDROCK_COHERE = "bedrock/cohere"
BEDROCK_OTHER = "bedrock/other"

CONVERSE_COLUMNS = (BEDROCK_NOVA, BEDROCK_LLAMA, BEDROCK_MISTRAL, BEDROCK_COHERE, BEDROCK_OTHER)
COLUMNS = (ANTHROPIC, OPENAI, GEMINI, BEDROCK_CLAUDE, *CONVERSE_COLUMNS)

COLUMN_TITLES: Mapping[str, str] = {
    ANTHROPIC: "anthropic",
    OPENAI: "openai",
    GEMINI: "gemini",
    BEDROCK_CLAUDE: "Bedrock Claude (InvokeModel)",
    BEDROCK_NOVA: "Nova/Titan (`amazon.*`)",
    BEDROCK_LLAMA: "Llama (`meta.*`)",
    BEDROCK_MISTRAL: "Mistral (`mistral.*`)",
    BEDROCK_COHERE: "Cohere (`cohere.*`)",
    BEDROCK_OTHER: "other families",
}

_CONVERSE_FAMILIES = {
    "amazon": BEDROCK_NOVA,
    "meta": BEDROCK_LLAMA,
    "mistral": BEDROCK_MISTRAL,
    "cohere": BEDROCK_COHERE,
}


def column_for(provider: str, model: str) -> str:
    """The policy column of a call: the provider, or for Bedrock the API and model family the model uses."""
    if provider != "bedrock":
        return provider
    if is_anthropic_model(model):
        return BEDROCK_CLAUDE
    return _CONVERSE_FAMILIES.get(model_family(model), BEDROCK_OTHER)


def present(value: Any) -> bool:
    return value is not None


def is_true(value: Any) -> bool:
    return value is True


@dataclass(frozen=True)
class Row:
    """One request feature and its decision in every column.

    ``active`` says which values switch the feature on: ``tool_choice.disable_parallel_tool_use: false`` asks
    for nothing a provider must do, so only ``true`` is judged.
    """

    key: str
    section: str
    rules: Mapping[str, Rule]
    active: Callable[[Any], bool] = field(default=present, compare=False)
    when: str = ""
    """How the table describes ``active`` when it is not "present" (``"true"``, ``"not only direct"``)."""


def row(
    key: str,
    section: str,
    *,
    everywhere: Rule | None = None,
    openai: Rule | None = None,
    gemini: Rule | None = None,
    converse: Rule | None = None,
    claude: Rule = PASSTHROUGH,
    anthropic: Rule = PASSTHROUGH,
    active: Callable[[Any], bool] = present,
    when: str = "",
    **families: Rule,
) -> Row:
    """A row whose Converse families share ``converse`` unless named (``llama=refused(...)``); ``everywhere``
    sets openai, gemini and Converse at once."""
    openai, gemini, converse = openai or everywhere, gemini or everywhere, converse or everywhere
    if openai is None or gemini is None or converse is None:
        raise ValueError(f"{key}: openai, gemini and converse each need a rule")
    family_columns = {column.removeprefix("bedrock/"): column for column in CONVERSE_COLUMNS}
    unknown = set(families) - set(family_columns)
    if unknown:
        raise ValueError(f"{key}: unknown Bedrock families {sorted(unknown)}")
    rules: dict[str, Rule] = {ANTHROPIC: anthropic, OPENAI: openai, GEMINI: gemini, BEDROCK_CLAUDE: claude}
    for name, column in family_columns.items():
        rules[column] = families.get(name, converse)
    return Row(key=key, section=section, rules=rules, active=active, when=when)


UNKNOWN_NOTE = "the gateway does not know this field, so it cannot keep its meaning in translation"


def unknown_rule(column: str) -> Rule:
    """What happens to a feature no row names: passed on where the body is Anthropic's own, refused elsewhere."""
    return PASSTHROUGH if column in (ANTHROPIC, BEDROCK_CLAUDE) else refused(UNKNOWN_NOTE)
