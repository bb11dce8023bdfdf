"""Bedrock text embeddings through InvokeModel, in each family's native body:

- Titan v2 (``amazon.titan-embed-text-v2:0``): one text per call, ``{inputText, dimensions?, normalize: true}``;
- Titan v1: one text per call, ``{inputText}``;
- Cohere v3 (``cohere.embed-*``): up to 96 texts per call, ``{texts, input_type: "search_query"}``.

The billed count is InvokeModel's ``X-Amzn-Bedrock-Input-Token-Count`` header (Cohere's body has none).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import orjson

from finops.core.errors import InvalidRequestError, UpstreamError
from finops.core.types import JSON
from finops.providers.bedrock.models import model_path
from finops.providers.embedding import Embeddings

Send = Callable[[str, JSON], Awaitable[httpx.Response]]

_COHERE_MAX_TEXTS = 96
_TOKEN_HEADER = "x-amzn-bedrock-input-token-count"


def _is_cohere(model: str) -> bool:
    return ".cohere.embed" in f".{model}" or model.startswith("cohere.embed")


def _is_titan(model: str) -> bool:
    return "amazon.titan-embed" in model


def titan_body(text: str, model: str, dimensions: int | None) -> JSON:
    if "titan-embed-text-v1" in model or "titan-embed-g1" in model:
        return {"inputText": text}
    body: JSON = {"inputText": text, "normalize": True}
    if dimensions is not None:
        body["dimensions"] = dimensions
    return body


def cohere_body(texts: list[str]) -> JSON:
    return {"texts": texts, "input_type": "search_query"}


def _answer(response: httpx.Response) -> tuple[JSON, int]:
    try:
        answer = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("Bedrock answered an embeddings request with a body that is not JSON") from exc
    if not isinstance(answer, dict):
        raise UpstreamError("Bedrock answered an embeddings request with a body that is not a JSON object")
    return answer, int(response.headers.get(_TOKEN_HEADER) or 0)


def _vector(value: Any) -> list[float]:
    if not isinstance(value, list) or not value:
        raise UpstreamError("Bedrock answered an embeddings request without a vector")
    return value


async def embed(send: Send, texts: list[str], model: str, dimensions: int | None) -> Embeddings:
    """``send(path, body)`` is the adapter's signed POST (error mapping included)."""
    path = f"/model/{model_path(model)}/invoke"
    if _is_cohere(model):
        vectors: list[list[float]] = []
        tokens = 0
        for start in range(0, len(texts), _COHERE_MAX_TEXTS):
            answer, counted = _answer(await send(path, cohere_body(texts[start : start + _COHERE_MAX_TEXTS])))
            embeddings = answer.get("embeddings")
            if isinstance(embeddings, dict):  # asked by type: ``{"float": [...]}``
                embeddings = embeddings.get("float")
            if not isinstance(embeddings, list):
                raise UpstreamError("Bedrock answered a Cohere embeddings request without embeddings")
            vectors += [_vector(vector) for vector in embeddings]
            tokens += counted
        return Embeddings(vectors=vectors, input_tokens=tokens)
    if not _is_titan(model):
        raise InvalidRequestError(f"bedrock: {model!r} is not a Titan or Cohere text embedding model")
    answers = await asyncio.gather(*(send(path, titan_body(text, model, dimensions)) for text in texts))
    read = [_answer(response) for response in answers]
    return Embeddings(
        vectors=[_vector(answer.get("embedding")) for answer, _ in read],
        input_tokens=sum(counted for _, counted in read),
    )
