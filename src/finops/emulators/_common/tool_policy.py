"""When the emulated model calls a tool, and which one: one rule for every emulator.

Agents (Claude Code, pydantic-ai, langchain) loop until the model answers in text, so a fake that calls a
tool whenever it can keeps them looping forever. The rule is deliberately conservative and explainable:

1. **Only the latest user turn's own words count**: its text, without tool results and without
   agent-injected ``<system-reminder>`` sections (see :mod:`words`). Earlier turns, the system prompt and tool
   descriptions never trigger a call by themselves.
2. A tool is **requested by name** when every meaningful word of its name appears among those words
   (``get_weather``: "weather"; ``TodoWrite``: "todo" and "write"; ``Read``: "read"; word forms such as
   "reads"/"reading" count). If several are, the one with the most name words wins (``TodoWrite`` over
   ``Write``), then the one declared first.
3. Otherwise a tool is **requested by description** when at least two meaningful words of the first sentence
   of its description appear, and they make up at least half of that sentence's meaningful words ("What is
   the shipping status of my order?" matches "Look up the shipping status of a customer order."). The tool
   sharing the most words wins, then the one declared first.
4. A tool whose required input is a file path or a URL is requested only if the user's words contain one
   ("Write a haiku" does not call ``Write(file_path, content)``; "Write a haiku to poem.txt" does).
5. A turn that **returns tool results** is answered in text, unless its own words name a tool (rule 2
   only): "now read b.txt" next to a result calls ``Read`` again; a result alone never calls anything.
6. ``tool_choice`` is honoured as each provider defines it: ``none`` never calls; a named tool is always
   called; ``any``/``required``/``ANY`` always call, the requested tool if there is one, else the first
   (allowed) tool; ``auto`` follows rules 1-5.
7. The request a call hands on (``prompt``, ``query``...) leaves out the words that named the tool
   (:func:`schema_values.tool_arguments`), so "use an agent to read notes.txt" gives a sub-agent "use an to
   read notes.txt", which reads the file instead of delegating again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from finops.emulators._common.mentions import Mentions, find_mentions
from finops.emulators._common.schema_values import required_mentions
from finops.emulators._common.words import content_stems, name_stems, stems

ChoiceMode = Literal["auto", "any", "tool", "none"]
_MIN_SHARED = 2


@dataclass(frozen=True)
class ToolSpec:
    """A callable tool as any provider declares it: name, description and the JSON schema of its input."""

    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolChoice:
    mode: ChoiceMode = "auto"
    name: str | None = None
    """The tool a ``tool`` choice forces."""
    allowed: tuple[str, ...] = ()
    """Restricts the candidates (Gemini ``allowedFunctionNames``, OpenAI ``allowed_tools``); empty = all."""


def choose_tool(
    tools: Sequence[ToolSpec], request: str, choice: ToolChoice, *, answering_tool_result: bool
) -> ToolSpec | None:
    """The tool the model calls for ``request`` (the latest user turn's own words), or ``None`` to answer."""
    candidates = [t for t in tools if not choice.allowed or t.name in choice.allowed]
    if not candidates or choice.mode == "none":
        return None
    if choice.mode == "tool":
        return next((t for t in candidates if t.name == choice.name), None)
    requested = requested_tool(candidates, request, by_description=not answering_tool_result)
    if choice.mode == "any":
        return requested or candidates[0]
    return requested


def requested_tool(tools: Sequence[ToolSpec], request: str, *, by_description: bool = True) -> ToolSpec | None:
    """The tool ``request`` asks for by name (rule 2) or, if ``by_description``, by description (rule 3)."""
    said = set(stems(request))
    mentioned = find_mentions(request)
    tools = [tool for tool in tools if _can_fill(tool, mentioned)]
    named = [
        (len(words), -index, tool)
        for index, tool in enumerate(tools)
        if (words := name_stems(tool.name)) and words <= said
    ]
    if named:
        return max(named, key=lambda entry: entry[:2])[2]
    if not by_description:
        return None
    meaningful = content_stems(request)
    best: tuple[int, int, ToolSpec] | None = None
    for index, tool in enumerate(tools):
        described = content_stems(first_sentence(tool.description))
        shared = len(described & meaningful)
        if shared >= _MIN_SHARED and 2 * shared >= len(described) and (best is None or shared > best[0]):
            best = (shared, -index, tool)
    return best[2] if best else None


def _can_fill(tool: ToolSpec, mentioned: Mentions) -> bool:
    needs = required_mentions(tool.schema)
    return ("path" not in needs or bool(mentioned.paths)) and ("url" not in needs or bool(mentioned.urls))


def first_sentence(text: str) -> str:
    for end in (". ", ".\n", "\n"):
        if end in text:
            text = text.split(end, 1)[0]
    return text
