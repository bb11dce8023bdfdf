"""Verify AWS Signature Version 4 on an incoming request, independently of botocore's signer.

Written from the SigV4 spec rather than by re-signing with botocore, so the emulator is a second reading
of the protocol: a client that signs the wrong thing is refused here just as AWS would refuse it.

Rules that matter for Bedrock Runtime:

- the signing name is ``bedrock`` (not ``bedrock-runtime``):
  the scope is ``{key}/{date}/{region}/bedrock/aws4_request``;
- the canonical URI is the path *as sent*, normalised and URI-encoded once more: every non-S3 service encodes
  twice, so boto3's ``/model/anthropic.claude...-v1%3A0/invoke`` is canonicalised as ``...-v1%253A0...``,
  while the anthropic SDK, which sends a literal ``:``, is canonicalised as ``%3A``;
- the payload hash is ``x-amz-content-sha256`` when present (it must then match the body), else sha256(body);
- the timestamp must be within 15 minutes of the server clock;
- a session token (``x-amz-security-token``) is accepted whatever its value: the emulator has no STS.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from finops.emulators.bedrock.errors import BedrockError

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "bedrock"
MAX_SKEW = timedelta(minutes=15)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True)
class SigningKey:
    access_key_id: str
    secret_access_key: str
    region: str | None = None
    """When set, only this region is accepted in the credential scope; otherwise any region is."""


@dataclass(frozen=True)
class RequestParts:
    method: str
    raw_path: str
    query_string: str
    headers: list[tuple[str, str]]
    """Header (lower-case name, value) pairs in arrival order; repeated names allowed."""
    body: bytes


def _denied(code: str, message: str) -> BedrockError:
    return BedrockError(403, message, code)


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` into its three parts."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _denied("IncompleteSignatureException", f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            fields[key.strip()] = val.strip()
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise _denied(
                "IncompleteSignatureException",
                f"Authorization header requires '{required}' parameter. Authorization={value}",
            )
    return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]


def _request_time(headers: dict[str, list[str]]) -> tuple[datetime, str]:
    """The signing time and its ISO-8601 basic form, from ``X-Amz-Date`` or else ``Date``."""
    if "x-amz-date" in headers:
        stamp = headers["x-amz-date"][0].strip()
        try:
            return datetime.strptime(stamp, _AMZ_DATE).replace(tzinfo=UTC), stamp
        except ValueError:
            raise _denied("IncompleteSignatureException", f"Invalid X-Amz-Date: {stamp}") from None
    if "date" in headers:
        try:
            moment = parsedate_to_datetime(headers["date"][0]).astimezone(UTC)
        except (TypeError, ValueError):
            raise _denied("IncompleteSignatureException", "Invalid Date header.") from None
        return moment, moment.strftime(_AMZ_DATE)
    raise _denied(
        "IncompleteSignatureException",
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    )


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, plus AWS's rule that empty segments (``//``) collapse.
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
        else:
            segments.append(segment)
    trailing = "/" if path.endswith("/") and segments else ""
    return "/" + "/".join(segments) + trailing


def canonical_uri(raw_path: str) -> str:
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def canonical_query(query_string: str) -> str:
    pairs = []
    for item in query_string.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{key}={value}" for key, value in sorted(pairs))


def _canonical_headers(headers: dict[str, list[str]], signed: Iterable[str]) -> str:
    lines = []
    for name in signed:
        values = headers.get(name, [])
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in values)}\n")
    return "".join(lines)


def _signing_key(secret: str, date: str, region: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, SERVICE, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _payload_hash(headers: dict[str, list[str]], body: bytes) -> str:
    actual = hashlib.sha256(body).hexdigest()
    declared = headers.get("x-amz-content-sha256", [None])[0]
    if declared is None:
        return actual
    declared = declared.strip()
    if declared != _UNSIGNED and declared.lower() != actual:
        raise BedrockError(
            400,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            "ValidationException",
        )
    return declared


def verify(request: RequestParts, key: SigningKey, *, now: datetime | None = None) -> None:
    """Raise a 403 ``BedrockError`` unless ``request`` carries a valid SigV4 signature by ``key``."""
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers.setdefault(name.lower(), []).append(value)
    authorization = headers.get("authorization", [""])[0]
    if not authorization:
        raise _denied("MissingAuthenticationTokenException", "Missing Authentication Token")
    credential, signed_headers, signature = _parse_authorization(authorization)

    scope_parts = credential.split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise _denied(
            "IncompleteSignatureException",
            f"Credential should be scoped to a valid region, not malformed: '{credential}'.",
        )
    access_key, scope_date, scope_region, scope_service, _ = scope_parts
    if not hmac.compare_digest(access_key, key.access_key_id):
        raise _denied("UnrecognizedClientException", "The security token included in the request is invalid.")
    if scope_service != SERVICE:
        raise _denied("InvalidSignatureException", f"Credential should be scoped to correct service: '{SERVICE}'.")
    if key.region is not None and scope_region != key.region:
        raise _denied(
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region, not '{scope_region}'. ",
        )
    if "host" not in signed_headers:
        raise _denied(
            "InvalidSignatureException",
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        )

    moment, amz_date = _request_time(headers)
    current = now or datetime.now(UTC)
    if moment < current - MAX_SKEW:
        raise _denied(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_SKEW).strftime(_AMZ_DATE)} ({current.strftime(_AMZ_DATE)} - 15 min.)",
        )
    if moment > current + MAX_SKEW:
        raise _denied(
            "InvalidSignatureException",
            f"Signature not yet current: {amz_date} is still later than "
            f"{(current + MAX_SKEW).strftime(_AMZ_DATE)} ({current.strftime(_AMZ_DATE)} + 15 min.)",
        )
    if scope_date != amz_date[:8]:
        raise _denied(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )

    canonical_request = "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.raw_path),
            canonical_query(request.query_string),
            _canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            _payload_hash(headers, request.body),
        ]
    )
    scope = f"{scope_date}/{scope_region}/{SERVICE}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    expected = hmac.new(
        _signing_key(key.secret_access_key, scope_date, scope_region), string_to_sign.encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        # AWS spells out what it computed; that is what makes a signer bug debuggable.
        raise _denied(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n",
        )
