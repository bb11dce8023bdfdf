"""Every upstream failure as a gateway error, by one policy for all four providers.

Each provider reads its own error dialect with a pure function in its ``translate.py`` (``openai_fault``,
``gemini_fault``, ``bedrock_fault``; Anthropic's is ``anthropic_fault`` here) that answers an ``UpstreamFault``:
which gateway error class, the upstream's own words, whether the gateway's credentials were refused. Everything
else is decided here, once:

- **Credentials.** An upstream refusing the *gateway's* credentials is the gateway's fault, whatever the
  provider: 500 ``api_error`` "the gateway's <provider> credentials were rejected", with ``x-should-retry:
  false`` (a retry cannot help). Passing on a 401 or 403 would send callers hunting for a problem with their
  own key.
- **Redaction.** No message leaves with a configured secret, anything shaped like a provider key or signature
  (``sk-…``, ``AIza…``, ``ya29.…``, ``AKIA…``/``ASIA…``, ``ABSK…``, ``key=``, SigV4 ``Credential=`` /
  ``Signature=``, security tokens, bearer tokens) or an upstream object ID (``file_…``, ``msgbatch_…``,
  ``file-…``, ``batch_…``, ``files/…``, ``batches/…``): callers only ever see the gateway's own IDs.
  Everything becomes ``[redacted]``.
- **Retry hints.** ``retry-after`` / ``retry-after-ms`` are passed on for errors worth retrying.
- **Transport.** Unreachable upstreams and broken-off answers are 502 ``api_error``, timeouts 504
  ``timeout_error`` (``finops.providers.http.transport_errors`` tells which happened).
- **In a stream.** Once the first frame has gone out, a failure becomes Anthropic's ``event: error`` with
  ``overloaded_error`` (the upstream is overloaded or rate limited: retrying later helps) or ``api_error``.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from finops.core.errors import (
    GatewayError,
    OverloadedError,
    RateLimitError,
    UpstreamError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
    error_for_status,
)

logger = logging.getLogger("finops.providers")

PLACEHOLDER = "[redacted]"
MAX_MESSAGE_CHARS = 1000
NO_RETRY = {"x-should-retry": "false"}
_RETRY_HEADERS = ("retry-after", "retry-after-ms")


@dataclass(frozen=True)
class UpstreamFault:
    """What a provider's error reader found in a failed call (or an error inside a stream)."""

    error_class: type[GatewayError]
    message: str
    """The upstream's words with the provider's own label; redacted later, here, not by the reader."""
    credentials_rejected: bool = False
    retry_after: str | None = None
    """Seconds, when the upstream says so in its body (Gemini's ``RetryInfo``) rather than a header."""


FaultReader = Callable[[int, Mapping[str, str], Any], UpstreamFault]
"""(HTTP status, response headers, parsed JSON body or None) -> the fault."""


# -- redaction ---------------------------------------------------------------------------------------------------

# Everything after this phrase in an AWS InvalidSignatureException is the canonical request, whose signed
# headers include the session token: it is cut off, not redacted piece by piece.
_SIGNATURE_DETAIL = "The Canonical String for this request"

