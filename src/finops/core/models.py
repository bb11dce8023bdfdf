"""``GET /v1/models`` and ``GET /v1/models/{model_id}``: one provider's models, paged as Anthropic pages lists.

* The list is the provider's (``x-model-provider``, default anthropic), in the order its adapter gives (newest
  first), with each model's ID as the provider names it (``gpt-4o``, not ``openai/gpt-4o``): those IDs work with
  the same header, which is how a client that listed them (Claude Code's model picker) calls them.
* Pages: ``limit`` (1 to 1,000, default 20), ``after_id`` (the page after that model), ``before_id`` (the page before
  it, still newest first); ``has_more`` says whether more lie that way. A cursor naming no listed model gives an
  empty page, as the file and batch lists do.
* Retrieve takes ``provider/model`` as messages do (``openai/gpt-4o`` with no header) and answers with the ID as
  asked, so an ID the gateway hands out routes the same way when it comes back.
"""

from __future__ import annotations

from collections.abc import Sequence

from finops.core.errors import NotFoundError
from finops.core.ids import shown_id
from finops.core.routing import split_model
from finops.core.types import JSON
from finops.store.records import Page


def page_of_models(
    models: Sequence[JSON], provider: str, *, limit: int, after_id: str | None, before_id: str | None
) -> Page[JSON]:
    """One page of ``models`` (a provider's whole list, newest first)."""
    cursor = after_id or before_id
    if cursor is None:
        return Page(list(models[:limit]), len(models) > limit)
    _, cursor = split_model(provider, cursor)  # ``openai/gpt-4o`` is ``gpt-4o`` in openai's list
    position = next((index for index, model in enumerate(models) if model["id"] == cursor), None)
    if position is None:
        return Page([], False)
    if after_id is not None:
        rest = models[position + 1 :]
        return Page(list(rest[:limit]), len(rest) > limit)
    before = models[:position]
    return Page(list(before[-limit:]), len(before) > limit)


def find_model(models: Sequence[JSON], model_id: str, asked_as: str) -> JSON:
    """The listed model ``model_id``, answered under the ID the caller asked for (``asked_as``)."""
    for model in models:
        if model["id"] == model_id:
            return model if asked_as == model_id else {**model, "id": asked_as}
    raise NotFoundError(f"model: {shown_id(asked_as)}")
