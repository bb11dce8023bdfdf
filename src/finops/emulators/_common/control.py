"""Test-facing control plane every emulator mounts under ``/_emulator``.

Real providers have no such routes; tests use them to assert what reached the upstream (bad input must
never get there) and to inject upstream failures (429, 5xx, slow answers) without special builds.

- ``GET  /_emulator/requests`` -> ``{"count": N, "requests": [{"method", "path", "query", "json"?}]}``: ``json``
  is the parsed body of a JSON request (up to 1 MiB), kept for the latest 50 requests only, so tests can see
  what a gateway sent upstream while a long demo run does not keep every prompt
- ``POST /_emulator/reset``    -> forget the request log, any pending faults and the model's prompt caches
- ``POST /_emulator/faults``   -> ``{"status": 429, "count": 1, "path_prefix": "/v1", "delay_seconds": 0}``:
  the next ``count`` matching requests answer ``status`` in the provider's own error shape (or, with
  ``delay_seconds``, are held that long first). With ``"cut_after_bytes": N`` (and status 0) they are answered
  normally but their body stops after N bytes: ``"cut": "reset"`` drops the connection there (the client
  sees an incomplete chunked body), ``"cut": "end"`` ends the body cleanly as if nothing more was coming.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ASGIApp = Callable[..., Any]
ErrorRenderer = Callable[[int], tuple[bytes, list[tuple[bytes, bytes]]]]
"""Given a status, the provider-shaped error body and extra headers (content-type included)."""

_KEPT_BODY_BYTES = 1 << 20
_KEPT_BODIES = 50


@dataclass
class Fault:
    status: int
    remaining: int
    path_prefix: str = ""
    delay_seconds: float = 0.0
    cut_after_bytes: int | None = None
    cut: str = "reset"


@dataclass
class ControlState:
    requests: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.remaining > 0 and path.startswith(fault.path_prefix):
                fault.remaining -= 1
                return fault
        return None


class EmulatorControl:
    """ASGI middleware: logs provider requests, serves ``/_emulator/*`` and injects faults."""

    def __init__(self, app: ASGIApp, render_error: ErrorRenderer, on_reset: Callable[[], None] | None = None) -> None:
        self.app = app
        self.render_error = render_error
        self.on_reset = on_reset
        self.state = ControlState()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("/_emulator/"):
            await self._control(scope, receive, send)
            return
        entry: dict[str, Any] = {
            "method": scope["method"],
            "path": path,
            "query": scope.get("query_string", b"").decode("latin-1"),
        }
        if _is_small_json(scope):
            body = await _read_body(receive)
            with contextlib.suppress(ValueError):  # the provider answers it as the malformed body it is
                entry["json"] = json.loads(body or b"null")
            receive = _replay(body, receive)
        requests = self.state.requests
        requests.append(entry)
        if len(requests) > _KEPT_BODIES:
            requests[-_KEPT_BODIES - 1].pop("json", None)
        fault = self.state.take_fault(path)
        if fault is not None:
            if fault.delay_seconds:
                await asyncio.sleep(fault.delay_seconds)
            if fault.status:
                body, headers = self.render_error(fault.status)
                await _send_bytes(send, fault.status, body, headers)
                return
            if fault.cut_after_bytes is not None:
                send = _cutting(send, fault.cut_after_bytes, reset=fault.cut == "reset")
        await self.app(scope, receive, send)

    async def _control(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        if path == "/_emulator/requests" and scope["method"] == "GET":
            payload = {"count": len(self.state.requests), "requests": self.state.requests}
            await _send_json(send, 200, payload)
        elif path == "/_emulator/reset" and scope["method"] == "POST":
            self.state = ControlState()
            if self.on_reset is not None:
                self.on_reset()
            await _send_json(send, 200, {"ok": True})
        elif path == "/_emulator/faults" and scope["method"] == "POST":
            spec = json.loads(await _read_body(receive) or b"{}")
            self.state.faults.append(
                Fault(
                    status=int(spec.get("status", 0)),
                    remaining=int(spec.get("count", 1)),
                    path_prefix=str(spec.get("path_prefix", "")),
                    delay_seconds=float(spec.get("delay_seconds", 0.0)),
                    cut_after_bytes=spec.get("cut_after_bytes"),
                    cut=str(spec.get("cut", "reset")),
                )
            )
            await _send_json(send, 200, {"ok": True})
        else:
            await _send_json(send, 404, {"error": "unknown emulator control route"})


def _cutting(send: Any, limit: int, *, reset: bool) -> Any:
    """``send`` for a response body that stops after ``limit`` bytes (see ``cut_after_bytes``)."""
    remaining: int | None = limit

    async def cut_send(message: dict[str, Any]) -> None:
        nonlocal remaining
        if message["type"] != "http.response.body":
            await send(message)
            return
        if remaining is None:
            return  # already cut: whatever the app still sends goes nowhere
        body = message.get("body", b"")
        if len(body) < remaining:
            remaining -= len(body)
            await send(message)
            return
        await send({"type": "http.response.body", "body": body[:remaining], "more_body": True})
        remaining = None
        if reset:
            raise ConnectionResetError("emulated: the connection dropped mid-answer")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return cut_send


def _is_small_json(scope: dict[str, Any]) -> bool:
    headers = dict(scope.get("headers") or [])
    length = headers.get(b"content-length", b"")
    return (
        headers.get(b"content-type", b"").startswith(b"application/json")
        and length.isdigit()
        and int(length) <= _KEPT_BODY_BYTES
    )


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands the app the body already read, then defers to the real one (disconnects)."""
    sent = False

    async def replayed() -> dict[str, Any]:
        nonlocal sent
        if sent:
            message: dict[str, Any] = await receive()
            return message
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, payload: Any) -> None:
    await _send_bytes(send, status, json.dumps(payload).encode(), [(b"content-type", b"application/json")])


async def _send_bytes(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    all_headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})
