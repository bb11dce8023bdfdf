"""Apply the field policy to one request, before any adapter sees it: a refused feature is a 400 naming the field
and the provider, so the provider is never called and nothing is billed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from finops.core.errors import InvalidRequestError

from .features import Feature, Walk
from .rules import COLUMNS, Decision, Row, Rule, column_for, unknown_rule
from .table import ROWS

_TODO = "to do:"

_REFUSED: Mapping[str, Mapping[str, Row]] = {
    column: {key: row for key, row in ROWS.items() if row.rules[column].decision is Decision.REFUSED}
    for column in COLUMNS
}
"""Per column, the rows it refuses: every other row is translated, passed on or ignored whatever the value."""

_REFUSES_UNKNOWN = frozenset(column for column in COLUMNS if unknown_rule(column).decision is Decision.REFUSED)


def _refusal(feature: Feature, rule: Rule, provider: str, model: str, where: str) -> InvalidRequestError:
    subject = f"{feature.subject} is " if feature.subject else ""
    message = f"{where}{feature.path}: {subject}not supported by provider '{provider}' (model {model})"
    advice = rule.note.split(_TODO, 1)[0].strip().rstrip(";").strip()  # the table's to-do notes are not advice
    return InvalidRequestError(f"{message}; {advice}" if advice else message)


def _check(walk: Walk, provider: str, model: str, where: str) -> None:
    column = column_for(provider, model)
    refused, refuses_unknown = _REFUSED.get(column, {}), column in _REFUSES_UNKNOWN
    if not refused and not refuses_unknown:
        return  # nothing to refuse (Anthropic): the request is not walked
    for key, value in walk:
        row = refused.get(key)
        if row is not None:
            if row.active(value):
                raise _refusal(walk.feature(key, value), row.rules[column], provider, model, where)
        elif refuses_unknown and key not in ROWS and value is not None:
            raise _refusal(walk.feature(key, value), unknown_rule(column), provider, model, where)


def enforce_policy(params: Mapping[str, Any], provider: str, model: str, *, where: str = "") -> None:
    """Raise ``InvalidRequestError`` for the first feature of ``params`` (a body the parse accepted) that the policy
    refuses on this provider and model.

    ``model`` is the model as the provider will see it (``provider/`` prefix removed); ``where`` prefixes paths
    (``requests.3.params.``) for batch requests.
    """
    _check(Walk(params), provider, model, where)


class _BatchFields(Walk):
    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for key, value in self.params.items():
            if key != "requests":
                self.path[:] = [key]
                yield f"batch.{key}", value


def enforce_batch_policy(body: Mapping[str, Any], provider: str) -> None:
    """The fields of a batch body beside ``requests`` (each request's ``params`` go through ``enforce_policy``)."""
    _check(_BatchFields(body), provider, "", "")
