"""What a user's words mention that a tool argument or a structured answer can reuse.

A real model fills ``file_path`` with the path the user wrote and ``city`` with the city they asked about;
the emulators do the same, deterministically, from these extractions of the latest user turn. Relative file
paths are joined to the agent's working directory when its system prompt states one (Claude Code writes
``Working directory: /path``), because agents' file tools want absolute paths.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

_URL = re.compile(r"https?://[^\s<>\"'`)\]]+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PATH = re.compile(
    r"(?<![\w~./-])(?:~|\.{1,2})?/[\w.-]+(?:/[\w.-]+)*/?"  # /abs/path, ~/home, ./rel, ../rel
    r"|(?<![\w/:.~-])(?:[\w-]+/)*[\w-][\w.-]*\.[A-Za-z][A-Za-z0-9]{0,7}(?![\w/])"  # notes.txt, src/app.py
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*\w)")
_QUOTED = re.compile(r"\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|\u201c([^\u201d\n]{1,200})\u201d")
_CODE = re.compile(r"`([^`\n]{1,300})`")
_PLACE = re.compile(r"\b(?:in|for|at|to|from|near)\s+((?:[A-Z][\w'-]+)(?:[ -](?:[A-Z][\w'-]+))*)")
_WORKING_DIRECTORY = re.compile(r"(?:Working directory|cwd|Current directory)\s*:\s*(/[^\s<]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Mentions:
    """Values found in the user's words, in the order they appear."""

    text: str
    paths: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    quoted: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)


def find_mentions(text: str, *, context: str = "") -> Mentions:
    """Extract what ``text`` mentions; ``context`` (the system prompt) may state a working directory."""
    urls = _URL.findall(text)
    without_urls = _URL.sub(" ", text)
    emails = _EMAIL.findall(without_urls)
    plain = _EMAIL.sub(" ", without_urls)
    directory = _WORKING_DIRECTORY.search(context)
    found = [path.rstrip(".,;:") for path in _PATH.findall(plain)]
    paths = [_absolute(path, directory.group(1) if directory else None) for path in found]
    return Mentions(
        text=text,
        paths=paths,
        urls=urls,
        emails=emails,
        numbers=[float(n) for n in _NUMBER.findall(_PATH.sub(" ", plain))],
        quoted=[next(group for group in match if group) for match in _QUOTED.findall(text)],
        code=_CODE.findall(text),
        places=[place for place in _PLACE.findall(text) if place.lower() not in {"i", "the"}],
    )


def _absolute(path: str, directory: str | None) -> str:
    if path.startswith(("/", "~")) or directory is None:
        return path
    return posixpath.normpath(posixpath.join(directory, path))
