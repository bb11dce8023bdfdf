"""One upstream error policy for all four providers: statuses, credential rejections, retry hints, redaction.

Each case is an upstream answer in the provider's own dialect (status, headers, body), read through the same
``ErrorPolicy`` the adapter builds; what the caller gets must be the same for the same fault on every provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from finops.core import errors
from finops.providers.bedrock.errors import bedrock_fault
from finops.providers.gemini.translate import gemini_fault
from finops.providers.http import transport_errors
from finops.providers.openai.translate import openai_fault
from finops.providers.upstream_errors import (
    MAX_MESSAGE_CHARS,
    ErrorPolicy,
    FaultReader,
    anthropic_fault,
    in_stream,
    redact,
)

JSON = dict[str, Any]
SECRET = "configured-secret-0123456789"
READERS: dict[str, FaultReader] = {
    "anthropic": anthropic_fault,
    "openai": openai_fault,
    "gemini": gemini_fault,
    "bedrock": bedrock_fault,
}
_GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_AWS_TYPE = {
    400: "ValidationException",
    404: "ResourceNotFoundException",
    413: "ValidationException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


@dataclass(frozen=True)
class Answer:
    """An upstream's failed answer as it arrives."""

    status: int
    body: JSON | None
    headers: dict[str, str] = field(default_factory=dict)


def native(provider: str, status: int, message: str) -> Answer:
    """The provider's usual error answer for ``status``."""
    if provider == "anthropic":
        return Answer(status, {"type": "error", "error": {"type": "x", "message": message}})
    if provider == "openai":
        return Answer(status, {"error": {"message": message, "type": "server_error", "code": None}})
    if provider == "gemini":
        return Answer(status, {"error": {"code": status, "message": message, "status": _GOOGLE_STATUS[status]}})
    return Answer(status, {"message": message}, {"x-amzn-errortype": _AWS_TYPE[status]})


def read(provider: str, answer: Answer) -> errors.GatewayError:
    policy = ErrorPolicy(provider, [SECRET], READERS[provider])
    response = httpx.Response(answer.status, headers=answer.headers)
    return policy.for_response(response, orjson.dumps(answer.body) if answer.body is not None else b"")


# -- statuses --------------------------------------------------------------------------------------------------

STATUSES = [
    (400, 400, "invalid_request_error"),
    (404, 404, "not_found_error"),
    (413, 400, "invalid_request_error"),  # Gemini and Bedrock call it an invalid argument; so does the table
    (429, 429, "rate_limit_error"),
    (500, 500, "api_error"),
    (503, 529, "overloaded_error"),
]


@pytest.mark.parametrize("provider", READERS)
@pytest.mark.parametrize(("upstream", "status", "error_type"), STATUSES, ids=[str(s[0]) for s in STATUSES])
def test_every_provider_maps_a_status_the_same_way(provider: str, upstream: int, status: int, error_type: str) -> None:
    if upstream == 413 and provider in ("anthropic", "openai"):
        status, error_type = 413, "request_too_large"  # these two say 413 themselves
    error = read(provider, native(provider, upstream, "something went wrong"))
    assert (error.status_code, error.error_type) == (status, error_type)
    assert "something went wrong" in error.message


@pytest.mark.parametrize("provider", READERS)
def test_retry_hints_pass_for_retryable_errors_only(provider: str) -> None:
    limited = native(provider, 429, "slow down")
    limited = Answer(429, limited.body, {**limited.headers, "retry-after": "7", "retry-after-ms": "7000"})
    assert read(provider, limited).headers == {"retry-after": "7", "retry-after-ms": "7000"}
    bad = native(provider, 400, "no")
    assert read(provider, Answer(400, bad.body, {**bad.headers, "retry-after": "7"})).headers == {}


def test_gemini_retry_delay_in_the_body_becomes_retry_after() -> None:
    body = native("gemini", 429, "quota").body
    assert body is not None
    body["error"]["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.4s"}]
    assert read("gemini", Answer(429, body)).headers == {"retry-after": "12"}


@pytest.mark.parametrize("provider", READERS)
def test_an_answer_that_is_not_json_still_maps_by_status(provider: str) -> None:
    policy = ErrorPolicy(provider, [], READERS[provider])
    error = policy.for_response(httpx.Response(502), b"<html>Bad Gateway</html>")
    assert (error.status_code, error.error_type) == (502, "api_error")


