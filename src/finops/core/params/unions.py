"""How the request model tells the members of a union apart, so that every error has exactly one location.

pydantic's "smart" unions try every member and report one error per member (``system.str: …``,
``system.list[…]: …``); Anthropic's API reports one (``system: Input should be a valid list``). So every union in
the model carries one of two markers, each building a tagged union (one dictionary lookup, then one member):

* ``Kinds()``: objects told apart by a field (``type``, or ``role`` for messages), tagged with the ``Literal``
  values that field has in each member. ``Kinds(open=True)`` lets an object of any other kind through
  unvalidated: the field policy decides what happens to kinds this gateway does not know.
* ``JSONTypes()``: a string, a list or an object, told apart by their JSON type; a value of none of them goes to
  the ``fallback`` member, whose error is the one Anthropic shows (a list, for ``string | list``).

pydantic puts the chosen tag into an error's location; every tag starts with ``TAG`` so ``parse.py`` can drop those
segments and name the field as the client wrote it (``messages.1.content.0.text``). A discriminating function is
named after the field it reads (pydantic reports it as ``type()``), so an error can name that field too.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin, get_type_hints

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema
from typing_extensions import is_typeddict

TAG = "~"
UNKNOWN_KIND = f"{TAG}*"


def _members(union: Any) -> tuple[Any, ...]:
    if get_origin(union) in (Union, types.UnionType):
        return get_args(union)
    return (union,)


def _literal_values(annotation: Any) -> list[Any]:
    values: list[Any] = []
    for member in _members(annotation):
        if get_origin(member) is Literal:
            values.extend(get_args(member))
        elif member is type(None):
            values.append(None)
    return values


@dataclass(frozen=True)
class Kinds:
    """Marks ``Annotated[A | B | …, Kinds()]``: TypedDicts told apart by ``field``.

    ``absent`` is the kind of an object whose field is missing or null (``"custom"``: custom tools leave out
    ``type``); otherwise such an object fails with ``union_tag_not_found``.
    """

    field: str = "type"
    open: bool = False
    absent: str | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        choices: dict[str, CoreSchema] = {}
        for member in _members(source):
            schema = handler.generate_schema(member)
            for value in _literal_values(get_type_hints(member)[self.field]):
                choices[TAG + (self.absent if value is None and self.absent else str(value))] = schema
        if self.open:
            choices[UNKNOWN_KIND] = core_schema.any_schema()
        known, field, absent, is_open = frozenset(choices), self.field, self.absent, self.open

        def kind(value: Any) -> str | None:
            if not isinstance(value, dict):
                return None
            tag = value.get(field)
            if tag is None and absent is not None:
                return TAG + absent
            if not isinstance(tag, str):
                return None
            tag = TAG + tag
            return UNKNOWN_KIND if is_open and tag not in known else tag

        kind.__name__ = kind.__qualname__ = field
        return core_schema.tagged_union_schema(choices, kind)


def _json_type(annotation: Any) -> str:
    origin = get_origin(annotation) or annotation
    if origin is str:
        return "str"
    if origin is list:
        return "list"
    if origin is dict or is_typeddict(origin):
        return "object"
    raise TypeError(f"JSONTypes cannot tell {annotation!r} apart by its JSON type")


def _json_type_of(value: Any) -> str:
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    return "object" if isinstance(value, dict) else "other"


@dataclass(frozen=True)
class JSONTypes:
    """Marks ``Annotated[str | list[X] | SomeObject, JSONTypes(fallback="list")]``: members told apart by JSON type."""

    fallback: Literal["str", "list", "object"]

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        choices = {TAG + _json_type(member): handler.generate_schema(member) for member in _members(source)}
        if TAG + self.fallback not in choices:
            raise TypeError(f"JSONTypes fallback {self.fallback!r} is not a member of {source!r}")
        fallback = TAG + self.fallback

        def json_type(value: Any) -> str:
            tag = TAG + _json_type_of(value)
            return tag if tag in choices else fallback

        return core_schema.tagged_union_schema(choices, json_type)


def members_by_kind(union: Any, field: str = "type") -> dict[str, type]:
    """``{kind: TypedDict}`` for an ``Annotated[A | B | …, Kinds()]`` alias (what the field policy walks)."""
    return {
        str(value): member
        for member in _members(get_args(union)[0])
        for value in _literal_values(get_type_hints(member)[field])
        if value is not None
    }


def required_keys(typed_dict: type) -> frozenset[str]:
    """The keys a ``TypedDict`` requires. Its ``__required_keys__`` cannot tell under ``from __future__ import
    annotations`` (every annotation is a string then), so the annotations are evaluated here."""
    total = getattr(typed_dict, "__total__", True)
    return frozenset(
        key
        for key, annotation in get_type_hints(typed_dict, include_extras=True).items()
        if get_origin(annotation) is Required or (total and get_origin(annotation) is not NotRequired)
    )
