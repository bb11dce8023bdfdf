"""Reading a request the way the emulated models do: lower-cased word stems, without filler words.

Everything that decides from the user's words (which tool to call, whether to search the web) goes through
:func:`stems`, so one spelling rule applies everywhere: words are runs of letters and digits, split at
``snake_case``, ``kebab-case`` and ``camelCase`` boundaries, lower-cased and reduced by a tiny suffix stemmer
(``reads``/``reading``/``read`` are one word).

Agents wrap their own notes to the model in ``<system-reminder>`` tags (Claude Code does, inside user turns
and tool results). They are not the user's request, so :func:`user_words` removes them before anything reads
the turn.
"""

from __future__ import annotations

import re

_REMINDER = re.compile(r"<system-reminder>.*?(?:</system-reminder>|\Z)", re.DOTALL | re.IGNORECASE)
_REMINDER_TAGS = re.compile(r"</?system-reminder>", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SUFFIXES = ("ing", "ed", "es", "s")

_STOP_WORDS_TEXT = """
    a about after all also am an and any are as at be been before being but by can could did do does doing
    for from had has have having he her here hers him his how i if in into is it its just let lets like me
    might more most my no nor not now of off on once only or other our ours out over own please same she
    should so some such than that the their theirs them then there these they this those through to too
    under until up us very was we were what whats when where which while who whom why will with would you
    your yours tell show give want need use using used make get set run call via per one two each
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
_GENERIC_NAME_WORDS = STOP_WORDS | {"tool", "tools", "func", "function", "fn", "api", "mcp", "do", "the"}
"""Words that say nothing about what a tool does; never enough on their own to choose one."""


def user_words(text: str) -> str:
    """``text`` without agent-injected ``<system-reminder>`` sections, whitespace-trimmed."""
    return _REMINDER.sub(" ", text).strip()


def reminders(text: str) -> list[str]:
    """The bodies of the ``<system-reminder>`` sections of ``text`` (an agent's notes and notifications)."""
    return [_REMINDER_TAGS.sub("", section).strip() for section in _REMINDER.findall(text)]


def stem(word: str) -> str:
    """A crude, deterministic stem: drop one common English suffix if a 3-letter root is left."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    # A trailing "e" goes too, so "file"/"files" and "write"/"writes" meet at "fil" and "writ".
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def split_identifier(name: str) -> list[str]:
    """``get_weather`` -> ``[get, weather]``, ``TodoWrite`` -> ``[todo, write]``, ``v2`` -> ``[v, 2]``"""
    parts: list[str] = []
    for chunk in _WORD.findall(name):
        parts.extend(piece.lower() for piece in _CAMEL.findall(chunk))
    return parts


def stems(text: str) -> list[str]:
    """The stems of every word of ``text``, in order (identifiers are split into their words)."""
    return [stem(word) for word in split_identifier(text)]


def content_stems(text: str) -> set[str]:
    """The distinct stems of ``text`` that are not filler words and have at least three letters."""
    return {s for s, word in zip(stems(text), split_identifier(text), strict=True) if _meaningful(word)}


def name_stems(name: str) -> set[str]:
    """The stems that must all be said to ask for the tool ``name``: its words without generic ones (get, tool...).

    Falls back to every word when the name has nothing else (a tool called ``get``).
    """
    words = [word for word in split_identifier(name) if not word.isdigit()]
    meaningful = [word for word in words if word not in _GENERIC_NAME_WORDS]
    return {stem(word) for word in meaningful or words}


def without_words(text: str, unwanted: set[str]) -> str:
    """``text`` without the whitespace-separated words whose stems are in ``unwanted``."""
    kept = [token for token in text.split() if not ({stem(w) for w in split_identifier(token)} & unwanted)]
    return " ".join(kept)


def meaningful_words(text: str) -> list[str]:
    """The words of ``text`` (as written, lower-cased) that are not filler words, in order."""
    return [word for word in split_identifier(text) if _meaningful(word)]


def _meaningful(word: str) -> bool:
    return len(word) >= 3 and word not in STOP_WORDS and not word.isdigit()
