"""Who may call the emulator: a SigV4 signature by the configured key pair, or the configured bearer key.

Bedrock API keys travel as ``Authorization: Bearer <key>`` (botocore sends ``AWS_BEARER_TOKEN_BEDROCK`` so);
they are only honoured when the emulator was started with one, and must then match exactly.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from finops.emulators.bedrock import sigv4
from finops.emulators.bedrock.errors import BedrockError

# How Bedrock (a rest-json service, like every non-S3 one) words each signature refusal.
_REFUSALS: dict[sigv4.Reason, tuple[int, str]] = {
    "missing": (403, "MissingAuthenticationTokenException"),
    "malformed": (403, "IncompleteSignatureException"),
    "unknown_key": (403, "UnrecognizedClientException"),
    "payload_hash_mismatch": (400, "ValidationException"),
}


def bedrock_refusal(rejected: sigv4.SignatureRejected) -> BedrockError:
    status, code = _REFUSALS.get(rejected.reason, (403, "InvalidSignatureException"))
    return BedrockError(status, rejected.message, code)


@dataclass(frozen=True)
class Authenticator:
    key: sigv4.SigningKey
    bearer_token: str | None = None

    def check(self, scope: Mapping[str, Any], body: bytes) -> None:
        """Raise a 403 ``BedrockError`` unless the request in ``scope`` (with ``body``) is authorised."""
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        authorization = next((v for n, v in headers if n.lower() == "authorization"), "")
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer":
            if self.bearer_token is None or not hmac.compare_digest(credential.strip(), self.bearer_token):
                raise BedrockError(
                    403,
                    "Authentication failed: Please make sure your API Key is valid.",
                    "AccessDeniedException",
                )
            return
        # The canonical URI must be built from the path exactly as it was sent (still percent-encoded).
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else quote(scope["path"], safe="/~:")
        request = sigv4.RequestParts(
            method=scope["method"],
            raw_path=path.partition("?")[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=body,
        )
        try:
            sigv4.verify(request, self.key)
        except sigv4.SignatureRejected as rejected:
            raise bedrock_refusal(rejected) from None
