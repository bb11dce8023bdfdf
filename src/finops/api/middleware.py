"""The one pure ASGI middleware around the application (each wrapper costs a closure and an await per message,
so the per-request jobs share one)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from finops.core.ids import new_request_id
from finops.core.push import CLIENT_CHANNEL, ClientChannel

_SERVER_SEND = "finops.server_send"


def server_send(scope: Scope) -> tuple[Send, Callable[[], bool]] | None:
    """The server's own ``send`` for this request, and whether the client has gone; ``None`` when the server
    does not say (then only ``receive`` tells).

    A streamed body may send its chunks here once its ``http.response.start`` went through the middleware stack
    (which only looks at that message): every wrapper in between is an await per chunk, thousands per second
    with many open streams. uvicorn's ``send`` is a method of the request's cycle, whose ``disconnected`` flag is
    set when the connection is lost; its ``send`` then returns silently, so a stream must look at the flag."""
    send = scope.get(_SERVER_SEND)
    if send is None:
        return None
    cycle = send.__self__
    return send, lambda: bool(cycle.disconnected)


def client_channel(scope: Scope) -> ClientChannel | None:
    """The client's connection, to push a streamed body's chunks to (``finops.core.push``), when the server
    offers it (``finops serve``'s protocol does, for a request whose response will be chunked) and the request
    is one whose body may be written that way (not ``HEAD``)."""
    extensions = scope.get("extensions")
    if not extensions or scope.get("method") == "HEAD":
        return None
    channel: ClientChannel | None = extensions.get(CLIENT_CHANNEL)
    return channel


class GatewayMiddleware:
    """Gives every request a ``req_...`` id (in ``scope["state"]``), every response a ``request-id`` header, and
    counts responses by status class (2xx, 4xx, ...) for ``/metrics``.

    It wraps the whole application, so even responses rendered by the server-error fallback carry the id and
    are counted. That fallback answers a 500 and then re-raises the error (for the server to log); uvicorn closes
    the connection on any error that reaches it after a response started, under a client that got a complete
    answer and would reuse the connection. The error was logged where the 500 was rendered, so once the response
    is complete it stops here.
    """

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self._http = Counter("finops_http_requests", "HTTP requests by status class", ("status",), registry=registry)
        self._by_class = {status_class: self._http.labels(f"{status_class}xx") for status_class in range(1, 6)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        if isinstance(getattr(getattr(send, "__self__", None), "disconnected", None), bool):
            scope[_SERVER_SEND] = send  # see server_send
        header = (b"request-id", request_id.encode())
        channel = client_channel(scope)

        complete = False
        holding = False  # the head's write waits for the body's (see finops.http_protocol)

        async def send_with_id(message: Message) -> None:
            nonlocal complete, holding
            if message["type"] == "http.response.body":
                complete = not message.get("more_body", False)
                await send(message)
                if holding:
                    holding = False
                    channel.release_writes()  # type: ignore[union-attr]
                return
            if message["type"] == "http.response.start":
                headers = message["headers"] = [*message.get("headers", ()), header]
                status_class = message["status"] // 100
                counter = self._by_class.get(status_class) or self._http.labels(f"{status_class}xx")
                counter.inc()
                if channel is not None and _has_length(headers):
                    holding = True  # a body of known length comes next, at once: in the same write
                    channel.hold_writes()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if not complete:
                raise
        finally:
            if holding:
                channel.release_writes()  # type: ignore[union-attr]
            # The server's send is a method of the request's cycle, which holds this scope: left here, that reference
            # cycle would outlive the request until a cyclic collection finds it (a dozen objects per request).
            scope.pop(_SERVER_SEND, None)


def _has_length(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name.lower() == b"content-length" for name, _ in headers)
