"""Which model IDs the emulator serves, and what family each belongs to.

Bedrock accepts a foundation-model ID (``anthropic.claude-3-5-sonnet-20240620-v1:0``), a cross-region
inference profile (``us.``/``eu.``/``apac.``/``global.`` ... prefix) or either as an ARN. Families are
matched by pattern rather than a fixed list so that a newly released model works without an emulator change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from finops.emulators.bedrock.errors import BedrockError

_ARN = re.compile(
    r"^arn:aws[a-z-]*:bedrock:[a-z0-9-]*:\d*:"
    r"(?:foundation-model|inference-profile|system-defined-inference-profile)/(?P<id>.+)$"
)
_GEO_PREFIX = re.compile(r"^(?:us|us-gov|eu|apac|global|jp|au|ca)\.")
_VERSION_SUFFIX = re.compile(r"-v\d+(?::\d+)?(?::[0-9a-z]+)?$")
_FAMILIES: dict[str, re.Pattern[str]] = {
    "anthropic": re.compile(r"^anthropic\.claude-[a-z0-9.-]+(?::\d+)?(?::[0-9a-z]+)?$"),
    "amazon": re.compile(r"^amazon\.(?:nova|titan-text|titan-embed-text)-[a-z0-9.-]+(?::\d+)?(?::[0-9a-z]+)?$"),
    "meta": re.compile(r"^meta\.llama[0-9a-z.-]+(?::\d+)?$"),
    "mistral": re.compile(r"^mistral\.[a-z0-9.-]+(?::\d+)?$"),
    "cohere": re.compile(r"^cohere\.(?:command|embed)-[a-z0-9.-]+(?::\d+)?$"),
    "ai21": re.compile(r"^ai21\.jamba-[a-z0-9.-]+(?::\d+)?$"),
    "deepseek": re.compile(r"^deepseek\.[a-z0-9.-]+(?::\d+)?$"),
    "openai": re.compile(r"^openai\.gpt-oss-[a-z0-9.-]+(?::\d+)?$"),
}


@dataclass(frozen=True)
class Model:
    requested_id: str
    """The ID as the caller wrote it (percent-decoded)."""
    base_id: str
    """The foundation-model ID, without ARN or inference-profile prefix."""
    family: str

    @property
    def is_anthropic(self) -> bool:
        return self.family == "anthropic"

    @property
    def is_embedding(self) -> bool:
        """Titan and Cohere text embedding models (InvokeModel only)."""
        return self.base_id.startswith(("amazon.titan-embed-text", "cohere.embed-"))

    @property
    def anthropic_name(self) -> str:
        """The name Claude reports in ``model`` (``claude-3-5-sonnet-20240620``), as Bedrock answers it."""
        return _VERSION_SUFFIX.sub("", self.base_id.removeprefix("anthropic."))


def resolve(model_id: str) -> Model:
    """Map a path's model ID to a served model, or raise Bedrock's 400 for an identifier it does not know."""
    base = model_id
    arn = _ARN.match(base)
    if arn:
        base = arn.group("id")
    base = _GEO_PREFIX.sub("", base)
    for family, pattern in _FAMILIES.items():
        if pattern.match(base):
            return Model(requested_id=model_id, base_id=base, family=family)
    raise BedrockError(400, "The provided model identifier is invalid.", "ValidationException")
