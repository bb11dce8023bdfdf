"""A Bedrock streamed answer (an AWS event stream) as Anthropic events, for ``finops.providers.relay``: the bodies
of InvokeModelWithResponseStream and ConverseStream, their frames CRC-checked (``eventstream``) and translated
(``stream``).

The events of one upstream read are yielded together (the relay writes them as one frame), straight off the
response's byte stream; sent a ``Push`` (``asend``), the rest of a pooled body is delivered through it as it
arrives (``finops.core.push``), as ``finops.providers.openai.sse`` does for Chat Completions. An event stream has
no end marker of its own: it is read to the end of its body, where a frame left incomplete raises, and only then
are the events still owed (Converse's ``finish``) yielded, the pull way, so the frame ending the message comes
back to the request's task.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable

import httpx

from finops.core.errors import UpstreamError
from finops.core.push import Push
from finops.core.types import JSON
from finops.providers.bedrock.eventstream import EventStreamDecoder
from finops.providers.bedrock.stream import ConverseStreamTranslator, InvokeStreamTranslator
from finops.providers.pushed import events_by_read
from finops.providers.sse import Event
from finops.providers.upstream_errors import ErrorPolicy

OpenResponse = Callable[[], Awaitable[httpx.Response]]
"""Sends the streaming request (on the stream's first step) and answers its 2xx response."""

FrameFeed = Callable[[str, JSON], list[Event]]
"""Translates one event frame, its ``:event-type`` and JSON payload, into the Anthropic events it completes."""


def invoke_events(
    open_response: OpenResponse, translator: InvokeStreamTranslator, errors: ErrorPolicy
) -> AsyncGenerator[list[Event], Push | None]:
    """InvokeModelWithResponseStream's events (``_stream_events``): only ``chunk`` frames carry the model's
    output, and nothing is owed at the end (the relay itself requires ``message_stop``)."""

    def feed(event_type: str, payload: JSON) -> list[Event]:
        return translator.feed(payload) if event_type == "chunk" else []

    return _stream_events(open_response, feed, lambda: [], errors)


def converse_events(
    open_response: OpenResponse, translator: ConverseStreamTranslator, errors: ErrorPolicy
) -> AsyncGenerator[list[Event], Push | None]:
    """ConverseStream's events (``_stream_events``): the translator rebuilds Anthropic's sequence, and closes the
    message at the end of the body if Bedrock sent no ``metadata`` (raising if it sent no ``messageStop`` either)."""
    return _stream_events(open_response, translator.feed, translator.finish, errors)


def _stream_events(
    open_response: OpenResponse, feed: FrameFeed, finish: Callable[[], list[Event]], errors: ErrorPolicy
) -> AsyncGenerator[list[Event], Push | None]:
    """The Anthropic events of the event stream ``open_response`` answers (``events_by_read``), then ``finish()``'s
    at the end of the body, where a frame left incomplete is an error. An exception frame raises the gateway error
    its type names."""
    decoder = EventStreamDecoder()

    def read(chunk: bytes, events: list[Event]) -> None:
        for message_type, event_type, payload in decoder.feed(chunk):
            if message_type != "event":
                # Exception frames carry no HTTP status; their type names the error.
                raise errors.read(500, {"x-amzn-errortype": event_type}, payload)
            events += feed(event_type, payload)

    return events_by_read(open_response, read, errors.provider, cut_off=lambda: _cut_off(decoder), closing=finish)


def _cut_off(decoder: EventStreamDecoder) -> UpstreamError | None:
    """What ``decoder.close`` raises at the end of the body, as ``push_body`` takes it: returned, not raised."""
    try:
        decoder.close()
    except UpstreamError as exc:
        return exc
    return None
