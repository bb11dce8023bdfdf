"""Verify AWS Signature Version 4 on an incoming request, independently of botocore's signer.

Written from the SigV4 spec rather than by re-signing with botocore, so the emulator is a second reading
of the protocol: a client that signs the wrong thing is refused here just as AWS would refuse it.

Rules by service (``Rules``):

- Bedrock (runtime and control plane) signs as ``bedrock`` (not ``bedrock-runtime``): the scope is
  ``{key}/{date}/{region}/bedrock/aws4_request``. Its canonical URI is the path *as sent*, normalised and
  URI-encoded once more: every non-S3 service encodes twice, so boto3's ``/model/...-v1%3A0/invoke`` is
  canonicalised as ``...-v1%253A0...``, while the anthropic SDK, which sends a literal ``:``, gets ``%3A``.
- S3 signs as ``s3``; its canonical URI is the path encoded exactly once and never normalised (``a//b/../c``
  is a key, not a path to tidy), and ``x-amz-content-sha256`` is mandatory. Its value may stand in for the
  body (``UNSIGNED-PAYLOAD``, ``STREAMING-...``); S3 then checks the body as it streams (see ``s3_auth``),
  which is why ``verify`` can run before the body is read and hands back what chunk signatures chain from.

Common to both: the payload hash is ``x-amz-content-sha256`` when present (it must then match the body),
else sha256(body); the timestamp must be within 15 minutes of the server clock; a session token
(``x-amz-security-token``) is accepted whatever its value: the emulator has no STS.

Failures raise ``SignatureRejected`` with a ``reason``; each service turns that into its own error shape.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import quote, unquote

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "bedrock"
MAX_SKEW = timedelta(minutes=15)
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")

Reason = Literal[
    "missing",  # no Authorization header at all
    "malformed",  # an Authorization header or date that cannot be parsed
    "unknown_key",  # an access key the emulator does not know
    "wrong_service",
    "wrong_region",
    "host_unsigned",
    "expired",
    "not_yet_valid",
    "date_mismatch",  # credential scope date differs from the request date
    "payload_hash_mismatch",  # x-amz-content-sha256 disagrees with the body
    "mismatch",  # the signature itself is wrong
]


class SignatureRejected(Exception):
    """Why a request's signature was refused; the message is the wording non-S3 AWS services use."""

    def __init__(
        self,
        reason: Reason,
        message: str,
        *,
        canonical_request: str = "",
        string_to_sign: str = "",
        signature: str = "",
        access_key_id: str = "",
        region: str = "",
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.canonical_request = canonical_request
        self.string_to_sign = string_to_sign
        self.signature = signature
        self.access_key_id = access_key_id
        self.region = region


@dataclass(frozen=True)
class Rules:
    service: str
    """The signing name in the credential scope."""
    s3_paths: bool = False
    """S3's canonical URI: encoded once, never normalised."""


BEDROCK = Rules(SERVICE)
S3 = Rules("s3", s3_paths=True)


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
    body: bytes | None
    """The body, or ``None`` when it is still unread: the declared ``x-amz-content-sha256`` is then signed
    as is and the caller checks the body against it while streaming it."""


@dataclass(frozen=True)
class Verified:
    """What a verified request chains further signatures from (S3's signed chunks and trailers)."""

    signing_key: bytes
    amz_date: str
    scope: str
    seed_signature: str
    region: str


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    """Split ``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` into its three parts."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureRejected("malformed", f"Unsupported AWS 'algorithm': '{algorithm}'.")
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if sep:
            fields[key.strip()] = val.strip()
    for required in ("Credential", "SignedHeaders", "Signature"):
        if not fields.get(required):
            raise SignatureRejected(
                "malformed", f"Authorization header requires '{required}' parameter. Authorization={value}"
            )
    return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]


def credential_scope(authorization: str) -> list[str] | None:
    """The ``key/date/region/service/aws4_request`` parts of a SigV4 Authorization header, unverified."""
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm != ALGORITHM:
        return None
    for item in rest.split(","):
        key, _, value = item.strip().partition("=")
        if key == "Credential":
            parts = value.strip().split("/")
            return parts if len(parts) == 5 else None
    return None


def _request_time(headers: dict[str, list[str]]) -> tuple[datetime, str]:
    """The signing time and its ISO-8601 basic form, from ``X-Amz-Date`` or else ``Date``."""
    if "x-amz-date" in headers:
        stamp = headers["x-amz-date"][0].strip()
        try:
            return datetime.strptime(stamp, _AMZ_DATE).replace(tzinfo=UTC), stamp
        except ValueError:
            raise SignatureRejected("malformed", f"Invalid X-Amz-Date: {stamp}") from None
    if "date" in headers:
        try:
            moment = parsedate_to_datetime(headers["date"][0]).astimezone(UTC)
        except (TypeError, ValueError):
            raise SignatureRejected("malformed", "Invalid Date header.") from None
        return moment, moment.strftime(_AMZ_DATE)
    raise SignatureRejected(
        "malformed", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
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


def canonical_s3_uri(raw_path: str) -> str:
    """S3's canonical URI: every byte of the key URI-encoded exactly once, whatever the client escaped.

    An escape of an unreserved character (``%41``) stands for the character itself, a literal reserved
    character (``:``) is escaped, and an escape of a reserved one (``%2F``) stays an escape: it is a byte of
    the key, unlike a literal ``/``.
    """
    out: list[str] = []
    index = 0
    raw = raw_path or "/"
    while index < len(raw):
        char = raw[index]
        if char == "%" and _is_hex(raw[index + 1 : index + 3]):
            decoded = chr(int(raw[index + 1 : index + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + raw[index + 1 : index + 3].upper())
            index += 3
            continue
        if char in _UNRESERVED or char == "/":
            out.append(char)
        else:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        index += 1
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


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


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _payload_hash(headers: dict[str, list[str]], body: bytes | None) -> str:
    declared = headers.get("x-amz-content-sha256", [None])[0]
    if body is None:
        return (declared or "").strip()
    actual = hashlib.sha256(body).hexdigest()
    if declared is None:
        return actual
    declared = declared.strip()
    if declared != UNSIGNED_PAYLOAD and declared.lower() != actual:
        raise SignatureRejected(
            "payload_hash_mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    return declared


def header_map(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in pairs:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def verify(request: RequestParts, key: SigningKey, *, now: datetime | None = None, rules: Rules = BEDROCK) -> Verified:
    """Return the signing context if ``request`` carries a valid SigV4 signature by ``key``; else raise."""
    headers = header_map(request.headers)
    authorization = headers.get("authorization", [""])[0]
    if not authorization:
        raise SignatureRejected("missing", "Missing Authentication Token")
    credential, signed_headers, signature = _parse_authorization(authorization)

    scope_parts = credential.split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SignatureRejected(
            "malformed", f"Credential should be scoped to a valid region, not malformed: '{credential}'."
        )
    access_key, scope_date, scope_region, scope_service, _ = scope_parts
    context = {"access_key_id": access_key, "region": scope_region}
    if not hmac.compare_digest(access_key, key.access_key_id):
        raise SignatureRejected("unknown_key", "The security token included in the request is invalid.", **context)
    if scope_service != rules.service:
        raise SignatureRejected(
            "wrong_service", f"Credential should be scoped to correct service: '{rules.service}'.", **context
        )
    if key.region is not None and scope_region != key.region:
        raise SignatureRejected(
            "wrong_region", f"Credential should be scoped to a valid region, not '{scope_region}'. ", **context
        )
    if "host" not in signed_headers:
        raise SignatureRejected(
            "host_unsigned", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", **context
        )

    moment, amz_date = _request_time(headers)
    current = now or datetime.now(UTC)
    if moment < current - MAX_SKEW:
        raise SignatureRejected(
            "expired",
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_SKEW).strftime(_AMZ_DATE)} ({current.strftime(_AMZ_DATE)} - 15 min.)",
            **context,
        )
    if moment > current + MAX_SKEW:
        raise SignatureRejected(
            "not_yet_valid",
            f"Signature not yet current: {amz_date} is still later than "
            f"{(current + MAX_SKEW).strftime(_AMZ_DATE)} ({current.strftime(_AMZ_DATE)} + 15 min.)",
            **context,
        )
    if scope_date != amz_date[:8]:
        raise SignatureRejected(
            "date_mismatch",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope_date}' != '{amz_date[:8]}', from '{amz_date}'.",
            **context,
        )

    path = canonical_s3_uri(request.raw_path) if rules.s3_paths else canonical_uri(request.raw_path)
    canonical_request = "\n".join(
        [
            request.method.upper(),
            path,
            canonical_query(request.query_string),
            _canonical_headers(headers, signed_headers),
            ";".join(signed_headers),
            _payload_hash(headers, request.body),
        ]
    )
    scope = f"{scope_date}/{scope_region}/{rules.service}/aws4_request"
    string_to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    derived = signing_key(key.secret_access_key, scope_date, scope_region, rules.service)
    expected = sign(derived, string_to_sign)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        # AWS spells out what it computed; that is what makes a signer bug debuggable.
        raise SignatureRejected(
            "mismatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.\n\n"
            f"The Canonical String for this request should have been\n'{canonical_request}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n",
            canonical_request=canonical_request,
            string_to_sign=string_to_sign,
            signature=signature.strip(),
            **context,
        )
    return Verified(signing_key=derived, amz_date=amz_date, scope=scope, seed_signature=expected, region=scope_region)
