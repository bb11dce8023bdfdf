"""``POST /v1/embeddings``: ``{model, input: [texts], encoding_format: "float", dimensions?}`` ->
``data[].embedding`` (by ``index``) and ``usage.prompt_tokens``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.embedding import Embeddings

Call = Callable[..., Awaitable[JSON]]


def embeddings_request(texts: list[str], model: str, dimensions: int | None) -> JSON:
    request: JSON = {"model": model, "input": texts, "encoding_format": "float"}
    if dimensions is not None:
        request["dimensions"] = dimensions
    return request


def from_embeddings_response(answer: JSON, count: int) -> Embeddings:
    data = answer.get("data")
    if not isinstance(data, list) or len(data) != count:
        raise UpstreamError("the openai upstream answered an embeddings request without one vector per input")
    ordered = sorted(data, key=lambda item: item.get("index", 0))
    vectors = [item.get("embedding") for item in ordered]
    if not all(isinstance(vector, list) and vector for vector in vectors):
        raise UpstreamError("the openai upstream answered an embeddings request with a vector that is not a list")
    usage = answer.get("usage") or {}
    return Embeddings(vectors=vectors, input_tokens=int(usage.get("prompt_tokens") or 0))


async def embed(call: Call, texts: list[str], model: str, dimensions: int | None) -> Embeddings:
    """``call`` is the adapter's JSON call (auth and error mapping included)."""
    answer = await call("POST", "/embeddings", json_body=embeddings_request(texts, model, dimensions))
    return from_embeddings_response(answer, len(texts))
