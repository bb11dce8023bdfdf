"""``models/{m}:embedContent`` and ``models/{m}:batchEmbedContents``.

Vectors come from ``_common.embeddings`` at the model's full size (3,072 for ``gemini-embedding-001``, 768
for ``text-embedding-004``/``embedding-001``). ``outputDimensionality`` truncates them; as Google documents,
only full-size ``gemini-embedding-001`` vectors are normalised (callers normalise shorter ones), while
``text-embedding-004`` vectors are always unit length. ``taskType`` is checked but changes nothing (queries and
documents stay comparable); ``title`` is accepted with ``RETRIEVAL_DOCUMENT`` only and not embedded.
"""

from __future__ import annotations

from typing import Any

from finops.emulators._common.embeddings import embed, truncated
from finops.emulators.gemini.catalog import traits
from finops.emulators.gemini.errors import invalid
from finops.emulators.gemini.wire import pick

_TASK_TYPES = (
    "TASK_TYPE_UNSPECIFIED",
    "RETRIEVAL_QUERY",
    "RETRIEVAL_DOCUMENT",
    "SEMANTIC_SIMILARITY",
    "CLASSIFICATION",
    "CLUSTERING",
    "QUESTION_ANSWERING",
    "FACT_VERIFICATION",
    "CODE_RETRIEVAL_QUERY",
)
_MAX_BATCH = 100
_NORMALISED_ONLY_AT_FULL_SIZE = frozenset({"gemini-embedding-001"})


def embed_content(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The ``EmbedContentResponse`` for one request."""
    return {"embedding": _embedding(body, model, "EmbedContentRequest")}


def batch_embed_contents(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The ``BatchEmbedContentsResponse``: one embedding per request, in order."""
    requests = pick(body, "requests")
    if not isinstance(requests, list) or not requests:
        raise invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n")
    if len(requests) > _MAX_BATCH:
        raise invalid(f"* BatchEmbedContentsRequest.requests: at most {_MAX_BATCH} requests can be in one batch\n")
    embeddings = []
    for index, request in enumerate(requests):
        where = f"BatchEmbedContentsRequest.requests[{index}]"
        if not isinstance(request, dict):
            raise invalid(f"* {where}: must be an object\n")
        named = pick(request, "model")
        if named is not None and str(named).removeprefix("models/") != model:
            raise invalid(f"* {where}.model: the model must be models/{model}, the model of the batch request\n")
        embeddings.append(_embedding(request, model, where))
    return {"embeddings": embeddings}


def _embedding(request: dict[str, Any], model: str, where: str) -> dict[str, Any]:
    info = traits(model)
    text = _text(pick(request, "content"), where)
    task = pick(request, "taskType")
    if task is not None and task not in _TASK_TYPES:
        raise invalid(f'* {where}.task_type: invalid value "{task}"\n')
    if pick(request, "title") is not None and task != "RETRIEVAL_DOCUMENT":
        raise invalid(f"* {where}.title: title is only supported when task_type is RETRIEVAL_DOCUMENT\n")
    size = pick(request, "outputDimensionality")
    vector = embed(text, info.dimensions)
    if size is None or size == info.dimensions:
        return {"values": vector}
    if not info.resizable:
        raise invalid(f"* {where}.output_dimensionality: models/{model} does not support output_dimensionality\n")
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= info.dimensions:
        raise invalid(f"* {where}.output_dimensionality: must be between 1 and {info.dimensions}\n")
    return {"values": truncated(vector, size, renormalize=model not in _NORMALISED_ONLY_AT_FULL_SIZE)}


def _text(content: Any, where: str) -> str:
    parts = pick(content, "parts") if isinstance(content, dict) else None
    if not isinstance(parts, list) or not parts:
        raise invalid(f"* {where}.content: content is not specified\n")
    texts = []
    for index, part in enumerate(parts):
        text = pick(part, "text")
        if not isinstance(text, str):
            raise invalid(f"* {where}.content.parts[{index}]: only text parts can be embedded by this model\n")
        texts.append(text)
    joined = " ".join(texts)
    if not joined.strip():
        raise invalid(f"* {where}.content: the text to embed is empty\n")
    return joined
