"""Text embeddings, a capability of the providers that have an embedding API (OpenAI ``/v1/embeddings``, Gemini
``batchEmbedContents``, Bedrock Titan and Cohere through InvokeModel; Anthropic has none).

Each provider's wire format lives in its own ``<provider>/embeddings.py``, which its adapter's ``embed`` calls
with the adapter's own client, so authentication, error mapping and redaction are the adapter's as for any call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Embeddings:
    vectors: list[list[float]]
    """One vector per input text, in order."""
    input_tokens: int
    """What the provider bills (its own count)."""


@runtime_checkable
class EmbeddingProvider(Protocol):
    name: str

    async def embed(self, texts: list[str], model: str, dimensions: int | None = None) -> Embeddings:
        """One vector per text from embedding model ``model`` (``dimensions`` shortens them where the model can)."""
        ...
