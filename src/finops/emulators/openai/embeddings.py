"""``POST /v1/embeddings``: ``text-embedding-3-small``/``-large`` and ``text-embedding-ada-002``.

Vectors come from ``_common.embeddings`` at the model's full size; ``dimensions`` (text-embedding-3 only)
truncates and re-normalises them, as OpenAI's shortened embeddings are defined. ``input`` is a string, a list
of strings, a list of token IDs or a list of those; token IDs are embedded as the words ``tok<ID>`` (the
emulator has no real vocabulary) and counted one token each. ``encoding_format: "base64"`` (what the official
SDK asks for) sends little-endian float32 bytes.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from finops.emulators._common.embeddings import embed, float32_base64, truncated
from finops.emulators._common.tokens import count_tokens
from finops.emulators.openai import catalog
from finops.emulators.openai.chat import read_json
from finops.emulators.openai.errors import OpenAIError, bad_request

_MAX_INPUTS = 2048
_MAX_TOKENS_PER_INPUT = 8192
_MAX_TOKENS_PER_REQUEST = 300_000


async def create_embeddings(request: Request) -> Response:
    body = await read_json(request)
    return Response(orjson.dumps(embeddings_response(body)), media_type="application/json")


def embeddings_response(body: Any) -> dict[str, Any]:
    """The ``CreateEmbeddingResponse`` for ``body``; raises :class:`OpenAIError` as OpenAI refuses."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("you must provide a model parameter", param="model")
    if "input" not in body:
        raise bad_request("Missing required parameter: 'input'.", param="input", code="missing_required_parameter")
    texts = _texts(body["input"])
    size = _dimensions(model, body.get("dimensions"))
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise bad_request(
            f"Invalid value: '{encoding}'. Supported values are: 'float' and 'base64'.",
            param="encoding_format",
            code="invalid_value",
        )
    counts = [tokens for _, tokens in texts]
    for tokens in counts:
        if tokens > _MAX_TOKENS_PER_INPUT:
            raise bad_request(
                f"This model's maximum context length is {_MAX_TOKENS_PER_INPUT} tokens, however you requested "
                f"{tokens} tokens ({tokens} in your prompt; 0 for the completion). Please reduce your prompt; or "
                "completion length.",
            )
    if sum(counts) > _MAX_TOKENS_PER_REQUEST:
        raise bad_request(f"Requested {sum(counts)} tokens, max {_MAX_TOKENS_PER_REQUEST} tokens per request")
    full = catalog.EMBEDDING_MODELS[model]
    data = []
    for index, (text, _) in enumerate(texts):
        vector = truncated(embed(text, full), size)
        value: Any = float32_base64(vector) if encoding == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": value})
    usage = {"prompt_tokens": sum(counts), "total_tokens": sum(counts)}
    return {"object": "list", "data": data, "model": model, "usage": usage}


def _dimensions(model: str, requested: Any) -> int:
    if model not in catalog.EMBEDDING_MODELS:
        if catalog.is_chat_model(model):
            raise bad_request(f"The model `{model}` does not support embeddings.", param="model")
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
    full = catalog.EMBEDDING_MODELS[model]
    if requested is None:
        return full
    if model not in catalog.RESIZABLE_EMBEDDINGS:
        raise bad_request("This model does not support specifying dimensions.")
    if isinstance(requested, bool) or not isinstance(requested, int) or not 1 <= requested <= full:
        raise bad_request(
            f"Invalid 'dimensions': expected an integer between 1 and {full}.",
            param="dimensions",
            code="invalid_value",
        )
    return requested


def _texts(raw: Any) -> list[tuple[str, int]]:
    """Each input as (text to embed, tokens billed)."""
    if isinstance(raw, str):
        items: list[Any] = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(item, int) and not isinstance(item, bool) for item in raw):
        items = [raw]  # one input given as token IDs
    elif isinstance(raw, list) and raw:
        items = raw
    else:
        raise _invalid_input()
    if len(items) > _MAX_INPUTS:
        raise bad_request(
            f"Invalid 'input': array too long. Expected an array with maximum length {_MAX_INPUTS}, "
            f"but got an array with length {len(items)} instead.",
            param="input",
            code="array_above_max_length",
        )
    texts = []
    for item in items:
        if isinstance(item, str) and item:
            texts.append((item, count_tokens(item)))
        elif isinstance(item, list) and item and all(isinstance(t, int) and not isinstance(t, bool) for t in item):
            texts.append((" ".join(f"tok{token}" for token in item), len(item)))
        else:
            raise _invalid_input()
    return texts


def _invalid_input() -> OpenAIError:
    return bad_request(
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."
    )
