"""Anthropic ``output_config.format`` (a JSON schema) -> OpenAI ``response_format`` (Structured Outputs). Pure.

OpenAI's strict mode guarantees an answer that matches the schema, like Anthropic's structured outputs, but takes
a subset of JSON Schema: every object closed (``additionalProperties: false``) with every property ``required``,
the root an object, and only these keywords: ``type``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``anyOf``, ``enum``, ``const``, ``$ref``/``$defs``/``definitions``, ``description``, ``title``, string
``pattern`` and ``format`` (date-time, time, date, duration, email, hostname, ipv4, ipv6, uuid), number
``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum``/``multipleOf``, array ``minItems``/``maxItems``.

The caller's schema is rewritten into that subset only where every answer OpenAI can then give still validates
against the caller's own schema:

- an object without ``additionalProperties`` is closed (Anthropic's structured outputs require it closed anyway);
- optional properties become required (the answer always carries them; it still validates);
- ``allOf`` with a single member is merged into its parent;
- ``default`` and ``examples`` (annotations, no validation) move into the ``description`` so the model still reads
  them; ``$schema``, ``$id`` and ``$comment`` are dropped.

A schema that needs anything else (``oneOf``, ``not``, ``minLength``, ``uniqueItems``, a ``uri`` format, open
objects, a non-object root…) is sent as it is with ``strict: false``: OpenAI then follows it as guidance and the
answer is JSON, but OpenAI does not guarantee that it matches. That is written in ``docs/compatibility.md``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from finops.core.params.blocks import JSONObject

_KEPT = frozenset(
    {
        "type",
        "required",
        "enum",
        "const",
        "description",
        "title",
        "pattern",
        "multipleOf",
        "maximum",
        "exclusiveMaximum",
        "minimum",
        "exclusiveMinimum",
        "minItems",
        "maxItems",
        "$ref",
    }
)
_DROPPED = frozenset({"$schema", "$id", "$comment"})
_ANNOTATIONS = ("default", "examples")
_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"})
_NAME = re.compile(r"[^a-zA-Z0-9_-]+")
_DEFAULT_NAME = "output"


class _NotStrict(Exception):
    """The schema uses something strict mode cannot express without changing what it accepts."""


def response_format(schema: JSONObject) -> dict[str, Any]:
    """The ``response_format`` for an ``output_config.format`` JSON schema."""
    try:
        strict: JSONObject | None = strict_schema(schema)
    except _NotStrict:
        strict = None
    definition: dict[str, Any] = {"name": schema_name(schema)}
    if strict is not None:
        definition.update(schema=strict, strict=True)
    else:
        definition.update(schema=schema, strict=False)
    return {"type": "json_schema", "json_schema": definition}


def schema_name(schema: JSONObject) -> str:
    """OpenAI requires a name (``^[a-zA-Z0-9_-]{1,64}$``); the schema's ``title`` where it has one."""
    title = schema.get("title")
    name = _NAME.sub("_", title).strip("_")[:64] if isinstance(title, str) else ""
    return name or _DEFAULT_NAME


def strict_schema(schema: JSONObject) -> JSONObject:
    """``schema`` rewritten for strict mode (see the module docstring); raises ``_NotStrict`` where it cannot be."""
    root = _node(schema)
    if root.get("type") != "object":
        raise _NotStrict("the root must be an object")
    return root


def _node(schema: object) -> JSONObject:
    if not isinstance(schema, dict):
        raise _NotStrict("a boolean schema")
    source = _merge_single_all_of(schema)
    node: JSONObject = {}
    notes: list[str] = []
    for key, value in source.items():
        if key in _KEPT:
            node[key] = value
        elif key == "format":
            if value not in _FORMATS:
                raise _NotStrict(f"format {value!r}")
            node[key] = value
        elif key == "properties":
            if not isinstance(value, dict):
                raise _NotStrict("properties")
            node[key] = {name: _node(sub) for name, sub in value.items()}
        elif key == "items":
            node[key] = _node(value)
        elif key == "anyOf":
            if not isinstance(value, list):
                raise _NotStrict("anyOf")
            node[key] = [_node(branch) for branch in value]
        elif key in ("$defs", "definitions"):
            if not isinstance(value, dict):
                raise _NotStrict(key)
            node[key] = {name: _node(sub) for name, sub in value.items()}
        elif key == "additionalProperties":
            if value is not False:
                raise _NotStrict("an open object")
        elif key in _ANNOTATIONS:
            notes.append(f"{key.capitalize()}: {orjson.dumps(value).decode()}")
        elif key not in _DROPPED:
            raise _NotStrict(key)
    if "$ref" in node and len(node) > 1:
        raise _NotStrict("$ref beside other keywords")
    if _is_object(node):
        properties = node.setdefault("properties", {})
        node["required"] = list(properties) if isinstance(properties, dict) else []
        node["additionalProperties"] = False
    if notes:
        description = node.get("description")
        node["description"] = "\n".join([description, *notes] if isinstance(description, str) else notes)
    return node


def _is_object(node: JSONObject) -> bool:
    kind = node.get("type")
    return kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in node


def _merge_single_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    all_of = schema.get("allOf")
    if all_of is None:
        return schema
    if not isinstance(all_of, list) or len(all_of) != 1 or not isinstance(all_of[0], dict):
        raise _NotStrict("allOf")
    merged = {key: value for key, value in schema.items() if key != "allOf"}
    for key, value in all_of[0].items():
        if key in merged and merged[key] != value:
            raise _NotStrict("allOf")
        merged[key] = value
    return merged
