"""The one way a streamed answer leaves the gateway, for every provider.

``relay_events`` takes a translating provider's Anthropic events; ``relay_sse`` takes the Anthropic upstream's
own SSE response and passes its bytes through. Both give a ``MessageStream`` (``finops.core.types``) and own
the same rules:

- **Errors before the first frame raise**, so the gateway still answers with a status and an error envelope.
  After it the status line is gone: the stream ends with Anthropic's ``event: error`` (``overloaded_error`` or
  ``api_error``, see ``upstream_errors.in_stream``) and ``error`` says what happened.
- **A stream is complete only with ``message_stop``.** An upstream that resets, closes or just ends before it
  gives the client an ``event: error``, never a quietly truncated message.
- **Usage.** ``message_start.message.usage`` and ``message_delta.usage`` carry all four token counts, and
  ``usage`` is their fold (``providers.usage``), kept up to date as frames go out: it is what the client adds
  up and what the ledger prices, also when the client goes away mid-stream.

The passthrough stays cheap: upstream chunks are relayed as they arrive, cut only at event boundaries (so a
client never receives half an event followed by an error), and only chunks that can hold ``message_start``,
``message_delta``, ``message_stop`` or ``error`` are parsed at all.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

import httpx
import orjson

from finops.core.errors import GatewayError, OverloadedError, UpstreamError, UpstreamUnavailableError
from finops.core.push import ClientGone, Push
from finops.core.types import JSON
from finops.providers.http import body_stream, transport_errors
from finops.providers.pool import PooledBody
from finops.providers.pushed import push_body
from finops.providers.sse import (
    MAX_EVENT_BYTES,
    PING,
    Event,
    SSEEvent,
    complete_events_end,
    encode_sse,
    error_frame,
    parse_events,
)
from finops.providers.upstream_errors import ErrorPolicy, in_stream
from finops.providers.usage import USAGE_KEYS, complete_usage, fold_usage

logger = logging.getLogger("finops.providers")

_EVENT_STREAM = "text/event-stream"


class _Relay:
    """A ``MessageStream``: subclasses give the items (``_source``) and how each becomes a frame (``_frame``); this
    class applies the error rule around them, in the same generator the frames leave through (a stream with
    thousands of events resumes every layer once per event, so the rule costs no layer of its own)."""

    def __init__(self, errors: ErrorPolicy) -> None:
        self.usage: JSON | None = None
        self.error: GatewayError | None = None
        self._errors = errors
        self._stopped = False
        self._frames = self._relay()

    def __aiter__(self) -> AsyncGenerator[bytes, Push | None]:
        return self._frames

    async def aclose(self) -> None:
        await self._frames.aclose()

    def _source(self) -> AsyncGenerator[Any, Any]:
        raise NotImplementedError

    def _frame(self, item: Any) -> bytes:
        raise NotImplementedError

    async def _relay(self) -> AsyncGenerator[bytes, Push | None]:
        sent = False
        frame_of = self._frame
        inner: Push | None = None  # what the source is sent next: a push wrapped with this layer's stage
        try:
            async with aclosing(self._source()) as items:
                while True:
                    try:
                        item = await (items.asend(inner) if inner is not None else anext(items))
                    except StopAsyncIteration:
                        break
                    frame = frame_of(item)
                    sent = True
                    push = yield frame
                    inner = _framing(push, frame_of) if push is not None else None
            if not self._stopped:
                raise UpstreamError(f"the {self._errors.provider} upstream ended its stream before message_stop")
        except GatewayError as exc:
            error = self._errors.scrub(exc)
            if not sent:
                raise error from exc
            self.error = error
            yield error_frame(*in_stream(error))
        except ClientGone:
            raise  # the client left a pushed stream: nobody to tell
        except Exception:
            if not sent:
                raise  # the gateway's 500 envelope, logged there
            # A bug, not an upstream failure: the client still gets an ending it understands.
            logger.exception("a %s stream failed after its first frame", self._errors.provider)
            self.error = UpstreamError("Internal server error")
            yield error_frame(*in_stream(self.error))

    # Usage, as the SDKs fold it ------------------------------------------------------------------------------

    def _started(self, message: Any) -> None:
        if isinstance(message, dict):
            self.usage = complete_usage(message.get("usage"))

    def _delta(self, usage: Any) -> None:
        self.usage = fold_usage(self.usage, usage if isinstance(usage, dict) else None)


EventStep = Event | list[Event]
"""What a translating provider's stream yields: one event, or the events one upstream chunk completed, which
leave in one frame (one ``send`` and one system call: a stream's first chunk opens the message, its block and
its first delta; its last one closes all three)."""


class _EventRelay(_Relay):
    def __init__(self, errors: ErrorPolicy, events: AsyncGenerator[EventStep, None]) -> None:
        super().__init__(errors)
        self._events = events

    def _source(self) -> AsyncGenerator[EventStep, None]:
        return self._events

    def _frame(self, step: EventStep) -> bytes:
        if isinstance(step, tuple):
            return self._encode(*step)
        return b"".join([self._encode(name, data) for name, data in step])

    def _encode(self, name: str, data: JSON) -> bytes:
        if name == "message_start":
            self._started(data["message"])
            data["message"]["usage"] = dict(self.usage or {})
            return encode_sse(name, data) + PING  # Anthropic sends the ping right after message_start
        if name == "message_delta":
            self._delta(data.get("usage"))
            counts = self.usage or {}
            data["usage"] = {**(data.get("usage") or {}), **{key: counts[key] for key in USAGE_KEYS}}
        elif name == "message_stop":
            self._stopped = True
        elif name == "error":  # an Anthropic error event inside the upstream's stream (Bedrock Claude)
            raise _in_band(data, self._errors)
        return encode_sse(name, data)


class _SSEPassthrough(_Relay):
    def __init__(self, errors: ErrorPolicy, open_response: Callable[[], Awaitable[httpx.Response]]) -> None:
        super().__init__(errors)
        self._open = open_response

    def _frame(self, item: bytes | list[bytes]) -> bytes:
        return item if isinstance(item, bytes) else b"".join(item)  # a list: what one pushed read completed

    async def _source(self) -> AsyncGenerator[bytes, Push | None]:
        provider = self._errors.provider
        response = await self._open()
        content_type = response.headers.get("content-type", "")
        if not content_type.lower().startswith(_EVENT_STREAM):
            await response.aclose()
            raise UpstreamUnavailableError(
                f"the {provider} upstream answered a streaming request with {content_type or 'no content type'}, "
                "not an event stream"
            )
        body = body_stream(response)
        pending = b""

        def read(chunk: bytes, frames: list[bytes]) -> None:
            """The complete events ``chunk`` ends, as they came (the upstream's own error event redacted)."""
            nonlocal pending
            buffer = pending + chunk if pending else chunk
            end = complete_events_end(buffer)
            if end == len(buffer):
                pending = b""
            else:
                pending = buffer[end:]
                buffer = buffer[:end]
                if len(pending) > MAX_EVENT_BYTES:
                    raise UpstreamError(f"the {provider} upstream sent a stream event too large to relay")
            if not buffer:
                return
            if buffer.find(b"message_") >= 0 or buffer.find(b"error") >= 0:  # not ``in``: see ``providers.sse``
                events = parse_events(buffer)
                self._scan(events)
                if self.error is not None:
                    # The upstream's own error event ends the stream; its message is redacted like any.
                    frames.append(self._reframed(events))
                    return
            frames.append(buffer)

        try:
            with transport_errors(provider):
                async for chunk in body:
                    frames: list[bytes] = []
                    read(chunk, frames)
                    if not frames:
                        continue
                    push = yield frames[0]
                    if self.error is not None:
                        return
                    if push is not None and isinstance(body, PooledBody) and not self._stopped:
                        # to the end of the body, as pulled (the connection stays reusable); an error event ends it
                        await push_body(body, read, lambda: self.error is not None, push, lambda: None)
                        return
        except GatewayError:
            if not self._stopped:
                raise  # after message_stop the answer is whole; a late reset changes nothing for the client
        finally:
            await response.aclose()  # also when the client went away mid-stream

    def _scan(self, events: list[SSEEvent]) -> None:
        """Take usage, the end and an in-band error from ``events``."""
        for name, data in events:
            if name == "message_start":
                self._started(_load(data).get("message"))
            elif name == "message_delta":
                self._delta(_load(data).get("usage"))
            elif name == "message_stop":
                self._stopped = True
            elif name == "error":
                self.error = self._errors.scrub(_in_band(_load(data), self._errors))
                self._stopped = True  # the client gets this error event: nothing to add after it
                return

    def _reframed(self, events: list[SSEEvent]) -> bytes:
        """``events`` up to the upstream's error event, which is replaced by the gateway's (redacted) one."""
        frames = []
        for name, data in events:
            if name == "error" and self.error is not None:
                frames.append(error_frame(*in_stream(self.error)))
                break
            lines = b"".join(b"data: " + line + b"\n" for line in data.split(b"\n"))
            frames.append(b"event: " + name.encode() + b"\n" + lines + b"\n")
        return b"".join(frames)


def _framing(push: Push, frame_of: Callable[[Any], bytes]) -> Push:
    """``push`` behind this layer's stage: an item, once framed, goes on to the next stage."""
    deliver = push.deliver
    return push.through(lambda item: deliver(frame_of(item)))


def _in_band(event: JSON, errors: ErrorPolicy) -> GatewayError:
    """The gateway error for an Anthropic ``error`` event found in an upstream's stream."""
    error = event.get("error")
    error = error if isinstance(error, dict) else {}
    failure = OverloadedError if error.get("type") == "overloaded_error" else UpstreamError
    return failure(str(error.get("message") or f"the {errors.provider} upstream's stream failed"))


def _load(data: bytes) -> JSON:
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def relay_events(errors: ErrorPolicy, events: AsyncGenerator[EventStep, None]) -> _Relay:
    """A translating provider's stream: ``events`` (an async generator that opens the upstream on its first
    step) are encoded as frames, each step's events in one, with a ``ping`` after ``message_start`` as Anthropic
    sends."""
    return _EventRelay(errors, events)


def relay_sse(errors: ErrorPolicy, open_response: Callable[[], Awaitable[httpx.Response]]) -> _Relay:
    """The Anthropic upstream's stream, its bytes passed through: ``open_response`` sends the request (on the
    first step) and answers the streamed 2xx response (non-2xx ones raise through ``send``)."""
    return _SSEPassthrough(errors, open_response)
