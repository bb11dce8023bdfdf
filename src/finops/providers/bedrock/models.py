"""Bedrock model IDs: which API family a model speaks, the models we list, how an ID goes in a URL path.

Anthropic models are called through InvokeModel with an Anthropic-native body (nothing is lost in
translation); every other family goes through Converse. Converse also serves Claude, so an ID we fail to
recognise as Anthropic (an application inference profile ARN, say) still works, only through the lossier path.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

# Cross-region inference profiles prefix the foundation-model ID with a geography ("us.anthropic.claude-...").
_PROFILE_PREFIXES = ("us", "eu", "apac", "global", "us-gov", "jp", "au", "ca")

# Matches a bare ID, a cross-region profile ID, or either one at the end of an ARN
# (``arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-...``,
# ``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-...``).
_ANTHROPIC_MODEL_RE = re.compile(
    r"^(?:arn:aws[a-z-]*:bedrock:[^/]*/)?"
    r"(?:(?:" + "|".join(re.escape(p) for p in _PROFILE_PREFIXES) + r")\.)?"
    r"anthropic\.claude-"
)

# botocore's ``percent_encode`` keeps only RFC 3986 unreserved characters; everything else, ``:`` and ``/``
# included, is percent-encoded.
_PATH_SAFE = "-._~"


def is_anthropic_model(model_id: str) -> bool:
    """True when ``model_id`` names a Claude model (bare ID, cross-region profile, or an ARN of either)."""
    return _ANTHROPIC_MODEL_RE.match(model_id) is not None


def base_model_id(model_id: str) -> str:
    """The foundation-model ID inside a cross-region profile ID or an ARN: ``amazon.nova-2-lite-v1:0`` for
    ``us.amazon.nova-2-lite-v1:0`` or ``arn:aws:bedrock:...:inference-profile/us.amazon.nova-2-lite-v1:0``."""
    parts = model_id.rsplit("/", 1)[-1].split(".")
    if len(parts) > 2 and parts[0] in _PROFILE_PREFIXES:
        parts = parts[1:]
    return ".".join(parts)


def model_family(model_id: str) -> str:
    """The provider part of a model ID: ``meta`` for ``meta.llama3-...``, ``us.meta.llama3-...`` or an ARN
    ending in either (used to pick family-specific request fields)."""
    return base_model_id(model_id).split(".", 1)[0]


def family_of(model_id: str) -> str:
    """``anthropic`` for every Claude ID (bare, profile or ARN), else the provider part (``amazon``, ``meta``...)."""
    return "anthropic" if is_anthropic_model(model_id) else model_family(model_id)


def model_path(model_id: str) -> str:
    """The ``{modelId}`` segment of ``/model/{modelId}/...``, encoded exactly as botocore encodes it.

    boto3 sends ``anthropic.claude-3-haiku-20240307-v1%3A0`` (``:`` encoded), while the anthropic SDK's
    Bedrock client keeps ``:``. AWS accepts both as long as the SigV4 canonical URI is built from the path
    actually sent.
    We follow botocore because its signer is what signs our requests, and because an ARN's ``/`` must be
    encoded anyway to stay inside one path segment.
    """
    return quote(model_id, safe=_PATH_SAFE)


def _model(model_id: str, display_name: str, created_at: str) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "display_name": display_name, "created_at": created_at}


# What ``GET /v1/models`` lists for Bedrock. Bedrock's own catalogue needs the control-plane API and
# differs per account and region, so this is a representative, static set; any other valid model ID is
# still accepted.
# ``created_at`` is the model's public release date (RFC 3339), like Anthropic's own model objects.
KNOWN_MODELS: list[dict[str, Any]] = [
    _model("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude Sonnet 4.5 (US)", "2025-09-29T00:00:00Z"),
    _model("us.anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4 (US)", "2025-05-22T00:00:00Z"),
    _model("anthropic.claude-sonnet-4-20250514-v1:0", "Claude Sonnet 4", "2025-05-22T00:00:00Z"),
    _model("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "Claude Sonnet 3.7 (US)", "2025-02-24T00:00:00Z"),
    _model("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
    _model("anthropic.claude-3-5-sonnet-20241022-v2:0", "Claude Sonnet 3.5 v2", "2024-10-22T00:00:00Z"),
    _model("anthropic.claude-3-5-sonnet-20240620-v1:0", "Claude Sonnet 3.5", "2024-06-20T00:00:00Z"),
    _model("anthropic.claude-3-haiku-20240307-v1:0", "Claude Haiku 3", "2024-03-07T00:00:00Z"),
    _model("us.amazon.nova-2-lite-v1:0", "Amazon Nova 2 Lite (US)", "2025-12-02T00:00:00Z"),
    _model("amazon.nova-pro-v1:0", "Amazon Nova Pro", "2024-12-03T00:00:00Z"),
    _model("amazon.nova-lite-v1:0", "Amazon Nova Lite", "2024-12-03T00:00:00Z"),
    _model("amazon.nova-micro-v1:0", "Amazon Nova Micro", "2024-12-03T00:00:00Z"),
    _model("meta.llama3-1-70b-instruct-v1:0", "Llama 3.1 70B Instruct", "2024-07-23T00:00:00Z"),
    _model("meta.llama3-1-8b-instruct-v1:0", "Llama 3.1 8B Instruct", "2024-07-23T00:00:00Z"),
    _model("mistral.mistral-large-2402-v1:0", "Mistral Large (24.02)", "2024-02-26T00:00:00Z"),
]
