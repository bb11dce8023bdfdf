"""Bedrock model IDs: family detection, the listed models, the URL path segment (as botocore renders it)."""

from __future__ import annotations

import pytest
from botocore.serialize import create_serializer

from finops.providers.bedrock.models import KNOWN_MODELS, is_anthropic_model, model_family, model_path
from tests.unit.providers.test_bedrock_shapes import SERVICE_MODEL

# ------------------------------------------------------------------------------------------------------------
# Model IDs
# ------------------------------------------------------------------------------------------------------------

ANTHROPIC_MODEL_CASES = [
    ("anthropic.claude-3-haiku-20240307-v1:0", True),
    ("anthropic.claude-3-5-sonnet-20240620-v1:0", True),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", True),
    ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", True),
    ("apac.anthropic.claude-3-5-sonnet-20240620-v1:0", True),
    ("global.anthropic.claude-sonnet-4-20250514-v1:0", True),
    ("arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0", True),
    (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0",
        True,
    ),
    ("amazon.nova-lite-v1:0", False),
    ("us.amazon.nova-pro-v1:0", False),
    ("meta.llama3-1-8b-instruct-v1:0", False),
    ("mistral.mistral-large-2402-v1:0", False),
    ("anthropic.titan-fake", False),
    ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123", False),
]


@pytest.mark.parametrize(("model_id", "expected"), ANTHROPIC_MODEL_CASES, ids=[c[0] for c in ANTHROPIC_MODEL_CASES])
def test_is_anthropic_model(model_id: str, expected: bool) -> None:
    assert is_anthropic_model(model_id) is expected


@pytest.mark.parametrize(
    ("model_id", "family"),
    [
        ("meta.llama3-1-8b-instruct-v1:0", "meta"),
        ("us.meta.llama3-2-1b-instruct-v1:0", "meta"),
        ("amazon.nova-lite-v1:0", "amazon"),
        ("arn:aws:bedrock:us-east-1::foundation-model/mistral.mistral-large-2402-v1:0", "mistral"),
    ],
)
def test_model_family(model_id: str, family: str) -> None:
    assert model_family(model_id) == family


MODEL_PATH_CASES = [
    ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1%3A0"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1%3A0"),
    (
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0",
        "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-3-haiku-20240307-v1%3A0",
    ),
]


@pytest.mark.parametrize(("model_id", "expected"), MODEL_PATH_CASES, ids=["bare", "profile", "arn"])
def test_model_path_matches_botocore(model_id: str, expected: str) -> None:
    assert model_path(model_id) == expected
    # The same segment botocore's own serializer renders for InvokeModel (what boto3 sends and signs).
    serializer = create_serializer("rest-json")
    operation = SERVICE_MODEL.operation_model("InvokeModel")
    request = serializer.serialize_to_request({"modelId": model_id, "body": b"{}"}, operation)
    assert request["url_path"] == f"/model/{expected}/invoke"


def test_known_models_are_anthropic_model_objects() -> None:
    ids = [m["id"] for m in KNOWN_MODELS]
    for required in (
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "anthropic.claude-3-haiku-20240307-v1:0",
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "amazon.nova-lite-v1:0",
        "amazon.nova-pro-v1:0",
        "meta.llama3-1-8b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
    ):
        assert required in ids
    assert len(ids) == len(set(ids))
    for model in KNOWN_MODELS:
        assert set(model) == {"type", "id", "display_name", "created_at"}
        assert model["type"] == "model"
        assert model["created_at"].endswith("Z")
