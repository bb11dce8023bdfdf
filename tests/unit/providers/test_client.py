"""The gateway's upstream client (``finops.providers.client`` via ``providers.http.build_client``): URLs and
headers as the adapters relied on with ``httpx.AsyncClient``, streamed uploads, environment proxies, no cookie
jar, and requests that had to wait for a connection counted per provider."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from finops.config import ProviderSettings, TimeoutSettings
from finops.core.errors import UpstreamError, UpstreamTimeoutError
from finops.providers.client import UpstreamClient
from finops.providers.http import build_client, iter_body, pool_waits, send
from finops.providers.pool import PoolTransport
from tests.support.scripted_upstream import ScriptedServer, answer


def _refuse(response: httpx.Response, body: bytes) -> UpstreamError:
    return UpstreamError(f"HTTP {response.status_code}")


def _head_lines(request: bytes) -> list[bytes]:
    return request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize("base", ["http://up.test", "http://up.test/", "http://up.test/v1", "http://up.test/v1/"])
@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/models", None),
        ("models", None),
        ("/v1beta/files/abc:download", {"alt": "media"}),
        ("/v1/models?limit=5", None),
        ("/v1/models", {"limit": 1000}),
        ("https://other.test/upload/x?upload_id=1", None),
    ],
)
def test_urls_resolve_as_httpx_resolves_them(base: str, url: str, params: dict[str, str | int] | None) -> None:
    ours = build_client(ProviderSettings(), base).build_request("GET", url, params=params)
    reference = httpx.AsyncClient(base_url=base).build_request("GET", url, params=params)
    assert ours.url == reference.url
    # the same string a second time comes from the client's table of resolved URLs: still the same answer
    assert build_client(ProviderSettings(), base).build_request("GET", url, params=params).url == reference.url


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("POST", "/chat/completions", {"content-type": "application/json"}),
        ("post", "https://other.test:8443/upload?x=1", None),
        ("PUT", "http://[::1]:9000/bucket/key", {"Host": "[::1]:9000", "x-amz-date": "20261201T000000Z"}),
        ("POST", "/v1/messages", {"content-length": "4", "x-api-key": "k"}),
        ("POST", "/v1/messages", {"Transfer-Encoding": "chunked"}),
        ("DELETE", "/v1/files/f", {"accept": "application/json"}),
    ],
)
def test_a_request_with_a_bytes_body_is_the_one_httpx_builds(
    method: str, url: str, headers: dict[str, str] | None
) -> None:
    client = build_client(ProviderSettings(), "http://up.test/v1", {"Authorization": "Bearer secret"})
    ours = client.build_request(method, url, content=b"body", headers=headers)
    # A str body is built by httpx's own constructor (``content=``), which a bytes body now only imitates.
    reference = client.build_request(method, url, content="body", headers=headers)
    assert (ours.method, ours.url, ours.content, ours.extensions) == (
        reference.method,
        reference.url,
        reference.content,
        reference.extensions,
    )
    assert ours.headers.raw == reference.headers.raw  # names, values, order and case, auto headers included
    assert isinstance(ours.stream, httpx.ByteStream)  # what the pool sends from its own connections


def test_default_client_and_request_headers_merge_by_name_whatever_the_case() -> None:
    async def scenario() -> None:
        async with (
            ScriptedServer(answer(b"{}")) as server,
            build_client(ProviderSettings(), server.url, {"x-api-key": "secret"}) as http,
        ):
            request = http.build_request(
                "POST", "/v1/messages", content=b"{}", headers={"Accept": "application/json", "X-Api-Key": "other"}
            )
            await send(http, request, provider="test", on_error=_refuse)
            lines = [line.lower() for line in _head_lines(server.requests[0])]
            assert lines[0] == b"post /v1/messages http/1.1"
            assert [line for line in lines if line.startswith(b"accept:")] == [b"accept: application/json"]
            assert [line for line in lines if line.startswith(b"x-api-key:")] == [b"x-api-key: other"]
            assert b"accept-encoding: gzip, deflate" in lines and b"content-length: 2" in lines

    asyncio.run(scenario())


def test_a_cookie_one_upstream_answer_sets_is_not_sent_with_the_next_request() -> None:
    async def scenario() -> None:
        reply = answer(b"{}", headers=b"set-cookie: session=caller-a; Path=/\r\n")
        async with ScriptedServer(reply) as server, build_client(ProviderSettings(), server.url) as http:
            for _ in range(2):
                await send(http, http.build_request("GET", "/v1/models"), provider="test", on_error=_refuse)
            assert not any(line.lower().startswith(b"cookie:") for line in _head_lines(server.requests[1]))

    asyncio.run(scenario())


def test_multipart_and_streamed_bodies_arrive_whole() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for piece in (b"chunk-1;", b"chunk-2"):
            yield piece

    async def scenario() -> None:
        async with ScriptedServer(answer(b"{}")) as server, build_client(ProviderSettings(), server.url) as http:
            upload = http.build_request(
                "POST",
                "/v1/files",
                files={"file": ("notes.txt", io.BytesIO(b"file bytes"), "text/plain")},
                data={"purpose": "batch"},
            )
            await send(http, upload, provider="test", on_error=_refuse)
            streamed = http.build_request("POST", "/upload", content=pieces(), headers={"Content-Length": "15"})
            await send(http, streamed, provider="test", on_error=_refuse)
            multipart, chunks = server.requests
            assert b'name="purpose"\r\n\r\nbatch' in multipart and b'filename="notes.txt"' in multipart
            assert b"\r\n\r\nfile bytes\r\n" in multipart
            assert chunks.endswith(b"\r\n\r\nchunk-1;chunk-2")

    asyncio.run(scenario())


def test_an_environment_proxy_carries_the_requests_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b'{"via":"proxy"}')) as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            async with build_client(ProviderSettings(), "http://upstream.invalid/v1") as http:
                response = await send(http, http.build_request("GET", "/models"), provider="test", on_error=_refuse)
            assert response.json() == {"via": "proxy"}
            assert _head_lines(proxy.requests[0])[0] == b"GET http://upstream.invalid/v1/models HTTP/1.1"

            monkeypatch.setenv("NO_PROXY", "upstream.invalid")
            assert isinstance(build_client(ProviderSettings(), "http://upstream.invalid").transport, PoolTransport)

    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    asyncio.run(scenario())


def test_requests_that_wait_for_a_connection_are_counted_per_provider() -> None:
    release = asyncio.Event()

    async def slow(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"/slow" in request.split(b"\r\n")[0]:
            await release.wait()
        return await answer(b"{}")(request, writer)

    async def scenario() -> None:
        settings = ProviderSettings(max_connections=1, timeouts=TimeoutSettings(pool=0.2))
        before = pool_waits().get("pool-test", 0)
        async with ScriptedServer(slow) as server, build_client(settings, server.url) as http:

            def call(path: str) -> asyncio.Task[httpx.Response]:
                request = http.build_request("GET", path)
                return asyncio.create_task(send(http, request, provider="pool-test", on_error=_refuse))

            held = call("/slow")
            await asyncio.sleep(0.05)
            with pytest.raises(UpstreamTimeoutError):  # no connection became free within the pool timeout
                await call("/fast")
            queued = call("/fast")
            await asyncio.sleep(0.05)
            release.set()
            await held
            await queued
            await call("/fast")  # the connection is free again: no wait
        assert pool_waits()["pool-test"] - before == 2

    asyncio.run(scenario())


def test_with_default_settings_hundreds_of_open_streams_never_wait_for_a_connection() -> None:
    release = asyncio.Event()

    async def held(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        writer.write(b"6\r\nstart\n\r\n")
        await writer.drain()
        await release.wait()
        writer.write(b"4\r\nend\n\r\n0\r\n\r\n")
        await writer.drain()
        return True

    async def scenario() -> None:
        streams = 300
        before = pool_waits().get("streams-test", 0)
        async with ScriptedServer(held) as server, build_client(ProviderSettings(), server.url) as http:

            async def stream() -> bytes:
                request = http.build_request("POST", "/v1/chat/completions", content=b"{}")
                response = await send(http, request, provider="streams-test", on_error=_refuse, stream=True)
                return b"".join([chunk async for chunk in iter_body(response, "streams-test")])

            tasks = [asyncio.create_task(stream()) for _ in range(streams)]
            while server.connections < streams and not any(task.done() for task in tasks):
                await asyncio.sleep(0.01)
            release.set()
            assert await asyncio.gather(*tasks) == [b"start\nend\n"] * streams
            assert server.connections == streams
        assert pool_waits().get("streams-test", 0) == before

    asyncio.run(scenario())


def test_a_client_closed_refuses_further_requests() -> None:
    async def scenario() -> None:
        async with ScriptedServer(answer(b"{}")) as server:
            http = UpstreamClient(server.url, timeout=httpx.Timeout(5.0), limits=httpx.Limits(max_connections=2))
            await http.send(http.build_request("GET", "/"))
            await http.aclose()
            with pytest.raises(httpx.ConnectError):
                await http.send(http.build_request("GET", "/"))

    asyncio.run(scenario())
