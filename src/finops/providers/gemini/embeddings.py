"""``models/{m}:batchEmbedContents`` (one request per text, ``outputDimensionality`` when asked) ->
``embeddings[].values``. Gemini's embedding answers carry no token count, so ``models/{m}:countTokens`` is asked
for the same texts at the same time (one more call, no added wait): that count is what gets billed."""

from __future__ import annotations

import asyncio
from typing import Protocol

import orjson

from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.embedding import Embeddings
from finops.providers.gemini.paths import model_path


class _Client(Protocol):
    api: str

    async def call(self, method: str, path: str, *, content: bytes | None = None) -> JSON: ...


def embed_request(texts: list[str], model: str, dimensions: int | None) -> JSON:
    requests: list[JSON] = []
    for text in texts:
        request: JSON = {"model": f"models/{model}", "content": {"parts": [{"text": text}]}}
        if dimensions is not None:
            request["outputDimensionality"] = dimensions
        requests.append(request)
    return {"requests": requests}


def count_request(texts: list[str]) -> JSON:
    return {"contents": [{"role": "user", "parts": [{"text": text}]} for text in texts]}


def from_embed_response(answer: JSON, count: int) -> list[list[float]]:
    embeddings = answer.get("embeddings")
    if not isinstance(embeddings, list) or len(embeddings) != count:
        raise UpstreamError("the gemini upstream answered an embeddings request without one vector per input")
    vectors = [item.get("values") if isinstance(item, dict) else None for item in embeddings]
    if not all(isinstance(vector, list) and vector for vector in vectors):
        raise UpstreamError("the gemini upstream answered an embeddings request with a vector that is not a list")
    return vectors  # type: ignore[return-value]


async def embed(client: _Client, texts: list[str], model: str, dimensions: int | None) -> Embeddings:
    path = f"{client.api}/models/{model_path(model)}"
    embedded, counted = await asyncio.gather(
        client.call(
            "POST", f"{path}:batchEmbedContents", content=orjson.dumps(embed_request(texts, model, dimensions))
        ),
        client.call("POST", f"{path}:countTokens", content=orjson.dumps(count_request(texts))),
    )
    return Embeddings(
        vectors=from_embed_response(embedded, len(texts)), input_tokens=int(counted.get("totalTokens") or 0)
    )
