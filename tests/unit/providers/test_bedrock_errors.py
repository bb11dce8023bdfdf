"""Bedrock error mapping onto the gateway's error tree (redaction itself: test_upstream_errors.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core import errors
from finops.providers.bedrock.errors import from_bedrock_error

JSON = dict[str, Any]

CREDENTIALS_TEXT = "the gateway's bedrock credentials were rejected"


@dataclass(frozen=True)
class ErrorCase:
    id: str
    status: int
    error_type: str | None
    body: JSON | None
    error_class: type[errors.GatewayError]
    message: str


ERROR_CASES = [
    ErrorCase(
        "throttling_header_with_url_suffix",
        429,
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        {"message": "Too many requests, please wait before trying again."},
        errors.RateLimitError,
        "Bedrock ThrottlingException: Too many requests, please wait before trying again.",
    ),
    ErrorCase(
        "validation_from_body_type",
        400,
        None,
        {"__type": "com.amazon.coral.validate#ValidationException", "message": "Malformed input request"},
        errors.InvalidRequestError,
        "Bedrock ValidationException: Malformed input request",
    ),
    ErrorCase(
        "validation_from_body_code",
        400,
        None,
        {"code": "ValidationException", "Message": "bad"},
        errors.InvalidRequestError,
        "Bedrock ValidationException: bad",
    ),
    ErrorCase(
        "not_found",
        404,
        "ResourceNotFoundException",
        {"message": "Model not found"},
        errors.NotFoundError,
        "Bedrock ResourceNotFoundException: Model not found",
    ),
    ErrorCase(
        "model_timeout",
        408,
        "ModelTimeoutException",
        {"message": "timed out"},
        errors.UpstreamTimeoutError,
        "Bedrock ModelTimeoutException: timed out",
    ),
    ErrorCase(
        "service_unavailable",
        503,
        "ServiceUnavailableException",
        None,
        errors.OverloadedError,
        "Bedrock ServiceUnavailableException",
    ),
    ErrorCase(
        "model_not_ready",
        429,
        "ModelNotReadyException",
        {"message": "warming up"},
        errors.OverloadedError,
        "Bedrock ModelNotReadyException: warming up",
    ),
    ErrorCase(
        "internal_server",
        500,
        "InternalServerException",
        {"message": "oops"},
        errors.UpstreamError,
        "Bedrock InternalServerException: oops",
    ),
    ErrorCase(
        "model_error",
        424,
        "ModelErrorException",
        {"message": "model failed"},
        errors.UpstreamError,
        "Bedrock ModelErrorException: model failed",
    ),
    ErrorCase(
        "unknown_type_falls_back_to_status",
        409,
        "SomethingNewException",
        {"message": "hm"},
        errors.ConflictError,
        "Bedrock SomethingNewException: hm",
    ),
    ErrorCase("no_type_no_body", 502, None, None, errors.UpstreamUnavailableError, "Bedrock HTTP 502"),
]

CREDENTIAL_ERROR_TYPES = [
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "ExpiredTokenException",
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.id)
def test_from_bedrock_error(case: ErrorCase) -> None:
    error = from_bedrock_error(case.status, case.error_type, case.body)
    assert type(error) is case.error_class
    assert error.message == case.message


@pytest.mark.parametrize("error_type", CREDENTIAL_ERROR_TYPES)
def test_credential_errors_blame_the_gateway_not_the_caller(error_type: str) -> None:
    error = from_bedrock_error(403, error_type, {"message": "The security token included in the request is invalid."})
    assert type(error) is errors.UpstreamError
    assert (error.status_code, error.error_type) == (500, "api_error")
    assert error.message.startswith(CREDENTIALS_TEXT)
    assert error.headers == {"x-should-retry": "false"}


@pytest.mark.parametrize("status", [401, 403])
def test_untyped_401_and_403_are_a_gateway_credential_problem(status: int) -> None:
    error = from_bedrock_error(status, None, None)
    assert (error.status_code, error.error_type) == (500, "api_error")
    assert error.message.startswith(CREDENTIALS_TEXT)


def test_error_messages_never_carry_credentials() -> None:
    error = from_bedrock_error(400, "ValidationException", {"message": "key AKIAIOSFODNN7EXAMPLE"})
    assert error.message == "Bedrock ValidationException: key [redacted]"
    body = {"message": "Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request is not valid"}
    error = from_bedrock_error(400, "ValidationException", body)
    assert error.message == "Bedrock ValidationException: Credential=[redacted] is not valid"
