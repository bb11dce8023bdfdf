"""Bedrock error mapping onto the gateway's error tree, and redaction of anything secret."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from finops.core import errors
from finops.providers.bedrock.translate import from_bedrock_error, redact_secrets

JSON = dict[str, Any]

CREDENTIALS_TEXT = "the caller's API key is not at fault"


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
    assert type(error) is errors.PermissionDeniedError
    assert error.status_code == 403
    assert error.message.startswith(f"Bedrock rejected the gateway's AWS credentials ({error_type})")
    assert CREDENTIALS_TEXT in error.message
    assert error.message.endswith(": The security token included in the request is invalid.")


def test_untyped_401_is_a_gateway_credential_problem() -> None:
    error = from_bedrock_error(401, None, None)
    assert type(error) is errors.PermissionDeniedError
    assert "(HTTP 401)" in error.message


REDACTION_CASES = [
    pytest.param(
        "The security token for AKIAIOSFODNN7EXAMPLE is invalid",
        "The security token for [REDACTED] is invalid",
        id="access_key_id",
    ),
    pytest.param("Session ASIAY34FZKBOKMUTVV7A expired", "Session [REDACTED] expired", id="session_key_id"),
    pytest.param(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630",
        "AWS4-HMAC-SHA256 Credential=[REDACTED], SignedHeaders=host;x-amz-date, Signature=[REDACTED]",
        id="sigv4_header",
    ),
    pytest.param(
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method.\n\nThe Canonical String for this request should have been\n'POST\n"
        "/model/x/invoke\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"
        "x-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE\n'",
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method.",
        id="canonical_request_dropped",
    ),
    pytest.param("x-amz-security-token: IQoJb3JpZ2lu", "x-amz-security-token: [REDACTED]", id="session_token"),
    pytest.param("bad Bearer ABSKQmVkcm9ja0FQSUtleQ==", "bad Bearer [REDACTED]", id="bearer_api_key"),
]


@pytest.mark.parametrize(("text", "expected"), REDACTION_CASES)
def test_redact_secrets(text: str, expected: str) -> None:
    assert redact_secrets(text) == expected


def test_error_messages_never_carry_credentials() -> None:
    body = {"message": "Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request is not valid"}
    error = from_bedrock_error(403, "InvalidSignatureException", body)
    assert "AKIA" not in error.message
    assert "Credential=[REDACTED] is not valid" in error.message
    error = from_bedrock_error(400, "ValidationException", {"message": "key AKIAIOSFODNN7EXAMPLE"})
    assert error.message == "Bedrock ValidationException: key [REDACTED]"
