"""``GatewayMiddleware`` hands the server's ``send`` to streamed bodies through the scope; once the request is over
nothing of it may keep the server's per-request objects alive (``finops.api.middleware``)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from prometheus_client import CollectorRegistry

from finops.api.middleware import GatewayMiddleware, server_send


class _Cycle:
    """What uvicorn's ``RequestResponseCycle`` is to the middleware: it owns the scope, and ``send`` is its
    method, with a ``disconnected`` flag beside it."""

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.disconnected = False
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _serve_one() -> tuple[weakref.ref[_Cycle], list[bool]]:
    seen: list[bool] = []

    async def endpoint(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(server_send(scope) is not None)  # a streamed body finds the server's send here
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    cycle = _Cycle({"type": "http", "method": "POST", "path": "/v1/messages", "headers": []})
    asyncio.run(GatewayMiddleware(endpoint, CollectorRegistry())(cycle.scope, _receive, cycle.send))
    assert [message["type"] for message in cycle.sent] == ["http.response.start", "http.response.body"]
    return weakref.ref(cycle), seen


def test_a_finished_request_frees_the_servers_objects_without_a_cyclic_collection() -> None:
    gc.collect()
    gc.disable()
    try:
        gone, seen = _serve_one()
        assert seen == [True]
        # Reference counting alone frees the request's cycle: with thousands of streams starting every second,
        # each one left to the cyclic collector made its passes longer and more frequent.
        assert gone() is None
    finally:
        gc.enable()
