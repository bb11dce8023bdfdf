"""Deterministic text embeddings: sentences that share most words are close, unrelated ones are far.

A text becomes weighted features: the stem of every word (filler words weigh 0.2, others 1.0), the
character trigrams of every meaningful word (0.25 per word, spread over its trigrams, so "password" and
"passwords" stay close), and one feature every text shares (30 % of the text's weight, which keeps unrelated
texts near 0.1 cosine as real embedding models do, rather than around 0). Each feature is hashed (BLAKE2b,
stable across processes) to a signed position in each of the nested ranges 32, 64, 128, ..., dimensions,
so any *prefix* of a vector is itself a usable embedding: like OpenAI's and Gemini's Matryoshka models,
asking for fewer dimensions is truncating the full vector (and re-normalising).

What this gives (``tests/conformance/test_emulator_embeddings.py``, at every size each API offers): a sentence
and a paraphrase that changes only filler words, word forms or case score >= 0.95 cosine; the same question
about something else ("capital of France" / "capital of Spain") about 0.5; unrelated sentences <= 0.3.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections.abc import Sequence

from finops.emulators._common.words import STOP_WORDS, stem

_WORD = re.compile(r"\w+", re.UNICODE)
_LEVELS = (32, 64, 128, 256, 512, 768, 1024, 1536, 2048, 3072, 4096)
_FILLER_WEIGHT = 0.2
_TRIGRAM_WEIGHT = 0.25
_SHARED_WEIGHT = 0.3


def embed(text: str, dimensions: int, *, normalize: bool = True) -> list[float]:
    """The ``dimensions``-long embedding of ``text`` (unit length unless ``normalize`` is false)."""
    vector = [0.0] * dimensions
    levels = [level for level in _LEVELS if level < dimensions] + [dimensions]
    for feature, weight in _features(text).items():
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=64).digest()
        for index, level in enumerate(levels):
            draw = int.from_bytes(digest[index * 4 : index * 4 + 4], "little")
            vector[(draw >> 1) % level] += weight if draw & 1 else -weight
    if not normalize:
        return vector
    return normalized(vector)


def truncated(vector: Sequence[float], dimensions: int, *, renormalize: bool = True) -> list[float]:
    """The first ``dimensions`` values of ``vector``, re-normalised to unit length unless asked not to."""
    head = list(vector[:dimensions])
    return normalized(head) if renormalize else head


def normalized(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector] if norm else list(vector)


def cosine(left: Sequence[float], right: Sequence[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    norms = math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right))
    return dot / norms if norms else 0.0


def float32_base64(vector: Sequence[float]) -> str:
    """Little-endian float32 bytes, base64-encoded: OpenAI's ``encoding_format: "base64"``."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def _features(text: str) -> dict[str, float]:
    features: dict[str, float] = {}
    for word in _WORD.findall(text.lower()):
        filler = word in STOP_WORDS
        key = "w:" + stem(word)
        features[key] = features.get(key, 0.0) + (_FILLER_WEIGHT if filler else 1.0)
        if filler:
            continue
        padded = f"<{word}>"
        grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
        for gram in grams:
            features["c:" + gram] = features.get("c:" + gram, 0.0) + _TRIGRAM_WEIGHT / math.sqrt(len(grams))
    size = math.sqrt(sum(weight * weight for weight in features.values()))
    features["shared"] = _SHARED_WEIGHT * size if size else 1.0
    return features
