"""Parsing a large batch body in pieces, so that no single call holds the GIL for the whole body.

``orjson.loads`` of a 100,000-request body (16 MB) is one C call of 0.3 to 0.9 s: even on a worker thread it holds
the GIL throughout, and every other request waits for it. Here the ``requests`` array is cut at the commas
between its elements and each ~64 KB piece is parsed on its own with ``orjson``; between two pieces the
interpreter can hand the GIL to the event loop.

The result is exactly ``parse_json(body)``'s, by construction:

* The body with everything between the first and the last cut replaced by a random sentinel string (the
  *skeleton*) is parsed whole: its head and tail requests, the other top-level fields, and the text before and
  after the array all go through ``orjson`` as they would have. The sentinel must come back as an element of
  the top-level ``requests`` array: a cut inside a string, inside a nested value or in another array could not
  give that (the text would be invalid there, or the sentinel would land elsewhere).
* Each piece between two cuts must parse as ``[piece]`` into a non-empty list. JSON is context-free: a
  ``requests`` array whose sentinel element is replaced by those pieces' elements is the body's array.
* The only difference left is depth (a piece is parsed less deep than it sits in the body): the depth limit is
  checked on the result, in slices, as ``parse_json`` does on the whole value.

Whenever one of these checks fails (invalid JSON, a body that is not ``{"requests": [{...}, ...]}``-shaped, too
deep, a cut that keeps landing inside strings), the body goes to ``parse_json`` whole: its error, or its value,
is the answer. Only such bodies still cost one long parse.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import orjson

from .requests import MAX_JSON_DEPTH, deeper_than, parse_json

PIECE_BYTES = 64 * 1024
"""About how much one ``orjson.loads`` call parses: 0.1 to 0.3 ms of GIL each."""

_MERGES = 8
"""How many neighbouring pieces a piece may absorb when its cut fell inside a string (``"a},{b"``) before the
body goes to ``parse_json`` whole."""

_DEPTH_SLICE = 500
"""Requests per depth check (~80 KB written by ``orjson.dumps``)."""

_REQUESTS_ARRAY = re.compile(rb'"requests"[ \t\n\r]*:[ \t\n\r]*\[')
# A comma between two objects: where the array can be cut (the group is the comma).
_CUT = re.compile(rb"\}[ \t\n\r]*(,)[ \t\n\r]*\{")


class _NotSplittable(Exception):
    """The body is not one the pieces can reproduce: ``parse_json`` decides."""


def parse_batch_body(body: bytes) -> Any:
    """``parse_json(body)`` (same value, same errors), in pieces of about ``PIECE_BYTES``."""
    try:
        return _parse_in_pieces(body)
    except _NotSplittable:
        return parse_json(body)


def _cuts(body: bytes, start: int) -> list[int]:
    """Comma positions about ``PIECE_BYTES`` apart from ``start`` on (candidates: some may be inside strings)."""
    cuts: list[int] = []
    position = start
    while (found := _CUT.search(body, position)) is not None:
        cuts.append(found.start(1))
        position = found.end(1) + PIECE_BYTES
    return cuts


def _loads(text: bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _NotSplittable from None


def _parse_in_pieces(body: bytes) -> Any:
    array = _REQUESTS_ARRAY.search(body)
    if array is None:
        raise _NotSplittable
    cuts = _cuts(body, array.end() + PIECE_BYTES)
    if len(cuts) < 2:
        raise _NotSplittable  # one piece or none: nothing to gain
    first, last = cuts[0], cuts[-1]
    sentinel = secrets.token_hex(16)
    skeleton = _loads(body[:first] + b',"' + sentinel.encode() + b'"' + body[last:])
    requests = skeleton.get("requests") if isinstance(skeleton, dict) else None
    if not isinstance(requests, list) or requests.count(sentinel) != 1:
        raise _NotSplittable
    middle = _middle_requests(body, cuts)
    at = requests.index(sentinel)
    skeleton["requests"] = requests[:at] + middle + requests[at + 1 :]
    if _too_deep(skeleton):
        raise _NotSplittable  # parse_json says how (its message depends on how deep)
    return skeleton


def _middle_requests(body: bytes, cuts: list[int]) -> list[Any]:
    """The elements between the first and the last cut, piece by piece."""
    middle: list[Any] = []
    start = cuts[0] + 1
    merged = 0
    for cut in cuts[1:]:
        try:
            piece = _loads(b"[" + body[start:cut] + b"]")
        except _NotSplittable:
            # This cut may be inside a string: let the next piece extend this one.
            merged += 1
            if merged > _MERGES:
                raise
            continue
        if not piece:
            raise _NotSplittable  # whitespace only between two commas: the body itself is invalid
        middle.extend(piece)
        start, merged = cut + 1, 0
    if merged:
        raise _NotSplittable  # the last piece never parsed
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
