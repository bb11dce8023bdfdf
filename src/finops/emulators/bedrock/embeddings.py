"""InvokeModel for Bedrock's text embedding models, in each family's native body.

- ``amazon.titan-embed-text-v2:0``: ``{inputText, dimensions: 1024|512|256, normalize, embeddingTypes:
  [float, binary]}`` -> ``{embedding, embeddingsByType, inputTextTokenCount}``.
- ``amazon.titan-embed-text-v1``: ``{inputText}`` only -> ``{embedding (1,536), inputTextTokenCount}``.
- ``cohere.embed-english-v3`` / ``cohere.embed-multilingual-v3``: ``{texts (<= 96), input_type, truncate,
  embedding_types}`` -> ``{id, embeddings, response_type, texts}``: a list of 1,024-float vectors
  (``embeddings_floats``) or, with ``embedding_types``, one list per type (``embeddings_by_type``).

Vectors come from ``_common.embeddings``; a smaller Titan size truncates the 1,024-dimension vector (then
re-normalises it unless ``normalize`` is false). Binary and integer types quantise the float vector.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from finops.emulators._common.embeddings import embed, truncated
from finops.emulators._common.tokens import count_tokens
from finops.emulators.bedrock.errors import validation

_TITAN_V2_SIZES = (1024, 512, 256)
_TITAN_V1_SIZE = 1536
_COHERE_SIZE = 1024
_COHERE_MAX_TEXTS = 96
_COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
_COHERE_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
_TITAN_MAX_CHARACTERS = 50_000


@dataclass(frozen=True)
class Embedded:
    body: dict[str, Any]
    input_tokens: int


def invoke(base_id: str, raw: bytes) -> Embedded:
    """The InvokeModel answer of embedding model ``base_id`` to the native body ``raw``."""
    try:
        body = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise _malformed("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _malformed("#: expected type: JSONObject")
    if base_id.startswith("cohere."):
        return _cohere(body)
    return _titan(body, v2=base_id.startswith("amazon.titan-embed-text-v2"))


def _malformed(detail: str) -> Exception:
    return validation(f"Malformed input request: {detail}, please reformat your input and try again.")


def _titan(body: dict[str, Any], *, v2: bool) -> Embedded:
    allowed = {"inputText", "dimensions", "normalize", "embeddingTypes"} if v2 else {"inputText"}
    extra = sorted(set(body) - allowed)
    if extra:
        raise _malformed(f"#: extraneous key [{extra[0]}] is not permitted")
    text = body.get("inputText")
    if not isinstance(text, str) or not text:
        raise _malformed("#: required key [inputText] not found")
    if len(text) > _TITAN_MAX_CHARACTERS:
        raise _malformed(f"#/inputText: expected maxLength: {_TITAN_MAX_CHARACTERS}, actual: {len(text)}")
    tokens = count_tokens(text)
    if not v2:
        return Embedded({"embedding": embed(text, _TITAN_V1_SIZE), "inputTextTokenCount": tokens}, tokens)
    size = body.get("dimensions", 1024)
    if size not in _TITAN_V2_SIZES:
        raise _malformed(f"#/dimensions: {size} is not a valid enum value")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise _malformed("#/normalize: expected type: Boolean")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list) or not types or any(t not in ("float", "binary") for t in types):
        raise _malformed("#/embeddingTypes: expected a non-empty array of float, binary")
    vector = truncated(embed(text, 1024, normalize=normalize), size, renormalize=normalize)
    by_type: dict[str, Any] = {}
    if "float" in types:
        by_type["float"] = vector
    if "binary" in types:
        by_type["binary"] = [1 if value > 0 else 0 for value in vector]
    answer: dict[str, Any] = {"embeddingsByType": by_type, "inputTextTokenCount": tokens}
    if "float" in types:
        answer["embedding"] = vector
    return Embedded(answer, tokens)


def _cohere(body: dict[str, Any]) -> Embedded:
    texts = body.get("texts")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise _malformed("#: required key [texts] not found")
    if len(texts) > _COHERE_MAX_TEXTS:
        raise _malformed(f"#/texts: expected maximum item count: {_COHERE_MAX_TEXTS}, found: {len(texts)}")
    if body.get("input_type") not in _COHERE_INPUT_TYPES:
        raise _malformed(f"#/input_type: {body.get('input_type')} is not a valid enum value")
    if body.get("truncate", "NONE") not in ("NONE", "START", "END"):
        raise _malformed(f"#/truncate: {body.get('truncate')} is not a valid enum value")
    types = body.get("embedding_types")
    if types is not None and (not isinstance(types, list) or not types or any(t not in _COHERE_TYPES for t in types)):
        raise _malformed("#/embedding_types: expected an array of float, int8, uint8, binary, ubinary")
    vectors = [embed(text, _COHERE_SIZE) for text in texts]
    tokens = sum(count_tokens(text) for text in texts)
    answer: dict[str, Any] = {"id": str(uuid.uuid4()), "texts": texts}
    if types is None:
        answer.update(embeddings=vectors, response_type="embeddings_floats")
    else:
        answer.update(embeddings={kind: [_quantise(v, kind) for v in vectors] for kind in types})
        answer["response_type"] = "embeddings_by_type"
    return Embedded(answer, tokens)


def _quantise(vector: list[float], kind: str) -> list[Any]:
    if kind == "float":
        return vector
    peak = max((abs(value) for value in vector), default=1.0) or 1.0
    if kind == "int8":
        return [round(value / peak * 127) for value in vector]
    if kind == "uint8":
        return [round((value / peak + 1) * 127.5) for value in vector]
    bits = [1 if value > 0 else 0 for value in vector]
    packed = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8)]
    return packed if kind == "ubinary" else [byte - 128 for byte in packed]