# -- the gateway's credentials ----------------------------------------------------------------------------------


def _google_key_error(status: int, google_status: str, message: str, reason: str | None = None) -> Answer:
    details = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason}] if reason else []
    return Answer(status, {"error": {"code": status, "message": message, "status": google_status, "details": details}})


CREDENTIAL_REJECTIONS = [
    ("anthropic", Answer(401, {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}})),
    ("openai", Answer(401, {"error": {"message": f"Incorrect API key provided: {SECRET}", "code": "invalid_api_key"}})),
    ("openai", Answer(401, None)),
    ("gemini", _google_key_error(400, "INVALID_ARGUMENT", "API key not valid.", "API_KEY_INVALID")),
    ("gemini", _google_key_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers")),
    ("gemini", _google_key_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")),
    ("gemini", _google_key_error(403, "PERMISSION_DENIED", "expired", "API_KEY_EXPIRED")),
    *[
        ("bedrock", Answer(403, {"message": f"key {SECRET} refused"}, {"x-amzn-errortype": name}))
        for name in (
            "UnrecognizedClientException",
            "InvalidSignatureException",
            "ExpiredTokenException",
            "AccessDeniedException",
            "IncompleteSignatureException",
            "MissingAuthenticationTokenException",
        )
    ],
    ("bedrock", Answer(401, None)),
    ("bedrock", Answer(403, {"Message": "denied"})),
]


@pytest.mark.parametrize(("provider", "answer"), CREDENTIAL_REJECTIONS)
def test_a_refused_gateway_credential_is_the_same_answer_on_every_provider(provider: str, answer: Answer) -> None:
    error = read(provider, answer)
    assert type(error) is errors.UpstreamError
    assert (error.status_code, error.error_type) == (500, "api_error")
    assert error.message == (
        f"the gateway's {provider} credentials were rejected by the upstream; the gateway's configuration needs "
        "fixing (the caller's API key is not at fault)"
    )
    assert error.headers == {"x-should-retry": "false"}  # the SDKs retry a 500 unless told not to


@pytest.mark.parametrize(
    ("provider", "answer"),
    [
        ("anthropic", native("anthropic", 403, "This organization may not use the model")),
        ("openai", Answer(403, {"error": {"message": "Country, region, or territory not supported"}})),
        ("gemini", native("gemini", 403, "The caller does not have permission")),
    ],
)
def test_other_refusals_keep_their_403(provider: str, answer: Answer) -> None:
    error = read(provider, answer)
    assert (error.status_code, error.error_type) == (403, "permission_error")


# -- errors inside a stream, transport failures ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "event_type"),
    [
        (errors.OverloadedError("busy"), "overloaded_error"),
        (errors.RateLimitError("slow"), "overloaded_error"),
        (errors.UpstreamError("bad"), "api_error"),
        (errors.UpstreamUnavailableError("reset"), "api_error"),
        (errors.UpstreamTimeoutError("slow"), "api_error"),
        (errors.InvalidRequestError("no"), "api_error"),
    ],
)
def test_in_stream_errors_say_only_whether_waiting_helps(error: errors.GatewayError, event_type: str) -> None:
    assert in_stream(error) == (event_type, error.message)


def _raising(exc: Exception) -> Callable[[], None]:
    def run() -> None:
        with transport_errors("openai"):
            raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "error_class", "message"),
    [
        (httpx.ConnectError("[Errno 111] 10.0.0.7:443"), errors.UpstreamUnavailableError, "could not be reached"),
        (httpx.ReadTimeout("10.0.0.7"), errors.UpstreamTimeoutError, "did not answer in time"),
        (httpx.RemoteProtocolError("peer closed"), errors.UpstreamUnavailableError, "before its answer was complete"),
        (httpx.ReadError("reset by peer"), errors.UpstreamUnavailableError, "before its answer was complete"),
    ],
)
def test_transport_failures(exc: Exception, error_class: type[errors.GatewayError], message: str) -> None:
    with pytest.raises(error_class) as raised:
        _raising(exc)()
    assert raised.value.message.startswith("the openai upstream ") and message in raised.value.message
    assert "10.0.0.7" not in raised.value.message


# -- redaction ----------------------------------------------------------------------------------------------------

