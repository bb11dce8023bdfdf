"""Deterministic tool-call arguments derived from a function's JSON schema.

The emulated model "calls" a tool by filling every required property with a plausible value of the right
type, so clients can parse the arguments with the same schema they declared and exercise their tool loop.
"""

from __future__ import annotations

from typing import Any

# Property-name hints that make the arguments read like a real model's output.
_STRING_HINTS: tuple[tuple[str, str], ...] = (
    ("email", "alice@example.com"),
    ("url", "https://example.com"),
    ("uri", "https://example.com"),
    ("city", "Paris"),
    ("location", "San Francisco, CA"),
    ("country", "France"),
    ("date", "2024-01-01"),
    ("time", "12:00"),
    ("unit", "celsius"),
    ("language", "en"),
    ("name", "Alice"),
    ("id", "id_123"),
)
_FORMATS = {
    "date": "2024-01-01",
    "date-time": "2024-01-01T12:00:00Z",
    "time": "12:00:00",
    "email": "alice@example.com",
    "uri": "https://example.com",
    "url": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_MAX_DEPTH = 8  # recursive schemas ($ref to themselves) stop here


def arguments_for(parameters: dict[str, Any] | None, *, query: str = "") -> dict[str, Any]:
    """An arguments object for a function whose ``parameters`` schema is given (``None`` = no parameters).

    ``query`` (the user's prompt) is used for free-text properties such as ``query`` or ``question``.
    """
    if not parameters:
        return {}
    value = _value(parameters, "", parameters, query, 0)
    return value if isinstance(value, dict) else {}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return target if isinstance(target, dict) else {}


def _value(schema: Any, name: str, root: dict[str, Any], query: str, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return None
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            non_null = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
            return _value((non_null or branches)[0], name, root, query, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _object(schema, root, query, depth)
    if kind == "array":
        item = _value(schema.get("items", {"type": "string"}), _singular(name), root, query, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "integer":
        return int(_clamp(schema, 1))
    if kind == "number":
        return float(_clamp(schema, 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, name, query)


def _object(schema: dict[str, Any], root: dict[str, Any], query: str, depth: int) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = [key for key in schema.get("required") or [] if isinstance(key, str)]
    return {key: _value(properties.get(key, {}), key, root, query, depth + 1) for key in required}


def _clamp(schema: dict[str, Any], preferred: float) -> float:
    value = preferred
    for low in ("minimum", "exclusiveMinimum"):
        if isinstance(schema.get(low), int | float):
            value = max(value, schema[low] + (1 if low == "exclusiveMinimum" else 0))
    for high in ("maximum", "exclusiveMaximum"):
        if isinstance(schema.get(high), int | float):
            value = min(value, schema[high] - (1 if high == "exclusiveMaximum" else 0))
    return value


def _string(schema: dict[str, Any], name: str, query: str) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    lowered = name.lower()
    if lowered in {"query", "q", "question", "prompt", "text", "search", "input"} and query:
        value = " ".join(query.split())[:200]
    else:
        value = next((hint for key, hint in _STRING_HINTS if key in lowered), f"example {name or 'value'}")
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value = value.ljust(min_length, "x")
    max_length = schema.get("maxLength")
    if isinstance(max_length, int):
        value = value[:max_length]
    return value


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") else name
