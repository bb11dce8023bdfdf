"""A JSON Schema in Gemini's older dialect: ``responseSchema``, the OpenAPI 3.0 subset models before 2.5 take.

Gemini 2.5 and later read JSON Schema as is (``responseJsonSchema``); earlier models only this subset. The
translation keeps the meaning: local ``$ref``\\ s are inlined, ``type: [X, "null"]`` becomes ``nullable``, ``const``
a one-value ``enum``, and the properties keep the schema's order (``propertyOrdering``, which Gemini 2.0 asks
for). ``additionalProperties: false`` is dropped because the subset only ever produces declared properties. A
keyword the subset cannot express (``oneOf``, ``allOf``, ``not``, open ``additionalProperties``, recursion) is a
400 that points to a Gemini 2.5 model, never a silently looser schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finops.core.errors import InvalidRequestError
from finops.core.types import JSON

_WHERE = "output_config.format.schema"
_KEPT = frozenset(
    {
        "format",
        "title",
        "description",
        "enum",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minProperties",
        "maxProperties",
        "default",
        "example",
    }
)
_IGNORED = frozenset({"$schema", "$id", "$comment", "$defs", "definitions", "examples", "readOnly", "writeOnly"})
_MAX_DEPTH = 32


def openapi_schema(schema: Mapping[str, Any], model: str) -> JSON:
    """``schema`` (JSON Schema) as Gemini's ``responseSchema``; a 400 naming the keyword it cannot carry."""
    return _Converter(schema, model).convert(schema, _WHERE, 0)


class _Converter:
    def __init__(self, root: Mapping[str, Any], model: str) -> None:
        self.root = root
        self.model = model
        self.expanding: list[str] = []  # the $refs being inlined, outermost first

    def refuse(self, where: str, what: str) -> InvalidRequestError:
        return InvalidRequestError(
            f"{where}: {what} cannot be expressed for {self.model}, which reads only Gemini's OpenAPI schema subset; "
            "use a Gemini 2.5 or later model, which reads JSON Schema as is"
        )

    def convert(self, schema: Any, where: str, depth: int) -> JSON:
        if not isinstance(schema, Mapping):
            raise self.refuse(where, "a schema that is not an object")
        if depth > _MAX_DEPTH:
            raise self.refuse(where, "a recursive schema")
        if "$ref" in schema:
            ref = str(schema["$ref"])
            if ref in self.expanding:
                raise self.refuse(f"{where}.$ref", "a recursive schema")
            self.expanding.append(ref)
            inlined = self.convert(self.resolve(ref, where), where, depth + 1)
            self.expanding.pop()
            return inlined
        out: JSON = {}
        for key, value in schema.items():
            if key in _KEPT:
                out[key] = value
            elif key == "type":
                out.update(self.type_of(value, where))
            elif key == "const":
                out["enum"] = [value]
            elif key == "properties":
                out["properties"] = {
                    name: self.convert(sub, f"{where}.properties.{name}", depth + 1) for name, sub in value.items()
                }
                out["propertyOrdering"] = list(value)
            elif key == "required":
                out["required"] = list(value)
            elif key == "items":
                out["items"] = self.convert(value, f"{where}.items", depth + 1)
            elif key == "anyOf":
                out["anyOf"] = [self.convert(sub, f"{where}.anyOf.{n}", depth + 1) for n, sub in enumerate(value)]
            elif key == "additionalProperties":
                if value is not False:
                    raise self.refuse(f"{where}.additionalProperties", "an open additionalProperties")
            elif key not in _IGNORED:
                raise self.refuse(f"{where}.{key}", f"`{key}`")
        return out

    def type_of(self, value: Any, where: str) -> JSON:
        types = [value] if isinstance(value, str) else list(value)
        nullable = "null" in types
        types = [kind for kind in types if kind != "null"]
        if len(types) > 1:
            raise self.refuse(f"{where}.type", "a value of several types")
        out: JSON = {"type": str(types[0] if types else "null").upper()}
        if nullable and types:
            out["nullable"] = True
        return out

    def resolve(self, ref: str, where: str) -> Any:
        if not ref.startswith("#/"):
            raise self.refuse(f"{where}.$ref", f"a reference outside the schema ({ref!r})")
        target: Any = self.root
        for part in ref.removeprefix("#/").split("/"):
            if not isinstance(target, Mapping) or part not in target:
                raise InvalidRequestError(f"{where}.$ref: {ref!r} names nothing in the schema")
            target = target[part]
        return target
