"""Values that validate against a JSON schema, filled from the user's words where the words fit.

One generator serves tool-call arguments (every emulator) and structured outputs (``output_config.format``,
``response_format``, ``responseJsonSchema``, Converse ``outputConfig``). It reads JSON Schema (``$ref`` to
``$defs``/``definitions``, type lists, ``anyOf``/``oneOf``/``allOf``, ``const``/``enum``, string, number and
array bounds, common ``format``\\ s) and Gemini's OpenAPI subset (upper-case types, ``nullable``, snake_case
keys), deterministically:

- strings come from what the user mentioned, chosen by the property's name: ``file_path`` gets the path the
  user wrote, ``url`` the URL, ``city``/``location`` the place after "in"/"for", ``command`` a backticked
  command, ``query``/``prompt`` the request itself, an enum the value the user named, other text the next
  quoted string the user wrote; otherwise a plausible value for the name (``email`` -> ``alice@example.com``)
  or ``"example <name>"``;
- numbers take the numbers the user wrote, in order, kept within ``minimum``/``maximum``/``multipleOf``;
- tool arguments fill the required properties only (an agent's optional ``offset``/``limit`` stay unset, as
  a model leaves them); structured answers fill every property.

Not emulated: ``pattern`` (a value is not generated to match a regular expression) and ``not``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from finops.emulators._common.mentions import Mentions
from finops.emulators._common.replies import arithmetic_result, reply_text
from finops.emulators._common.words import meaningful_words, name_stems, split_identifier, without_words

_MAX_DEPTH = 12
_TEXT_LIMIT = 200
_FORMATS: dict[str, str] = {
    "date": "2025-01-01",
    "date-time": "2025-01-01T12:00:00Z",
    "time": "12:00:00",
    "duration": "P1D",
    "email": "alice@example.com",
    "idn-email": "alice@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "iri": "https://example.com",
    "uri-reference": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "hostname": "example.com",
    "idn-hostname": "example.com",
}
_PATH_WORDS = {"path", "file", "filepath", "filename", "directory", "dir", "folder", "notebook"}
_URL_WORDS = {"url", "uri", "link", "href", "website", "endpoint", "site"}
_COMMAND_WORDS = {"command", "cmd", "script", "shell", "code"}
_PATTERN_WORDS = {"pattern", "glob", "regex", "regexp"}
_REQUEST_WORDS = {"query", "q", "question", "prompt", "search", "text", "input", "message", "request", "instruction"}
_REQUEST_WORDS |= {"instructions", "task", "topic", "keywords", "keyword", "term", "terms", "content", "body"}
_ANSWER_WORDS = {"answer", "summary", "response", "reply", "result", "explanation", "reasoning", "output"}
_PLACE_WORDS = {"city", "location", "place", "town", "destination", "where", "address"}
_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "alice@example.com"),
    ("country", "France"),
    ("date", "2025-01-01"),
    ("time", "12:00"),
    ("unit", "celsius"),
    ("language", "en"),
    ("lang", "en"),
    ("currency", "USD"),
    ("color", "blue"),
    ("name", "Alice"),
    ("title", "Example title"),
    ("id", "id_123"),
)


def tool_arguments(schema: Any, mentions: Mentions, *, tool_name: str = "") -> dict[str, Any]:
    """The input of a tool call: an object with the schema's required properties (``{}`` without a schema).

    The request handed on in ``prompt``/``query``-like properties leaves out the words that named the tool,
    so a task delegated to a sub-agent ("use an agent to read notes.txt") does not delegate itself again.
    """
    if not isinstance(schema, dict) or not schema:
        return {}
    request = without_words(mentions.text, name_stems(tool_name)) if tool_name else mentions.text
    value = _Generator(schema, mentions, fill_optional=False, request=request).value(schema, "", 0)
    return value if isinstance(value, dict) else {}


def structured_answer(schema: Any, mentions: Mentions) -> Any:
    """A whole answer for a structured-output schema: every declared property filled."""
    root = schema if isinstance(schema, dict) else {}
    return _Generator(root, mentions, fill_optional=True).value(root, "", 0)


def required_mentions(schema: Any) -> set[str]:
    """``"path"``/``"url"`` when a required top-level property wants a file path / URL the user must give."""
    if not isinstance(schema, dict):
        return set()
    properties = _get(schema, "properties") or {}
    needs: set[str] = set()
    for key in _get(schema, "required") or []:
        if not isinstance(key, str) or _type_of(properties.get(key) or {}) != "string":
            continue
        words = {word.lower() for word in split_identifier(key)}
        if words & _PATH_WORDS:
            needs.add("path")
        if words & _URL_WORDS:
            needs.add("url")
    return needs


@dataclass
class _Generator:
    root: dict[str, Any]
    mentions: Mentions
    fill_optional: bool
    request: str | None = None
    """The request text passed on to tools (default: everything the user said)."""
    numbers_used: int = 0
    quoted_used: int = 0
    _words: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._words = {word.lower() for word in split_identifier(self.mentions.text)}

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        enum = _get(schema, "enum")
        if isinstance(enum, list) and enum:
            return self._enum(enum)
        for combinator in ("anyOf", "oneOf"):
            branches = _get(schema, combinator)
            if isinstance(branches, list) and branches:
                return self.value(_merge(schema, _first_not_null(branches), combinator), name, depth + 1)
        branches = _get(schema, "allOf")
        if isinstance(branches, list) and branches:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for branch in branches:
                merged = _merge(merged, self._resolve(branch) if isinstance(branch, dict) else {}, "")
            return self.value(merged, name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, depth)
        if kind == "array":
            return self._array(schema, name, depth)
        if kind in ("integer", "number"):
            return self._number(schema, name, integer=kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, name)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        for _ in range(_MAX_DEPTH):
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#"):
                return schema
            target: Any = self.root
            for part in [p for p in ref[1:].split("/") if p]:
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if isinstance(target, dict) else rest
        return schema

    def _enum(self, options: list[Any]) -> Any:
        """The option the user named, else the first one."""
        for option in options:
            if isinstance(option, str) and option.lower() in self._words:
                return option
        return options[0]

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        properties = _get(schema, "properties") or {}
        required = [key for key in _get(schema, "required") or [] if isinstance(key, str)]
        names = list(properties) if self.fill_optional else [key for key in required if key in properties]
        names += [key for key in required if key not in names]  # required without a declared schema
        return {key: self.value(properties.get(key, {"type": "string"}), key, depth + 1) for key in names}

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> list[Any]:
        items = _get(schema, "items")
        prefix = _get(schema, "prefixItems")
        maximum = _get(schema, "maxItems")
        count = max(1, int(_get(schema, "minItems") or 1))
        if isinstance(maximum, int):
            count = min(count, maximum)
        if isinstance(prefix, list) and prefix:
            head = [self.value(item, name, depth + 1) for item in prefix]
            return head[:count] if isinstance(maximum, int) else head
        item_schema = items if isinstance(items, dict) else {"type": "string"}
        singular = name[:-1] if name.endswith("s") else name
        values = [self.value(item_schema, singular, depth + 1) for _ in range(count)]
        if _get(schema, "uniqueItems") and count > 1:
            values = [_distinct(value, index) for index, value in enumerate(values)]
        return values

    def _number(self, schema: dict[str, Any], name: str, *, integer: bool) -> int | float:
        value = self._mentioned_number(name)
        low = _bound(schema, "minimum", "exclusiveMinimum", +1)
        high = _bound(schema, "maximum", "exclusiveMaximum", -1)
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        step = _get(schema, "multipleOf")
        if isinstance(step, int | float) and step > 0:
            value = math.ceil(value / step) * step
            if high is not None and value > high:
                value -= step
        if not integer:
            return float(value)
        whole = math.floor(value)
        return int(math.ceil(low) if low is not None and whole < low else whole)

    def _mentioned_number(self, name: str) -> float:
        """The result of the arithmetic asked for (``answer``, ``result``...), else the next number said."""
        words = {word.lower() for word in split_identifier(name)}
        computed = arithmetic_result(self.mentions.text)
        if words & (_ANSWER_WORDS | {"total", "sum", "value", "product"}) and computed is not None:
            return computed
        if self.numbers_used < len(self.mentions.numbers):
            self.numbers_used += 1
            return self.mentions.numbers[self.numbers_used - 1]
        return 1.0

    def _string(self, schema: dict[str, Any], name: str) -> str:
        fmt = _get(schema, "format")
        value = self._formatted(fmt) if isinstance(fmt, str) and fmt in _FORMATS else self._from_words(name)
        minimum, maximum = _get(schema, "minLength"), _get(schema, "maxLength")
        if isinstance(minimum, int) and len(value) < minimum:
            value = value.ljust(minimum, ".")
        if isinstance(maximum, int):
            value = value[:maximum]
        return value

    def _formatted(self, fmt: str) -> str:
        """A value in ``fmt``: the URL or e-mail address the user wrote if the format wants one."""
        if fmt in ("uri", "url", "iri", "uri-reference") and self.mentions.urls:
            return self.mentions.urls[0]
        if fmt in ("email", "idn-email") and self.mentions.emails:
            return self.mentions.emails[0]
        return _FORMATS[fmt]

    def _from_words(self, name: str) -> str:
        said = self.mentions
        words = {word.lower() for word in split_identifier(name)}
        if words & _PATH_WORDS and said.paths:
            return said.paths[0]
        if words & _URL_WORDS:
            return said.urls[0] if said.urls else "https://example.com"
        if "email" in words and said.emails:
            return said.emails[0]
        if words & _COMMAND_WORDS and (said.code or said.quoted):
            return (said.code or said.quoted)[0]
        if words & _PATTERN_WORDS:
            return next(iter(said.quoted + said.code), next(iter(meaningful_words(said.text)), "*"))
        if words & _PLACE_WORDS and said.places:
            return said.places[0]
        if words & _ANSWER_WORDS and self.fill_optional:
            return reply_text(said.text)
        request = said.text if self.request is None else self.request
        if words & _REQUEST_WORDS and request.strip():
            return " ".join(request.split())[:_TEXT_LIMIT]
        if words & _PLACE_WORDS:
            return "Paris" if "city" in words else "San Francisco, CA"
        if "description" in words and request.strip():
            return " ".join(request.split()[:6])
        if self.quoted_used < len(said.quoted):  # other free text: the next quoted string the user wrote
            self.quoted_used += 1
            return said.quoted[self.quoted_used - 1]
        lowered = name.lower()
        return next((hint for key, hint in _HINTS if key in lowered), f"example {name or 'value'}")


def _get(schema: dict[str, Any], camel: str) -> Any:
    """A schema keyword in JSON Schema's camelCase or the snake_case proto-JSON also allows."""
    if camel in schema:
        return schema[camel]
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)
    return schema.get(snake)


