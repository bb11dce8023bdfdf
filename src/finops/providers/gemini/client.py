"""HTTP plumbing for the Gemini API: the pooled client, the API key header, and upstream errors mapped.

The key travels only in ``x-goog-api-key`` on requests to the configured host, never in a URL (URLs end up in
logs and error messages) and never to an upload session URL (the session id is that URL's credential).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import BinaryIO
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson

from finops.config import ProviderSettings
from finops.core.errors import UpstreamError
from finops.core.types import JSON
from finops.providers.gemini.translate import gemini_fault
from finops.providers.gemini.uploads import upload_resumable
from finops.providers.http import build_client, iter_lines, send
from finops.providers.upstream_errors import ErrorPolicy

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
DEFAULT_API_VERSION = "v1beta"
_API_VERSIONS = ("v1", "v1beta", "v1alpha")

_PARSE_IN_THREAD_BYTES = 1024 * 1024


def split_base_url(base_url: str | None) -> tuple[str, str]:
    """(host URL, API version). The config names the host; a trailing ``/v1beta`` or ``/v1`` picks the version."""
    parts = urlsplit((base_url or DEFAULT_BASE_URL).rstrip("/"))
    path = parts.path.rstrip("/")
    version = DEFAULT_API_VERSION
    last = path.rsplit("/", 1)[-1]
    if last in _API_VERSIONS:
        version, path = last, path[: -len(last) - 1]
    return urlunsplit((parts.scheme, parts.netloc, path, "", "")), version


class GeminiClient:
    name = "gemini"

    def __init__(self, settings: ProviderSettings) -> None:
        self._api_key = settings.api_key.get_secret_value() if settings.api_key else ""
        self.base_url, self.version = split_base_url(settings.base_url)
        self.api = f"/{self.version}"
        # No default headers: the key is added per request, so the upload session URL never receives it.
        self._client = build_client(settings, self.base_url)
        self.errors = ErrorPolicy(self.name, [self._api_key], gemini_fault)

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def _auth(self) -> dict[str, str]:
        return {"x-goog-api-key": self._api_key}

    # -- calls ------------------------------------------------------------------------------------------------

    def _request(
        self, method: str, path: str, *, content: bytes | None, params: dict[str, str] | None
    ) -> httpx.Request:
        headers = {**self._auth, **({"content-type": "application/json"} if content is not None else {})}
        return self._client.build_request(method, path, headers=headers, content=content, params=params)

    async def call(
        self, method: str, path: str, *, content: bytes | None = None, params: dict[str, str] | None = None
    ) -> JSON:
        request = self._request(method, path, content=content, params=params)
        response = await send(self._client, request, provider=self.name, on_error=self.errors.for_response)
        if not response.content:
            return {}
        try:
            if len(response.content) > _PARSE_IN_THREAD_BYTES:
                # A batch answer echoes its inline requests (megabytes): parsing them would take the loop for
                # hundreds of milliseconds, so it happens on a worker thread.
                payload = await asyncio.to_thread(orjson.loads, response.content)
            else:
                payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(f"the {self.name} upstream answered something that is not JSON") from exc
        return payload if isinstance(payload, dict) else {}

    async def open(
        self, method: str, path: str, *, content: bytes | None = None, params: dict[str, str] | None = None
    ) -> httpx.Response:
        """A streamed response (the caller reads it with ``lines`` or ``iter_body``, which close it)."""
        request = self._request(method, path, content=content, params=params)
        return await send(self._client, request, provider=self.name, on_error=self.errors.for_response, stream=True)

    def lines(self, response: httpx.Response) -> AsyncIterator[str]:
        return iter_lines(response, self.name)

    async def upload(self, file: BinaryIO, size: int, mime_type: str, display_name: str) -> JSON:
        """Resumable upload of ``size`` bytes from ``file``; returns the Gemini File resource."""
        return await upload_resumable(
            self._client,
            base_url=self.base_url,
            start_path=f"/upload{self.api}/files",
            auth_headers=self._auth,
            file=file,
            size=size,
            mime_type=mime_type,
            display_name=display_name,
            provider=self.name,
            on_error=self.errors.for_response,
        )
