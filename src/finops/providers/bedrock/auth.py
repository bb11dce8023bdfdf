"""How the gateway proves itself to Bedrock: SigV4 (botocore's signer) or a Bedrock API key (bearer).

Credentials are resolved once, when the adapter starts: a Bedrock API key from the config, else static keys
from the config, else ``AWS_BEARER_TOKEN_BEDROCK``, else the standard AWS credential chain (env, shared
files, SSO, container/instance roles...). Explicit config beats anything ambient in the environment.

Signing is per request and on the hot path, so one ``SigV4Auth`` and one credentials object are reused;
only temporary credentials about to expire are refreshed, in a worker thread, because botocore's refresh is
a blocking network call that must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import Protocol

import botocore.session
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials, RefreshableCredentials

from finops.config import ConfigError, ProviderSettings

SIGNING_NAME = "bedrock"  # not "bedrock-runtime": the service model's signingName
S3_SIGNING_NAME = "s3"
# S3 bodies are streamed from disk and never hashed up front: the signature covers ``UNSIGNED-PAYLOAD`` (what
# boto3 sends over HTTPS with a checksum); S3 still checks each part's length and the multipart ETags.
_UNSIGNED_S3 = {"client_config": Config(s3={"payload_signing_enabled": False})}
DEFAULT_REGION = "us-east-1"
BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"


def _no_signing_details(record: logging.LogRecord) -> bool:
    """botocore's signer logs the canonical request (session token included) and the signature at DEBUG;
    no credential may reach a log, whatever level an operator turns on."""
    return record.levelno > logging.DEBUG


logging.getLogger("botocore.auth").addFilter(_no_signing_details)


class BedrockAuth(Protocol):
    async def sign(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        """The headers to send: ``headers`` plus whatever authenticates exactly this method, URL and body."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every credential value currently in use, so error text can be scrubbed of them."""
        ...


class BearerAuth:
    """A Bedrock API key, sent as ``Authorization: Bearer`` (what botocore does for ``AWS_BEARER_TOKEN_BEDROCK``)."""

    def __init__(self, token: str) -> None:
        self._token = token
        self._authorization = f"Bearer {token}"

    async def sign(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        return {**headers, "authorization": self._authorization}

    def secrets(self) -> tuple[str, ...]:
        return (self._token,)


class SigV4Signer:
    """SigV4 with signing name ``bedrock`` (or ``s3``, see ``s3_signer``). Every header given to ``sign`` is
    signed, so the caller must send them unchanged; headers added later by httpx (content-length,
    user-agent...) are simply not signed."""

    def __init__(self, credentials: Credentials, region: str, *, service: str = SIGNING_NAME) -> None:
        self._credentials = credentials
        self._s3 = service == S3_SIGNING_NAME
        # S3's flavour keeps the path as sent (keys may hold "//" or "."), and signs x-amz-content-sha256.
        self._signer = (S3SigV4Auth if self._s3 else SigV4Auth)(credentials, service, region)
        self._refreshable = isinstance(credentials, RefreshableCredentials)

    async def sign(self, method: str, url: str, body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
        if self._refreshable and self._credentials.refresh_needed():
            await asyncio.to_thread(self._credentials.get_frozen_credentials)
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        if self._s3:
            request.context.update(_UNSIGNED_S3)
        self._signer.add_auth(request)
        return dict(request.headers.items())

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def secrets(self) -> tuple[str, ...]:
        frozen = self._credentials.get_frozen_credentials()
        return tuple(value for value in (frozen.access_key, frozen.secret_key, frozen.token) if value)


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return getter() if getter else None


def region_of(settings: ProviderSettings) -> str:
    return settings.region or DEFAULT_REGION


def s3_signer(auth: BedrockAuth, region: str) -> SigV4Signer:
    """A signer for S3 with the credentials ``auth`` signs Bedrock calls with; a Bedrock API key cannot sign
    S3 requests, so ``providers.bedrock.batch`` needs AWS credentials."""
    if not isinstance(auth, SigV4Signer):
        raise ConfigError(
            "providers.bedrock.batch: S3 files and batch jobs need AWS credentials (access_key_id/secret_access_key "
            "or the AWS credential chain); a Bedrock API key (bearer_token) cannot sign S3 requests"
        )
    return SigV4Signer(auth.credentials, region, service=S3_SIGNING_NAME)


def build_auth(settings: ProviderSettings, environ: Mapping[str, str] | None = None) -> BedrockAuth:
    """The configured way to authenticate; a config that cannot authenticate fails here, at start-up."""
    environ = os.environ if environ is None else environ
    bearer = _secret(settings.bearer_token)
    key_id, secret_key = _secret(settings.access_key_id), _secret(settings.secret_access_key)
    session_token = _secret(settings.session_token)

    if bearer and (key_id or secret_key):
        raise ConfigError("providers.bedrock: set either bearer_token or access_key_id/secret_access_key, not both")
    if bearer:
        return BearerAuth(bearer)
    if bool(key_id) != bool(secret_key):
        missing = "secret_access_key" if key_id else "access_key_id"
        raise ConfigError(f"providers.bedrock.{missing}: required when the other half of the key pair is set")
    if key_id and secret_key:
        return SigV4Signer(Credentials(key_id, secret_key, session_token), region_of(settings))
    if session_token:
        raise ConfigError("providers.bedrock.session_token: needs access_key_id and secret_access_key")
    if environ.get(BEARER_ENV):
        return BearerAuth(environ[BEARER_ENV])
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise ConfigError(
            "providers.bedrock: no AWS credentials (set bearer_token or access_key_id/secret_access_key, "
            f"or {BEARER_ENV}, or configure the AWS credential chain)"
        )
    return SigV4Signer(credentials, region_of(settings))
