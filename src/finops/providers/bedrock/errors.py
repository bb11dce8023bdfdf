"""Bedrock's failures -> the gateway's errors: which exception means what, and when AWS refused the gateway's own
credentials (the one "credentials rejected" answer, see ``upstream_errors``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finops.core.errors import (
    ConflictError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    UpstreamError,
    UpstreamTimeoutError,
    error_for_status,
)
from finops.core.types import JSON
from finops.providers.upstream_errors import UpstreamFault, gateway_error

_ERROR_CLASS_MAP: dict[str, type[GatewayError]] = {
    "ThrottlingException": RateLimitError,
    "ServiceQuotaExceededException": RateLimitError,
    "TooManyRequestsException": RateLimitError,
    "ValidationException": InvalidRequestError,
    "AccessDeniedException": PermissionDeniedError,
    "UnrecognizedClientException": PermissionDeniedError,
    "InvalidSignatureException": PermissionDeniedError,
    "ExpiredTokenException": PermissionDeniedError,
    "IncompleteSignatureException": PermissionDeniedError,
    "MissingAuthenticationTokenException": PermissionDeniedError,
    "ResourceNotFoundException": NotFoundError,
    "ConflictException": ConflictError,
    "ModelTimeoutException": UpstreamTimeoutError,
    "ServiceUnavailableException": OverloadedError,
    "ModelNotReadyException": OverloadedError,
    "InternalServerException": UpstreamError,
    "ModelErrorException": UpstreamError,
    "ModelStreamErrorException": UpstreamError,
}

_CREDENTIAL_ERROR_TYPES = frozenset(name for name, cls in _ERROR_CLASS_MAP.items() if cls is PermissionDeniedError)


def normalize_error_type(raw: str | None) -> str | None:
    """``ThrottlingException`` from ``ThrottlingException:http://internal.amazon.com/...``,
    ``com.amazon.coral.service#ValidationException`` or the event-stream spelling ``throttlingException``."""
    if not raw:
        return None
    name = raw.split(":", 1)[0].rsplit("#", 1)[-1].strip()
    return name[:1].upper() + name[1:] if name else None


def bedrock_fault(status: int, headers: Mapping[str, str], body: Any) -> UpstreamFault:
    """What a failed Bedrock call (or an exception frame in a stream) says. The error is named by the
    ``x-amzn-ErrorType`` header, else the body's ``__type`` or ``code``. AccessDenied, UnrecognizedClient, the
    signature and token errors, or a bare 401/403, mean AWS refused the gateway's own credentials."""
    body = body if isinstance(body, dict) else {}
    name = normalize_error_type(headers.get("x-amzn-errortype")) or normalize_error_type(
        body.get("__type") or body.get("code")
    )
    upstream_message = str(body.get("message") or body.get("Message") or "").strip()
    credentials = name in _CREDENTIAL_ERROR_TYPES or (name is None and status in (401, 403))
    error_class = _ERROR_CLASS_MAP.get(name or "") or error_for_status(status)
    label = name or f"HTTP {status}"
    message = f"Bedrock {label}: {upstream_message}" if upstream_message else f"Bedrock {label}"
    return UpstreamFault(error_class, message, credentials_rejected=credentials)


def from_bedrock_error(status: int, error_type: str | None, body: JSON | None) -> GatewayError:
    """The gateway error for a failed Bedrock call; ``error_type`` is the ``x-amzn-ErrorType`` header or the
    exception frame's type."""
    headers = {"x-amzn-errortype": error_type} if error_type else {}
    return gateway_error("bedrock", bedrock_fault(status, headers, body))
