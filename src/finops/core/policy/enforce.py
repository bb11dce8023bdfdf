"""Apply the field policy to one request, before any adapter sees it: a refused feature is a 400 naming the field
and the provider, so the provider is never called and nothing is billed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from finops.core.errors import InvalidRequestError

from .features import Feature, features
from .rules import COLUMNS, Decision, Rule, column_for, present, unknown_rule
from .table import ROWS

_TODO = "to do:"

_REFUSING_COLUMNS = frozenset(
    column
    for column in COLUMNS
    if unknown_rule(column).decision is Decision.REFUSED
    or any(row.rules[column].decision is Decision.REFUSED for row in ROWS.values())
)
"""Columns where some feature can be refused; on the others (Anthropic) no request needs walking."""


def rule_for(feature: Feature, column: str) -> Rule | None:
    """The rule judging ``feature`` in ``column``; ``None`` when the value asks for nothing (``false``, ``null``)."""
    row = ROWS.get(feature.key)
    if row is None:
        return unknown_rule(column) if present(feature.value) else None
    return row.rules[column] if row.active(feature.value) else None


def _refusal(feature: Feature, rule: Rule, provider: str, model: str, where: str) -> InvalidRequestError:
    subject = f"{feature.subject} is " if feature.subject else ""
    message = f"{where}{feature.path}: {subject}not supported by provider '{provider}' (model {model})"
    advice = rule.note.split(_TODO, 1)[0].strip().rstrip(";").strip()  # the table's to-do notes are not advice
    return InvalidRequestError(f"{message}; {advice}" if advice else message)


def _check(features: Iterator[Feature], provider: str, model: str, where: str) -> None:
    column = column_for(provider, model)
    if column not in _REFUSING_COLUMNS:
        return
    for feature in features:
        rule = rule_for(feature, column)
        if rule is not None and rule.decision is Decision.REFUSED:
            raise _refusal(feature, rule, provider, model, where)


def enforce_policy(params: Mapping[str, Any], provider: str, model: str, *, where: str = "") -> None:
    """Raise ``InvalidRequestError`` for the first feature of ``params`` (a body the parse accepted) that the policy
    refuses on this provider and model.

    ``model`` is the model as the provider will see it (``provider/`` prefix removed); ``where`` prefixes paths
    (``requests.3.params.``) for batch requests.
    """
    _check(features(params), provider, model, where)


def enforce_batch_policy(body: Mapping[str, Any], provider: str) -> None:
    """The fields of a batch body beside ``requests`` (each request's ``params`` go through ``enforce_policy``)."""
    batch_fields = (Feature(f"batch.{key}", key, value) for key, value in body.items() if key != "requests")
    _check(batch_fields, provider, "", "")