_SHAPES: list[tuple[re.Pattern[str], str]] = [
    # Keys and tokens. A key may hold dots but never ends with one (a full stop survives); \b spares "task-force".
    (re.compile(r"\bsk-[A-Za-z0-9_\-*.]*[A-Za-z0-9_\-*]"), PLACEHOLDER),
    (re.compile(r"AIza[0-9A-Za-z_-]{10,}"), PLACEHOLDER),
    (re.compile(r"ya29\.[0-9A-Za-z._-]+"), PLACEHOLDER),
    (re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ANPA|ANVA|AGPA|AIPA)[0-9A-Z]{16}\b"), PLACEHOLDER),
    (re.compile(r"\bABSK[A-Za-z0-9+/=]+"), PLACEHOLDER),
    (re.compile(r"(?i)(\bkey=)[^&\s\"']+"), rf"\1{PLACEHOLDER}"),
    (re.compile(r"(Credential=)[^,\s]+"), rf"\1{PLACEHOLDER}"),
    (re.compile(r"(Signature=)[^,\s]+"), rf"\1{PLACEHOLDER}"),
    (re.compile(r"(?i)(x-amz-security-token[:=]\s*)\S+"), rf"\1{PLACEHOLDER}"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-*.=+/~]*[A-Za-z0-9_\-*=+/~]"), rf"\1{PLACEHOLDER}"),
    # Upstream object IDs: Anthropic (file_011C…, msgbatch_…), OpenAI (file-…, batch_…, batch_req_…),
    # Gemini resource names (files/…, batches/…, cachedContents/…, operations/…).
    (re.compile(r"\b(?:file|msgbatch)_[A-Za-z0-9]{8,}"), PLACEHOLDER),
    (re.compile(r"\bfile-[A-Za-z0-9]{8,}"), PLACEHOLDER),
    (re.compile(r"\bbatch_(?:req_)?[A-Za-z0-9]{8,}"), PLACEHOLDER),
    (re.compile(r"\b(?:files|batches|cachedContents|operations)/[A-Za-z0-9_-]+"), PLACEHOLDER),
]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` fit for a caller: no secret from ``secrets``, nothing shaped like a key, signature, token or
    upstream object ID, no AWS canonical request, at most ``MAX_MESSAGE_CHARS`` characters."""
    text = text.split(_SIGNATURE_DETAIL, 1)[0].rstrip()
    # Longest first, so a secret that contains another is not half replaced.
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, PLACEHOLDER)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text[:MAX_MESSAGE_CHARS]


# -- mapping -----------------------------------------------------------------------------------------------------


def credentials_rejected(provider: str) -> UpstreamError:
    """The one answer, on every provider, when the upstream refuses the gateway's own credentials."""
    return UpstreamError(
        f"the gateway's {provider} credentials were rejected by the upstream; the gateway's configuration "
        "needs fixing (the caller's API key is not at fault)",
        headers=dict(NO_RETRY),
    )


def _retryable(error_class: type[GatewayError]) -> bool:
    return issubclass(error_class, RateLimitError | OverloadedError | UpstreamError)


def gateway_error(
    provider: str,
    fault: UpstreamFault,
    *,
    secrets: Iterable[str | None] = (),
    headers: Mapping[str, str] | None = None,
) -> GatewayError:
    """The gateway error for ``fault``; ``headers`` are the upstream response's (for its retry hints)."""
    if fault.credentials_rejected:
        # The caller is told only that it is not their fault; the operator gets the upstream's reason.
        logger.warning(
            "the %s upstream refused the gateway's credentials: %s", provider, redact(fault.message, secrets)
        )
        return credentials_rejected(provider)
    passed: dict[str, str] = {}
    if _retryable(fault.error_class):
        passed = {name: headers[name] for name in _RETRY_HEADERS if headers and name in headers}
        if fault.retry_after and "retry-after" not in passed:
            passed["retry-after"] = fault.retry_after
    return fault.error_class(redact(fault.message, secrets), headers=passed)


def anthropic_fault(status: int, headers: Mapping[str, str], body: Any) -> UpstreamFault:
    """Anthropic's dialect (the gateway's own): ``{"type": "error", "error": {"type", "message"}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = f"the anthropic upstream answered HTTP {status}"
    return UpstreamFault(error_for_status(status), message, credentials_rejected=status == 401)


def in_stream(error: GatewayError) -> tuple[str, str]:
    """(``error.type``, message) for a failure after the first frame: the HTTP status is gone, so what is left
    to say is whether waiting helps (``overloaded_error``) or not (``api_error``)."""
    retry_later = isinstance(error, OverloadedError | RateLimitError)
    return ("overloaded_error" if retry_later else "api_error"), error.message


# Connection-level failures (``finops.providers.http.transport_errors`` tells which happened). The messages name
# the provider, never its address.


def unreachable(provider: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(f"the {provider} upstream could not be reached")


def broke_off(provider: str) -> UpstreamUnavailableError:
    return UpstreamUnavailableError(f"the {provider} upstream closed the connection before its answer was complete")


def timed_out(provider: str) -> UpstreamTimeoutError:
    return UpstreamTimeoutError(f"the {provider} upstream did not answer in time")


class ErrorPolicy:
    """This module's policy bound to one adapter: its provider name, its configured secrets and its reader."""

    def __init__(
        self,
        provider: str,
        secrets: Iterable[str | None] | Callable[[], Iterable[str | None]],
        read: FaultReader = anthropic_fault,
    ) -> None:
        """``secrets`` may be a function, for credentials that are refreshed while the gateway runs."""
        self.provider = provider
        if callable(secrets):
            self._secrets = secrets
        else:
            static = tuple(secrets)
            self._secrets = lambda: static
        self._read = read

    def redact(self, text: str) -> str:
        return redact(text, self._secrets())

    def error(
        self, fault: UpstreamFault, headers: Mapping[str, str] | None = None, *, object_ids: Iterable[str] = ()
    ) -> GatewayError:
        secrets = [*self._secrets(), *object_ids]
        return gateway_error(self.provider, fault, secrets=secrets, headers=headers)

    def read(self, status: int, headers: Mapping[str, str], body: Any) -> GatewayError:
        """The gateway error for a failure given as status, headers and a parsed body (or an error frame)."""
        return self.error(self._read(status, headers, body), headers)

    def for_response(self, response: httpx.Response, body: bytes) -> GatewayError:
        """The gateway error for a non-2xx upstream answer (the ``on_error`` of ``finops.providers.http.send``).
        The upstream IDs the request named in its path are redacted whatever shape they have (Gemini says
        "File 2y1l6yfs2j7x not found", without a prefix a pattern could know)."""
        payload: Any = None
        with contextlib.suppress(orjson.JSONDecodeError):
            payload = orjson.loads(body) if body else None
        fault = self._read(response.status_code, response.headers, payload)
        return self.error(fault, response.headers, object_ids=_object_ids(response))

    def scrub(self, error: GatewayError) -> GatewayError:
        """``error`` with its message redacted (a new error of the same class, when anything changed)."""
        message = self.redact(error.message)
        if message == error.message:
            return error
        scrubbed = type(error)(message, headers=error.headers)
        scrubbed.__cause__ = error.__cause__
        return scrubbed


_COLLECTIONS = frozenset({"files", "batches"})


def _object_ids(response: httpx.Response) -> list[str]:
    """The object IDs in the request's path: the segment after ``files`` or ``batches`` (``:method`` cut)."""
    try:
        path = response.request.url.path
    except (RuntimeError, AttributeError):  # a response built without its request
        return []
    parts = path.split("/")
    return [part.split(":", 1)[0] for before, part in itertools.pairwise(parts) if before in _COLLECTIONS]
