"""A small deterministic tokenizer, so every emulator reports real, reproducible token counts.

It is not any vendor's BPE: a token is a run of word characters (split every 4 characters, roughly the
average length of a BPE token in English) or a single punctuation character. What matters for the emulators
is that the same text always gives the same count and that the count grows with the text.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w{1,4}|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Split ``text`` into tokens; whitespace is kept attached to the token that follows it."""
    tokens: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        tokens.append(text[position : match.end()])
        position = match.end()
    if position < len(text) and tokens:
        tokens[-1] += text[position:]
    return tokens


def count_tokens(text: str) -> int:
    return len(_TOKEN.findall(text))