REDACTIONS = [
    # provider keys and tokens
    ("Incorrect API key provided: sk-proj-abc1****xyz9.", "Incorrect API key provided: [redacted]."),
    ("key sk-ant-api03-AbCdEf_123-xyz is invalid", "key [redacted] is invalid"),
    ("bad key AIzaSyA1234567890abcdefghijklmnop", "bad key [redacted]"),
    ("token ya29.a0AfH6SMBx-example_token", "token [redacted]"),
    ("https://host/v1/models?key=AIza-or-anything&alt=sse", "https://host/v1/models?key=[redacted]&alt=sse"),
    ("The security token for AKIAIOSFODNN7EXAMPLE is invalid", "The security token for [redacted] is invalid"),
    ("Session ASIAY34FZKBOKMUTVV7A expired", "Session [redacted] expired"),
    (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/bedrock/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630",
        "AWS4-HMAC-SHA256 Credential=[redacted], SignedHeaders=host;x-amz-date, Signature=[redacted]",
    ),
    ("x-amz-security-token: IQoJb3JpZ2lu", "x-amz-security-token: [redacted]"),
    ("bad Bearer ABSKQmVkcm9ja0FQSUtleQ==", "bad Bearer [redacted]"),
    ("header was Bearer abc.def-123.", "header was Bearer [redacted]."),
    ("a Bedrock key ABSKQmVkcm9ja0FQSUtleQ== alone", "a Bedrock key [redacted] alone"),
    (
        "The request signature we calculated does not match.\n\nThe Canonical String for this request should have "
        "been\n'POST\nx-amz-security-token:IQoJb3JpZ2luX2VjEXAMPLE\n'",
        "The request signature we calculated does not match.",
    ),
    # upstream object IDs: the caller only ever knows the gateway's
    (
        "File file_011CNha8iCJcU1wXNR6q4V8w is not downloadable.",
        "File [redacted] is not downloadable.",
    ),
    ("Batch msgbatch_013Zva2CMHLNnXjNJJKqJ2EF not found", "Batch [redacted] not found"),
    ("No such File object: file-AbCdEf1234567890XyZ", "No such File object: [redacted]"),
    ("batch_67f1a2b3c4d5e6f708192a3b4c5d6e7f is cancelling", "[redacted] is cancelling"),
    ("line batch_req_0123456789abcdef failed", "line [redacted] failed"),
    ("You do not have permission to access the File files/abc-123xyz or it may not exist.", None),
    ("Batch batches/qwe123rty not found", "Batch [redacted] not found"),
    # ordinary words survive
    ("task-force and batch_size and file_id are fine.", "task-force and batch_size and file_id are fine."),
    ("max_tokens: 100000 > 8192", "max_tokens: 100000 > 8192"),
]


@pytest.mark.parametrize(("text", "expected"), REDACTIONS)
def test_redact(text: str, expected: str | None) -> None:
    if expected is None:
        expected = "You do not have permission to access the File [redacted] or it may not exist."
    assert redact(text) == expected


def test_redact_configured_secrets_longest_first_and_caps_length() -> None:
    secret, longer = "plain-secret", "plain-secret-and-more"
    assert redact(f"{longer} / {secret}", [secret, longer, None, ""]) == "[redacted] / [redacted]"
    assert len(redact("x" * 5000)) == MAX_MESSAGE_CHARS


@pytest.mark.parametrize("provider", READERS)
def test_no_secret_or_upstream_id_survives_any_provider(provider: str) -> None:
    text = f"bad {SECRET} for file_011CNha8iCJcU1wXNR6q4V8w and files/abc123 and sk-live-0123456789abcdef"
    error = read(provider, native(provider, 400, text))
    for leaked in (SECRET, "file_011C", "files/abc123", "sk-live"):
        assert leaked not in error.message


def test_scrub_keeps_the_class_and_headers() -> None:
    policy = ErrorPolicy("openai", [SECRET])
    error = errors.RateLimitError(f"slow {SECRET}", headers={"retry-after": "1"})
    scrubbed = policy.scrub(error)
    assert type(scrubbed) is errors.RateLimitError
    assert (scrubbed.message, scrubbed.headers) == ("slow [redacted]", {"retry-after": "1"})
    clean = errors.UpstreamError("nothing secret")
    assert policy.scrub(clean) is clean


def test_secrets_can_change_while_the_gateway_runs() -> None:
    current = ["first-secret-value"]
    policy = ErrorPolicy("bedrock", lambda: current, bedrock_fault)
    current[0] = "rotated-secret-value"
    assert policy.redact("rotated-secret-value leaked") == "[redacted] leaked"
