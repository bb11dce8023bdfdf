"""SigV4 for S3: the header signature, then the body checked against ``x-amz-content-sha256`` as it streams.

S3 requires ``x-amz-content-sha256`` on every SigV4 request and signs it in place of the body, so the
signature is verified before a byte of the body is read (nothing is buffered): the body is then checked
as it passes through ``PayloadReader`` according to what the header declared:

- a hex SHA-256 (boto3 over plain HTTP): the digest of the whole body must match, else
  ``XAmzContentSHA256Mismatch``;
- ``UNSIGNED-PAYLOAD``: nothing to check;
- ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` (boto3 over HTTPS), ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` and
  ``...-PAYLOAD-TRAILER``: an ``aws-chunked`` body (see ``aws_chunked``) whose decoded length must equal
  ``x-amz-decoded-content-length``.

Refusals take S3's codes (``SignatureDoesNotMatch``, ``InvalidAccessKeyId``, ``RequestTimeTooSkewed``,
``AuthorizationHeaderMalformed``, ``AccessDenied``), not the rest-json ones Bedrock uses.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from finops.emulators.bedrock import sigv4
from finops.emulators.bedrock.aws_chunked import AwsChunkedDecoder, ChunkError
from finops.emulators.bedrock.s3_xml import S3Error, XmlTree, invalid_argument

_STREAMING_UNSIGNED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
_STREAMING_SIGNED = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")
_KNOWN_NOT_SUPPORTED = (
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
)
_HASH_CHOICES = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid "
    "sha256 value."
)


def _malformed(detail: str, region: str | None = None) -> S3Error:
    extra: XmlTree = [("Region", region)] if region else []
    return S3Error(400, "AuthorizationHeaderMalformed", f"The authorization header is malformed; {detail}", extra)


def _hex_bytes(text: str) -> str:
    return " ".join(f"{byte:02x}" for byte in text.encode())


def s3_refusal(rejected: sigv4.SignatureRejected, key: sigv4.SigningKey) -> S3Error:
    """S3's answer to a signature ``sigv4`` refused."""
    reason = rejected.reason
    if reason == "missing":
        return S3Error(403, "AccessDenied", "Access Denied")
    if reason == "unknown_key":
        return S3Error(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
            [("AWSAccessKeyId", rejected.access_key_id)],
        )
    if reason == "wrong_region":
        return _malformed(f"the region '{rejected.region}' is wrong; expecting '{key.region}'", key.region)
    if reason == "wrong_service":
        return _malformed('incorrect service. This endpoint belongs to "s3".')
    if reason == "date_mismatch":
        return _malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
    if reason in ("expired", "not_yet_valid"):
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        return S3Error(
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            [("ServerTime", now), ("MaxAllowedSkewMilliseconds", 900000)],
        )
    if reason == "mismatch":
        return S3Error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key "
            "and signing method.",
            [
                ("AWSAccessKeyId", rejected.access_key_id),
                ("StringToSign", rejected.string_to_sign),
                ("SignatureProvided", rejected.signature),
                ("StringToSignBytes", _hex_bytes(rejected.string_to_sign)),
                ("CanonicalRequest", rejected.canonical_request),
                ("CanonicalRequestBytes", _hex_bytes(rejected.canonical_request)),
            ],
        )
    return _malformed(rejected.message)


@dataclass
class PayloadReader:
    """Yields a request's payload bytes, checked against what the signed headers declared."""

    declared: str
    verified: sigv4.Verified
    decoded_length: int | None
    trailers: dict[str, str] = field(default_factory=dict)
    """Trailing headers of an aws-chunked body; filled once the body has been read to its end."""

    @property
    def chunked(self) -> bool:
        return self.declared == _STREAMING_UNSIGNED or self.declared in _STREAMING_SIGNED

    async def pieces(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        if self.chunked:
            async for piece in self._chunked(stream):
                yield piece
            return
        digest = hashlib.sha256() if self.declared != sigv4.UNSIGNED_PAYLOAD else None
        async for chunk in stream:
            if digest is not None:
                digest.update(chunk)
            if chunk:
                yield chunk
        if digest is not None and not hmac.compare_digest(digest.hexdigest(), self.declared.lower()):
            raise S3Error(
                400,
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                [("ClientComputedContentSHA256", self.declared), ("S3ComputedContentSHA256", digest.hexdigest())],
            )

    async def _chunked(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        decoder = AwsChunkedDecoder(self.verified if self.declared in _STREAMING_SIGNED else None)
        try:
            async for chunk in stream:
                for piece in decoder.feed(chunk):
                    yield piece
            self.trailers = decoder.finish()
        except ChunkError as error:
            if error.kind == "signature":
                raise S3Error(
                    403,
                    "SignatureDoesNotMatch",
                    "The request signature we calculated does not match the signature you provided. Check your "
                    "key and signing method.",
                ) from None
            raise S3Error(
                400, "IncompleteBody", f"The request body is not valid aws-chunked: {error.message}"
            ) from None
        if self.decoded_length is not None and decoder.decoded_length != self.decoded_length:
            raise S3Error(
                400,
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header",
            )


def authenticate(scope: Mapping[str, Any], key: sigv4.SigningKey) -> PayloadReader:
    """Verify the request's SigV4 headers for S3; return the reader that checks its body."""
    headers = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in scope["headers"]]
    values = sigv4.header_map(headers)
    authorization = values.get("authorization", [""])[0]
    if authorization.split(" ", 1)[0].lower() == "bearer":
        raise invalid_argument("Unsupported Authorization Type", "Authorization", authorization.split(" ", 1)[0])
    if authorization:
        declared = values.get("x-amz-content-sha256", [""])[0].strip()
        if not declared:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256")
        if declared in _KNOWN_NOT_SUPPORTED:
            raise S3Error(501, "NotImplemented", f"{declared} is not implemented by this emulator.")
        if not _valid_declaration(declared):
            raise invalid_argument(_HASH_CHOICES, "x-amz-content-sha256", declared)
        _require_signed_amz_headers(authorization, values)
    raw_path = scope.get("raw_path") or scope["path"].encode()
    request = sigv4.RequestParts(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1").partition("?")[0],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=None,
    )
    try:
        verified = sigv4.verify(request, key, rules=sigv4.S3)
    except sigv4.SignatureRejected as rejected:
        raise s3_refusal(rejected, key) from None
    declared = values["x-amz-content-sha256"][0].strip()
    decoded = values.get("x-amz-decoded-content-length", [None])[0]
    reader = PayloadReader(declared=declared, verified=verified, decoded_length=None)
    if reader.chunked:
        if decoded is None or not decoded.strip().isdigit():
            raise S3Error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
        reader.decoded_length = int(decoded)
    return reader


def _valid_declaration(value: str) -> bool:
    if value in (sigv4.UNSIGNED_PAYLOAD, _STREAMING_UNSIGNED, *_STREAMING_SIGNED):
        return True
    return len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value)


def _require_signed_amz_headers(authorization: str, headers: dict[str, list[str]]) -> None:
    """S3 refuses ``x-amz-*`` headers left out of the signature (a signer bug that would let them be forged)."""
    signed: set[str] = set()
    for item in authorization.partition(" ")[2].split(","):
        name, _, value = item.strip().partition("=")
        if name == "SignedHeaders":
            signed = set(value.strip().split(";"))
    unsigned = sorted(name for name in headers if name.startswith("x-amz-") and name not in signed)
    if unsigned:
        raise S3Error(
            403,
            "AccessDenied",
            "There were headers present in the request which were not signed",
            [("HeadersNotSigned", ", ".join(unsigned))],
        )