def _type_of(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if str(t).lower() != "null"), "null")
    if isinstance(declared, str) and declared and declared.upper() != "TYPE_UNSPECIFIED":
        return declared.lower()
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "string"


def _first_not_null(branches: list[Any]) -> dict[str, Any]:
    usable = [b for b in branches if isinstance(b, dict) and _type_of(b) != "null"]
    chosen = (usable or branches)[0]
    return chosen if isinstance(chosen, dict) else {}


def _merge(outer: dict[str, Any], inner: dict[str, Any], drop: str) -> dict[str, Any]:
    merged = {k: v for k, v in outer.items() if k != drop}
    for key, value in inner.items():
        if key == "properties" and isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        elif key == "required" and isinstance(merged.get(key), list) and isinstance(value, list):
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        else:
            merged[key] = value
    return merged


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, nudge: int) -> float | None:
    bound = _get(schema, inclusive)
    strict = _get(schema, exclusive)
    if isinstance(strict, bool):  # draft-4 style: a flag on minimum/maximum
        return None if bound is None else float(bound) + (nudge if strict else 0)
    if isinstance(strict, int | float):
        return float(strict) + nudge
    return float(bound) if isinstance(bound, int | float) else None


def _distinct(value: Any, index: int) -> Any:
    if index == 0:
        return value
    if isinstance(value, str):
        return f"{value} {index + 1}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value + index
    return value
