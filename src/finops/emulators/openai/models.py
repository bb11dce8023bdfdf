"""``GET /v1/models`` and ``GET /v1/models/{id}``: a fixed list of current models; any served ID retrieves."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators.openai import catalog
from finops.emulators.openai.errors import OpenAIError

# (id, created, owned_by) as the real API lists them.
MODELS: tuple[tuple[str, int, str], ...] = (
    ("gpt-4o-mini", 1721172741, "system"),
    ("gpt-4o", 1715367049, "system"),
    ("gpt-4.1", 1744316542, "system"),
    ("gpt-4.1-mini", 1744318173, "system"),
    ("gpt-4.1-nano", 1744321707, "system"),
    ("gpt-5", 1754425777, "system"),
    ("gpt-5-mini", 1754425928, "system"),
    ("o3", 1744225308, "system"),
    ("o3-mini", 1737146383, "system"),
    ("o4-mini", 1744225351, "system"),
    ("gpt-4o-search-preview", 1741388720, "system"),
    ("gpt-4o-mini-search-preview", 1741391161, "system"),
    ("text-embedding-3-small", 1705948997, "system"),
    ("text-embedding-3-large", 1705953180, "system"),
    ("text-embedding-ada-002", 1671217299, "openai-internal"),
)
_SERVED_SINCE = 1700000000  # "created" for served models outside the list above


def _model_object(model_id: str, created: int, owned_by: str) -> dict[str, object]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


async def list_models(request: Request) -> Response:
    payload = {"object": "list", "data": [_model_object(*model) for model in MODELS]}
    return Response(orjson.dumps(payload), media_type="application/json")


async def retrieve_model(request: Request) -> Response:
    model_id = request.path_params["model"]
    for model in MODELS:
        if model[0] == model_id:
            return Response(orjson.dumps(_model_object(*model)), media_type="application/json")
    if catalog.is_chat_model(model_id) or model_id in catalog.EMBEDDING_MODELS:
        return Response(orjson.dumps(_model_object(model_id, _SERVED_SINCE, "system")), media_type="application/json")
    raise OpenAIError(
        404,
        f"The model '{model_id}' does not exist",
        param="model",
        code="model_not_found",
    )
