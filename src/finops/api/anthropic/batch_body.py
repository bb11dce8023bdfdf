"""Parsing a large batch body in pieces, so that no single call holds the GIL for the whole body.

``orjson.loads`` of a 100,000-request body (16 MB) is one C call of 0.3 to 0.9 s: even on a worker thread it
holds the GIL throughout, and every other request waits for it (``docs/benchmarks.md``, issue 13 item 10). Here
the ``requests`` array is cut at the commas between its elements and each ~64 KB piece is parsed on its own with
``orjson``; between two pieces the interpreter can hand the GIL to the event loop.

The result is exactly ``parse_json(body)``'s, by construction:

* The body with everything between the first and the last cut replaced by a random sentinel string (the
  *skeleton*) is parsed whole: its head and tail requests, the other top-level fields, and the text before and
  after the array all go through ``orjson`` as they would have. The sentinel must come back as an element of
  the top-level ``requests`` array: a cut inside a string, inside a nested value or in another array could not
  give that (the text would be invalid there, or the sentinel would land elsewhere).
* Each piece between two cuts must parse as ``[piece]`` into a non-empty list. Starting from the first cut
  (proven to be between two top-level requests by the sentinel), a piece that parses ends between two requests
  too (a piece ending inside a string or a nested value is invalid), and so on up to the last cut. JSON is
  context-free: a ``requests`` array whose sentinel element is replaced by those pieces' elements is the body's.
* The only difference left is depth (a piece is parsed less deep than it sits in the body): the depth limit is
  checked on the result, in slices, as ``parse_json`` does on the whole value.

Whenever one of these checks fails (invalid JSON, a body that is not ``{"requests": [{...}, ...]}``-shaped, too
deep, a cut that keeps landing inside strings), the body goes to ``parse_json`` whole: its error, or its value,
is the answer. Only such bodies still cost one long parse.
"""

from __future__ import annotations

import re
import secrets
from collections import deque
from typing import Any

import orjson

from .requests import MAX_JSON_DEPTH, deeper_than, parse_json

PIECE_BYTES = 64 * 1024
"""About how much one ``orjson.loads`` call parses: 0.1 to 0.3 ms of GIL each."""

_TRIES = 8
"""Cut candidates tried, one after another, where one fell inside a string (a string ending in ``},{``) before
the body goes to ``parse_json`` whole."""

_DEPTH_SLICE = 500
"""Requests per depth check (~80 KB written by ``orjson.dumps``)."""

_REQUESTS_ARRAY = re.compile(rb'"requests"[ \t\n\r]*:[ \t\n\r]*\[')
# A comma between two objects, the second starting with a key: where the array can be cut (the group is the
# comma). Only a candidate: the same bytes can be between objects nested deeper, or end a string whose text ends
# in ``},{`` (nowhere else in a string, where ``{"`` would be ``{\"``).
_CUT = re.compile(rb'\}[ \t\n\r]*(,)[ \t\n\r]*\{[ \t\n\r]*"')


class _NotSplittable(Exception):
    """The body is not one the pieces can reproduce: ``parse_json`` decides."""


def parse_batch_body(body: bytes) -> Any:
    """``parse_json(body)`` (same value, same errors), in pieces of about ``PIECE_BYTES``."""
    try:
        return _parse_in_pieces(body)
    except _NotSplittable:
        return parse_json(body)


def _cut_after(body: bytes, position: int, limit: int) -> int | None:
    """The first cut candidate from ``position`` on, if it comes before ``limit``."""
    found = _CUT.search(body, position)
    return found.start(1) if found is not None and found.start(1) < limit else None


def _cut_before(body: bytes, position: int, floor: int) -> int | None:
    """The last cut candidate before ``position``, if it comes after ``floor``."""
    window = PIECE_BYTES
    while True:
        low = max(floor, position - window)
        last = deque(_CUT.finditer(body, low, position), maxlen=1)
        if last:
            return last[0].start(1)
        if low == floor:
            return None
        window *= 2


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _NotSplittable from None


def _parse_in_pieces(body: bytes) -> Any:
    array = _REQUESTS_ARRAY.search(body)
    if array is None:
        raise _NotSplittable
    skeleton, first, last, sentinel = _skeleton(body, array.end())
    requests = skeleton.get("requests") if isinstance(skeleton, dict) else None
    if not isinstance(requests, list) or requests.count(sentinel) != 1:
        raise _NotSplittable
    at = requests.index(sentinel)
    skeleton["requests"] = requests[:at] + _middle_requests(body, first, last) + requests[at + 1 :]
    if _too_deep(skeleton):
        raise _NotSplittable  # parse_json says how (its message depends on how deep)
    return skeleton


def _skeleton(body: bytes, array_start: int) -> tuple[Any, int, int, str]:
    """The body parsed with what lies between two cuts replaced by a sentinel string; the cuts and the sentinel.
    The cuts are ~``PIECE_BYTES`` from either end; when the skeleton does not parse, the cut on the side of the
    error moves out to the next candidate."""
    sentinel = secrets.token_hex(16)
    insert = b',"' + sentinel.encode() + b'"'
    first = _cut_after(body, array_start + PIECE_BYTES, len(body))
    last = _cut_before(body, len(body) - PIECE_BYTES, array_start)
    for _ in range(_TRIES):
        if first is None or last is None or first >= last:
            break
        try:
            return orjson.loads(body[:first] + insert + body[last:]), first, last, sentinel
        except orjson.JSONDecodeError as exc:
            # A first cut inside a string fails at the sentinel (its quote closes the string); orjson counts
            # characters, not bytes.
            if exc.pos <= len(body[:first].decode(errors="replace")) + len(insert):
                first = _cut_after(body, first + 1, len(body))
            else:
                last = _cut_before(body, last, array_start)
    raise _NotSplittable


def _middle_requests(body: bytes, first: int, last: int) -> list[Any]:
    """The elements between the two cuts, a piece of about ``PIECE_BYTES`` at a time. A piece that does not parse
    may have ended inside a string: it is tried again up to the next candidate (up to ``_TRIES`` times)."""
    middle: list[Any] = []
    start = first + 1
    while start <= last:
        end = _cut_after(body, start + PIECE_BYTES, last) or last
        for _ in range(_TRIES):
            try:
                piece = _loads(b"[" + body[start:end] + b"]")
                break
            except _NotSplittable:
                if end == last:
                    raise
                end = _cut_after(body, end + 1, last) or last
        else:
            raise _NotSplittable
        if not piece:
            raise _NotSplittable  # nothing between two commas: the body itself is invalid
        middle.extend(piece)
        start = end + 1
    return middle


def _too_deep(skeleton: dict[str, Any]) -> bool:
    """``deeper_than(value, MAX_JSON_DEPTH)`` of the whole body, checked in slices of the ``requests`` array (a
    slice of a list nests as deep as the list) so that no single check handles the whole body."""
    requests = skeleton["requests"]
    skeleton["requests"] = []
    try:
        if deeper_than(skeleton, MAX_JSON_DEPTH):
            return True
    finally:
        skeleton["requests"] = requests
    return any(
        deeper_than(requests[at : at + _DEPTH_SLICE], MAX_JSON_DEPTH - 1)
        for at in range(0, len(requests), _DEPTH_SLICE)
    )
