"""Deterministic function-call arguments that satisfy a declared parameter schema.

Handles both dialects Gemini accepts: ``parameters`` (OpenAPI subset, upper-case types such as ``OBJECT``)
and ``parametersJsonSchema`` (JSON Schema, lower-case types, ``$ref``/``$defs``, type lists).
"""

from __future__ import annotations

from typing import Any

from finops.emulators.gemini.wire import pick

_MAX_DEPTH = 8


def arguments_for(schema: Any) -> dict[str, Any]:
    """Arguments for a function whose parameters are ``schema`` (an object schema, or nothing)."""
    if not isinstance(schema, dict):
        return {}
    value = _value(schema, schema, "value", 0)
    return value if isinstance(value, dict) else {}


def _type_of(schema: dict[str, Any]) -> str:
    declared = schema.get("type")
    if isinstance(declared, list):
        # JSON Schema type lists such as ["string", "null"]: use the first non-null type.
        declared = next((t for t in declared if str(t).lower() != "null"), "null")
    if declared:
        return str(declared).lower()
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return "string"


def _value(schema: dict[str, Any], root: dict[str, Any], name: str, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for segment in ref[2:].split("/"):
            target = target.get(segment, {}) if isinstance(target, dict) else {}
        return _value(target, root, name, depth + 1)
    for alternative in ("anyOf", "oneOf", "allOf"):
        options = pick(schema, alternative)
        if isinstance(options, list) and options:
            return _value(options[0], root, name, depth + 1)
    for fixed in ("const", "default", "example"):
        if fixed in schema:
            return schema[fixed]
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]

    kind = _type_of(schema)
    if kind == "object":
        properties = schema.get("properties") or {}
        required = schema.get("required")
        names = [n for n in required if n in properties] if isinstance(required, list) and required else properties
        return {prop: _value(properties[prop], root, prop, depth + 1) for prop in names}
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
        count = max(1, int(pick(schema, "minItems", 1) or 1))
        return [_value(items, root, name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return int(schema.get("minimum", 1) or 1)
    if kind == "number":
        return float(schema.get("minimum", 1.5) or 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format")
    if fmt == "date":
        return "2025-01-01"
    if fmt == "date-time":
        return "2025-01-01T00:00:00Z"
    return f"example {name}"
