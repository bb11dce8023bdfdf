"""Every emulator's embedding endpoint, through its provider's official SDK, gives vectors a cache can trust.

Thresholds, and why: the gateway's semantic cache (issue 15) hits at cosine >= 0.95 by default, so a
paraphrase that only changes filler words or word forms must score at least that; the same question about
something else ("capital of France" / "of Spain") must stay well below it (< 0.8: a different answer), and
unrelated sentences must be far apart (<= 0.3, where real embedding models put unrelated text). Each holds at
every size each API offers, because shorter vectors are truncations of the full one.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import openai
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from google import genai
from google.genai import errors, types

from finops.emulators._common.tokens import count_tokens
from finops.emulators.bedrock.app import create_app as bedrock_app
from finops.emulators.gemini.app import create_app as gemini_app
from finops.emulators.openai.app import create_app as openai_app
from tests.conformance.test_gemini_emulator import assert_schema
from tests.conformance.test_openai_emulator import check_response
from tests.support.servers import serve_in_thread

PARAPHRASES = [
    ("How do I reset my password?", "How can I reset my password?"),
    ("The quick brown fox jumps over the lazy dog", "A quick brown fox jumped over the lazy dog"),
    ("What is the capital of France?", "what is the capital of france"),
]
SAME_TEMPLATE = [("What is the capital of France?", "What is the capital of Spain?")]
UNRELATED = [
    ("How do I reset my password?", "The weather in Paris is sunny today"),
    ("What is the capital of France?", "Recipe for chocolate chip cookies"),
    ("Summarise this contract for me", "Write a poem about the sea"),
]
Embed = Callable[[list[str]], list[list[float]]]


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    with (
        serve_in_thread(openai_app()) as openai_url,
        serve_in_thread(gemini_app()) as gemini_url,
        serve_in_thread(bedrock_app(access_key_id="AKIAEMBED", secret_access_key="secret")) as bedrock_url,
    ):
        yield {"openai": openai_url, "gemini": gemini_url, "bedrock": bedrock_url}


def _openai(url: str) -> openai.OpenAI:
    # Not strict: the SDK asks for base64 and decodes it after parsing, so its own strict check would refuse
    # the real API's answer too.
    return openai.OpenAI(base_url=f"{url}/v1", api_key="sk-test", max_retries=0)


def _gemini(url: str) -> genai.Client:
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=url, api_version="v1beta"))


def _bedrock(url: str) -> Any:
    return boto3.client(
        "bedrock-runtime",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="AKIAEMBED",
        aws_secret_access_key="secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def _embedder(provider: str, model: str, size: int | None, urls: dict[str, str]) -> Embed:
    if provider == "openai":
        client = _openai(urls["openai"])
        extra = {"dimensions": size} if size else {}
        return lambda texts: [d.embedding for d in client.embeddings.create(model=model, input=texts, **extra).data]
    if provider == "gemini":
        gemini = _gemini(urls["gemini"])
        config = types.EmbedContentConfig(output_dimensionality=size, task_type="SEMANTIC_SIMILARITY")
        return lambda texts: [
            list(e.values or [])
            for e in gemini.models.embed_content(model=model, contents=texts, config=config).embeddings or []
        ]
    bedrock = _bedrock(urls["bedrock"])
    if model.startswith("cohere."):
        body = {"input_type": "search_query"}
        return lambda texts: json.loads(
            bedrock.invoke_model(modelId=model, body=json.dumps({**body, "texts": texts}))["body"].read()
        )["embeddings"]

    def titan(texts: list[str]) -> list[list[float]]:
        extra = {"dimensions": size} if size else {}
        answers = [bedrock.invoke_model(modelId=model, body=json.dumps({"inputText": t, **extra})) for t in texts]
        return [json.loads(answer["body"].read())["embedding"] for answer in answers]

    return titan


def _cosine(left: list[float], right: list[float]) -> float:
    dot = sum(a * b for a, b in zip(left, right, strict=True))
    return dot / (math.sqrt(sum(a * a for a in left)) * math.sqrt(sum(b * b for b in right)))


@pytest.mark.parametrize(
    ("provider", "model", "size", "expected_size"),
    [
        ("openai", "text-embedding-3-small", None, 1536),
        ("openai", "text-embedding-3-large", 256, 256),
        ("openai", "text-embedding-ada-002", None, 1536),
        ("gemini", "gemini-embedding-001", None, 3072),
        ("gemini", "gemini-embedding-001", 768, 768),
        ("gemini", "text-embedding-004", 128, 128),
        ("bedrock", "amazon.titan-embed-text-v2:0", 512, 512),
        ("bedrock", "amazon.titan-embed-text-v1", None, 1536),
        ("bedrock", "cohere.embed-english-v3", None, 1024),
        ("bedrock", "cohere.embed-multilingual-v3", None, 1024),
    ],
)
def test_paraphrases_are_close_and_unrelated_sentences_far(
    urls: dict[str, str], provider: str, model: str, size: int | None, expected_size: int
) -> None:
    embed = _embedder(provider, model, size, urls)
    for pairs, check in (
        (PARAPHRASES, lambda c: c >= 0.95),
        (SAME_TEMPLATE, lambda c: c < 0.8),
        (UNRELATED, lambda c: c <= 0.3),
    ):
        for left, right in pairs:
            vectors = embed([left, right])
            assert [len(v) for v in vectors] == [expected_size, expected_size]
            similarity = _cosine(vectors[0], vectors[1])
            assert check(similarity), (model, left, right, similarity)
    assert embed(["deterministic"]) == embed(["deterministic"])


# --- OpenAI ---------------------------------------------------------------------------------------------------


def test_openai_embeddings_wire_shape_usage_and_encodings(urls: dict[str, str]) -> None:
    texts = ["first sentence", "second one here"]
    raw = httpx.post(
        f"{urls['openai']}/v1/embeddings",
        headers={"authorization": "Bearer sk-test"},
        json={"model": "text-embedding-3-small", "input": texts, "encoding_format": "float", "dimensions": 64},
    ).json()
    check_response("CreateEmbeddingResponse", raw)
    assert raw["usage"] == {
        "prompt_tokens": sum(map(count_tokens, texts)),
        "total_tokens": sum(map(count_tokens, texts)),
    }
    assert [d["index"] for d in raw["data"]] == [0, 1]
    assert math.isclose(sum(v * v for v in raw["data"][0]["embedding"]), 1.0, rel_tol=1e-6)

    # The SDK asks for base64 by default and decodes it: the same floats (at float32 precision).
    sdk = _openai(urls["openai"]).embeddings.create(model="text-embedding-3-small", input=texts, dimensions=64)
    for decoded, floats in zip(sdk.data, raw["data"], strict=True):
        assert all(
            math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)
            for a, b in zip(decoded.embedding, floats["embedding"], strict=True)
        )
    packed = httpx.post(
        f"{urls['openai']}/v1/embeddings",
        headers={"authorization": "Bearer sk-test"},
        json={"model": "text-embedding-3-small", "input": [1212, 318, 257], "encoding_format": "base64"},
    ).json()
    vector = struct.unpack("<1536f", base64.b64decode(packed["data"][0]["embedding"]))
    assert len(vector) == 1536 and packed["usage"]["prompt_tokens"] == 3  # token IDs count one each


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            {"model": "text-embedding-ada-002", "input": "x", "dimensions": 256},
            400,
            "does not support specifying dimensions",
        ),
        ({"model": "text-embedding-3-small", "input": ""}, 400, "'$.input' is invalid"),
        ({"model": "text-embedding-9", "input": "x"}, 404, "does not exist"),
        ({"model": "text-embedding-3-small", "input": "x", "dimensions": 5000}, 400, "dimensions"),
        ({"model": "text-embedding-3-small", "input": "word " * 9000}, 400, "maximum context length is 8192 tokens"),
    ],
)
def test_openai_embedding_errors(urls: dict[str, str], body: dict[str, Any], status: int, needle: str) -> None:
    response = httpx.post(f"{urls['openai']}/v1/embeddings", headers={"authorization": "Bearer sk-test"}, json=body)
    assert response.status_code == status and needle in response.json()["error"]["message"]
    check_response("ErrorResponse", response.json())


# --- Gemini ---------------------------------------------------------------------------------------------------


def test_gemini_embed_content_and_batch_wire_shapes(urls: dict[str, str]) -> None:
    headers = {"x-goog-api-key": "k"}
    base = f"{urls['gemini']}/v1beta/models"
    single = httpx.post(
        f"{base}/gemini-embedding-001:embedContent",
        headers=headers,
        json={"content": {"parts": [{"text": "a document"}]}, "taskType": "RETRIEVAL_DOCUMENT", "title": "Doc"},
    ).json()
    assert_schema(single, "EmbedContentResponse")
    assert len(single["embedding"]["values"]) == 3072
    assert math.isclose(sum(v * v for v in single["embedding"]["values"]), 1.0, rel_tol=1e-6)

    batch = httpx.post(
        f"{base}/gemini-embedding-001:batchEmbedContents",
        headers=headers,
        json={
            "requests": [
                {
                    "model": "models/gemini-embedding-001",
                    "content": {"parts": [{"text": "a document"}]},
                    "outputDimensionality": 256,
                },
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a document"}]}},
            ]
        },
    ).json()
    assert_schema(batch, "BatchEmbedContentsResponse")
    short, full = (e["values"] for e in batch["embeddings"])
    assert short == full[:256], "a shorter gemini-embedding-001 vector is the full one truncated, not re-normalised"
    assert full == single["embedding"]["values"]


@pytest.mark.parametrize(
    ("model", "request_body", "needle"),
    [
        (
            "embedding-001",
            {"content": {"parts": [{"text": "x"}]}, "outputDimensionality": 128},
            "output_dimensionality",
        ),
        ("gemini-embedding-001", {"content": {"parts": [{"text": "x"}]}, "taskType": "GUESSING"}, "task_type"),
        ("gemini-embedding-001", {"content": {"parts": [{"text": "x"}]}, "title": "T"}, "RETRIEVAL_DOCUMENT"),
        ("gemini-embedding-001", {"content": {"parts": []}}, "content"),
    ],
)
def test_gemini_embedding_errors(urls: dict[str, str], model: str, request_body: dict[str, Any], needle: str) -> None:
    client = _gemini(urls["gemini"])
    parts = [types.Part(text=part["text"]) for part in request_body["content"]["parts"]]
    config = types.EmbedContentConfig(
        output_dimensionality=request_body.get("outputDimensionality"),
        task_type=request_body.get("taskType"),
        title=request_body.get("title"),
    )
    with pytest.raises(errors.ClientError) as caught:
        client.models.embed_content(model=model, contents=[types.Content(parts=parts)], config=config)
    assert caught.value.code == 400 and needle in (caught.value.message or "")


# --- Bedrock --------------------------------------------------------------------------------------------------


def test_bedrock_titan_v2_body_types_and_token_header(urls: dict[str, str]) -> None:
    bedrock = _bedrock(urls["bedrock"])
    body = {
        "inputText": "hello embeddings",
        "dimensions": 256,
        "normalize": False,
        "embeddingTypes": ["float", "binary"],
    }
    response = bedrock.invoke_model(modelId="amazon.titan-embed-text-v2:0", body=json.dumps(body))
    answer = json.loads(response["body"].read())
    assert answer["inputTextTokenCount"] == count_tokens("hello embeddings")
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == str(
        answer["inputTextTokenCount"]
    )
    floats, bits = answer["embeddingsByType"]["float"], answer["embeddingsByType"]["binary"]
    assert answer["embedding"] == floats and len(floats) == len(bits) == 256
    assert bits == [1 if v > 0 else 0 for v in floats]
    assert not math.isclose(sum(v * v for v in floats), 1.0), "normalize: false keeps the raw scale"


def test_bedrock_cohere_embedding_types(urls: dict[str, str]) -> None:
    body = {"texts": ["one", "two"], "input_type": "search_document", "embedding_types": ["float", "int8", "ubinary"]}
    answer = json.loads(
        _bedrock(urls["bedrock"]).invoke_model(modelId="cohere.embed-english-v3", body=json.dumps(body))["body"].read()
    )
    assert answer["response_type"] == "embeddings_by_type" and answer["texts"] == ["one", "two"]
    assert [len(v) for v in answer["embeddings"]["float"]] == [1024, 1024]
    assert all(-127 <= v <= 127 for v in answer["embeddings"]["int8"][0])
    assert [len(v) for v in answer["embeddings"]["ubinary"]] == [128, 128]


@pytest.mark.parametrize(
    ("model", "body", "needle"),
    [
        ("cohere.embed-english-v3", {"texts": ["x"]}, "input_type"),
        ("amazon.titan-embed-text-v1", {"inputText": "x", "dimensions": 256}, "extraneous key [dimensions]"),
        ("amazon.titan-embed-text-v2:0", {"inputText": "x", "dimensions": 300}, "dimensions"),
        ("amazon.titan-embed-text-v2:0", {}, "inputText"),
    ],
)
def test_bedrock_embedding_bodies_are_validated(
    urls: dict[str, str], model: str, body: dict[str, Any], needle: str
) -> None:
    with pytest.raises(ClientError) as caught:
        _bedrock(urls["bedrock"]).invoke_model(modelId=model, body=json.dumps(body))
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert needle in caught.value.response["Error"]["Message"]
