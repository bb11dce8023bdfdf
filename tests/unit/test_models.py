"""``GET /v1/models`` pages and ``provider/model`` retrieval (``core.models``), on a provider's whole list."""

from __future__ import annotations

import pytest

from finops.core.errors import NotFoundError
from finops.core.models import find_model, page_of_models

MODELS = [{"type": "model", "id": f"m{n}"} for n in range(5, 0, -1)]  # newest first: m5 … m1


def ids(models: list[dict[str, str]]) -> list[str]:
    return [model["id"] for model in models]


@pytest.mark.parametrize(
    ("limit", "after_id", "before_id", "page", "has_more"),
    [
        (2, None, None, ["m5", "m4"], True),
        (5, None, None, ["m5", "m4", "m3", "m2", "m1"], False),
        (1000, None, None, ["m5", "m4", "m3", "m2", "m1"], False),
        (2, "m4", None, ["m3", "m2"], True),
        (2, "m3", None, ["m2", "m1"], False),
        (2, "m1", None, [], False),
        (2, None, "m2", ["m4", "m3"], True),
        (2, None, "m3", ["m5", "m4"], False),
        (2, None, "m5", [], False),
        (2, "nope", None, [], False),
        (2, "openai/m4", None, ["m3", "m2"], True),  # a cursor may carry the listed provider's prefix
    ],
)
def test_pages_in_both_directions(
    limit: int, after_id: str | None, before_id: str | None, page: list[str], has_more: bool
) -> None:
    found = page_of_models(MODELS, "openai", limit=limit, after_id=after_id, before_id=before_id)
    assert (ids(found.data), found.has_more) == (page, has_more)


def test_a_model_is_answered_under_the_id_it_was_asked_by() -> None:
    assert find_model(MODELS, "m3", asked_as="openai/m3") == {"type": "model", "id": "openai/m3"}
    assert find_model(MODELS, "m3", asked_as="m3") is MODELS[2]
    with pytest.raises(NotFoundError, match="model: openai/m9"):
        find_model(MODELS, "m9", asked_as="openai/m9")
