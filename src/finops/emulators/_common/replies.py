"""Deterministic replies derived from the prompt.

The same prompt always yields the same reply, different prompts yield different replies, and simple
arithmetic questions get the right answer so that the seed examples print something a reader believes.
"""

from __future__ import annotations

import hashlib
import html
import operator
import re

from finops.emulators._common.tokens import tokenize
from finops.emulators._common.words import user_words

_ARITHMETIC = re.compile(r"(-?\d+(?:\.\d+)?)\s*([-+*/x\u00d7])\s*(-?\d+(?:\.\d+)?)")
_OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "x": operator.mul,
    "\u00d7": operator.mul,  # multiplication sign
    "/": operator.truediv,
}


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.4g}"


def arithmetic_expression(prompt: str) -> tuple[str, str, str] | None:
    """The first ``a <op> b`` in ``prompt`` as (left, operator, right); ``x`` and the times sign read as ``*``."""
    match = _ARITHMETIC.search(prompt)
    if not match:
        return None
    left, symbol, right = match.groups()
    return left, "*" if symbol in ("x", "\u00d7") else symbol, right


def arithmetic_result(prompt: str) -> float | None:
    """The value of the first ``a <op> b`` in ``prompt`` (``None`` if there is none or it divides by zero)."""
    match = _ARITHMETIC.search(prompt)
    if not match:
        return None
    left, symbol, right = match.groups()
    try:
        return float(_OPERATORS[symbol](float(left), float(right)))
    except ZeroDivisionError:
        return None


def reply_text(prompt: str) -> str:
    """The full reply the emulated model gives to ``prompt`` (before any max_tokens or stop cut-off)."""
    digest = hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:8]
    match = _ARITHMETIC.search(prompt)
    if match:
        left, symbol, right = match.groups()
        value = arithmetic_result(prompt)
        if value is None:
            return f"Division by zero is undefined. [emulated reply {digest}]"
        return f"{left} {symbol} {right} = {format_number(value)}. [emulated reply {digest}]"
    words = " ".join(prompt.split())
    snippet = words[:160] if words else "(empty prompt)"
    return f"You asked: {snippet} This is a deterministic emulated reply. [emulated reply {digest}]"


def truncate_to_tokens(text: str, max_tokens: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``max_tokens`` tokens; the flag says whether it was cut."""
    tokens = tokenize(text)
    if len(tokens) <= max_tokens:
        return text, False
    return "".join(tokens[:max_tokens]), True


def apply_stop_sequences(text: str, stop_sequences: list[str] | None) -> tuple[str, str | None]:
    """Cut ``text`` before the earliest stop sequence it contains; return the text and the sequence hit."""
    earliest: tuple[int, str] | None = None
    for sequence in stop_sequences or []:
        if not sequence:
            continue
        index = text.find(sequence)
        if index != -1 and (earliest is None or index < earliest[0]):
            earliest = (index, sequence)
    if earliest is None:
        return text, None
    return text[: earliest[0]], earliest[1]


# File-reading tools number their lines ("     1→text", "1\ttext"); the last, empty line may be a bare number.
_LINE_NUMBER = re.compile(r"^[ \t]*\d+(?:\u2192|\t)")
_ANY_LINE_NUMBER = re.compile(r"^[ \t]*\d+(?:\u2192|\t|$)", re.MULTILINE)
_RESULT_LIMIT = 1000
_RESULT = re.compile(r"<result>(.*?)</result>", re.DOTALL)
_TAG = re.compile(r"</?[A-Za-z][\w-]*>")


def reply_to_notes(notes: list[str]) -> str:
    """The answer to a turn holding only an agent's notes (``<system-reminder>`` sections, no user words).

    Agents deliver background results that way (Claude Code's ``<task-notification>``); the model reports
    them: a note's ``<result>`` if it has one, else the note itself, tags dropped.
    """
    quoted = []
    for note in notes:
        result = _RESULT.search(note)
        quoted.append(("The notification", _TAG.sub(" ", html.unescape(result.group(1) if result else note))))
    return reply_to_tool_results(quoted)


def reply_to_tool_results(results: list[tuple[str, str]]) -> str:
    """The answer after tool results: it reports each result's content, so the agent's answer comes from it.

    ``results`` are ``(tool name, result text)`` pairs. Agent reminders and the line numbers file-reading tools
    prefix are dropped; each result is quoted up to 1,000 characters.
    """
    parts = []
    for name, content in results:
        content = user_words(content)
        if _LINE_NUMBER.match(content):
            content = _ANY_LINE_NUMBER.sub("", content)
        text = " ".join(content.split())
        shown = text if len(text) <= _RESULT_LIMIT else text[:_RESULT_LIMIT] + "..."
        parts.append(f"{name or 'The tool'} returned: {shown or '(nothing)'}")
    digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()[:8]
    return "\n".join(parts) + f" [emulated reply {digest}]"
