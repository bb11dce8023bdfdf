"""The CI-sized stream benchmark, correctness only: 200 concurrent paced streams through a real ``finops serve``
(Anthropic in, OpenAI Chat Completions upstream) all arrive complete and in order, and the ledger has a usage row
for each. No timing is asserted (``bench/streams.py`` measures that). A client that hangs up mid-answer ends the
upstream call and still gets its usage row; one that stops reading for a while holds the upstream back and then
gets the whole answer. The gateway is ``finops serve``, so these streams are pushed (``finops.core.push``)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import anthropic
import httpx
import orjson

from finops.providers.sse import SSEDecoder
from tests.support.governance import ADMIN_KEY, create_key, key_row, wait_for
from tests.support.processes import gateway_process, paced_upstream
from tests.support.scripted_upstream import ScriptedServer

STREAMS = 200
EVENTS = 20
EXPECTED_TEXT = "".join(f"w{k} " for k in range(EVENTS))


async def _one_stream(client: anthropic.AsyncAnthropic, index: int) -> tuple[int, list[str], anthropic.types.Message]:
    deltas: list[str] = []
    async with client.messages.stream(
        model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": f"stream {index}"}]
    ) as stream:
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                deltas.append(event.delta.text)
        final = await stream.get_final_message()
    return index, deltas, final


async def _all_streams(base: str, key: str) -> list[tuple[int, list[str], anthropic.types.Message]]:
    client = anthropic.AsyncAnthropic(
        base_url=f"{base}/anthropic",
        api_key=key,
        default_headers={"x-model-provider": "openai"},
        max_retries=0,
        timeout=60,
    )
    async with client:
        return await asyncio.gather(*(_one_stream(client, index) for index in range(STREAMS)))


def test_200_concurrent_paced_streams_arrive_complete_in_order_and_are_all_billed(tmp_path: Path) -> None:
    with paced_upstream(first_ms=100, interval_ms=50, events=EVENTS) as upstream:
        settings = {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
            "providers": {"openai": {"api_key": "sk-upstream-test", "base_url": f"{upstream}/v1"}},
            "governance": {"admin_key": ADMIN_KEY},
        }
        with gateway_process(settings, tmp_path) as gateway:
            key = create_key(gateway.url, f"streams-{uuid.uuid4().hex[:8]}")
            results = asyncio.run(_all_streams(gateway.url, key["key"]))

            assert len(results) == STREAMS
            for index, deltas, final in results:
                # Every token, once, in the upstream's order, and a properly ended message.
                assert deltas == [f"w{k} " for k in range(EVENTS)], f"stream {index}: {deltas}"
                assert [block.text for block in final.content if block.type == "text"] == [EXPECTED_TEXT]
                assert final.stop_reason == "end_turn"
                assert final.usage.output_tokens == EVENTS

            row = wait_for(lambda: (r := key_row(gateway.url, key["id"])) and r["requests"] == STREAMS and r)
            assert row["output_tokens"] == STREAMS * EVENTS


LONG_ANSWER = 2_000  # events 50 ms apart: 100 s, far longer than the test waits for anything


def _chat_chunk(delta: dict[str, str]) -> bytes:
    chunk = {"id": "chatcmpl-left", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    body = orjson.dumps({**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
    return b"data: " + body + b"\n\n"


class _EndlessAnswer:
    """An OpenAI upstream whose streamed answer would take ``LONG_ANSWER`` events; notes when the gateway hangs up."""

    def __init__(self) -> None:
        self.sent = 0
        self.hung_up = asyncio.Event()

    async def reply(self, _request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        try:
            for index in range(LONG_ANSWER):
                event = _chat_chunk({"role": "assistant", "content": ""} if index == 0 else {"content": f"w{index} "})
                writer.write(b"%x\r\n%s\r\n" % (len(event), event))
                await writer.drain()
                self.sent += 1
                await asyncio.sleep(0.05)
        except ConnectionError:
            self.hung_up.set()
            return False
        return True


async def _leave_after_three_deltas(base: str, key: str) -> None:
    client = anthropic.AsyncAnthropic(
        base_url=f"{base}/anthropic", api_key=key, default_headers={"x-model-provider": "openai"}, max_retries=0
    )
    async with client:
        deltas = 0
        async with client.messages.stream(
            model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": "a long answer"}]
        ) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    deltas += 1
                    if deltas == 3:
                        break  # leaving the block closes the response: the client hangs up mid-answer
        assert deltas == 3


def test_a_client_that_leaves_mid_stream_ends_the_upstream_call_and_its_usage_is_recorded(tmp_path: Path) -> None:
    upstream = _EndlessAnswer()

    async def scenario() -> None:
        async with ScriptedServer(upstream.reply) as server:
            settings = {
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
                "providers": {"openai": {"api_key": "sk-upstream-test", "base_url": f"{server.url}/v1"}},
                "governance": {"admin_key": ADMIN_KEY},
            }
            with gateway_process(settings, tmp_path) as gateway:
                key = await asyncio.to_thread(create_key, gateway.url, f"leaves-{uuid.uuid4().hex[:8]}")
                await _leave_after_three_deltas(gateway.url, key["key"])
                # The gateway stops reading and closes the upstream connection: the answer is not streamed to the end.
                await asyncio.wait_for(upstream.hung_up.wait(), timeout=60)
                assert upstream.sent < LONG_ANSWER
                row = await asyncio.to_thread(
                    wait_for, lambda: (r := key_row(gateway.url, key["id"])) and r["requests"] == 1 and r
                )
                assert row["requests"] == 1

    asyncio.run(scenario())


class _AnswerThatWaitsForTheClient:
    """An OpenAI upstream that sends its first word, then waits until the test says the client has it."""

    def __init__(self) -> None:
        self.client_has_first_word = asyncio.Event()

    async def reply(self, _request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for event in (_chat_chunk({"role": "assistant", "content": ""}), _chat_chunk({"content": "first "})):
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        await writer.drain()
        await asyncio.wait_for(self.client_has_first_word.wait(), timeout=30)
        stop = {"id": "chatcmpl-left", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
        rest = [
            _chat_chunk({"content": "second"}),
            b"data: "
            + orjson.dumps({**stop, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + b"\n\n",
            b"data: [DONE]\n\n",
        ]
        for event in rest:
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def test_each_word_reaches_the_client_before_the_next_one_exists(tmp_path: Path) -> None:
    """A frame is relayed when it arrives, not when the one after it does: the upstream only sends its second word
    once the client has the first (a gateway that reads one frame ahead never gets there)."""
    upstream = _AnswerThatWaitsForTheClient()

    async def read(base: str, key: str) -> list[str]:
        client = anthropic.AsyncAnthropic(
            base_url=f"{base}/anthropic", api_key=key, default_headers={"x-model-provider": "openai"}, max_retries=0
        )
        words: list[str] = []
        async with (
            client,
            client.messages.stream(
                model="gpt-4o-mini", max_tokens=100, messages=[{"role": "user", "content": "two words"}]
            ) as stream,
        ):
            async for event in stream:
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    words.append(event.delta.text)
                    upstream.client_has_first_word.set()
        return words

    async def scenario() -> list[str]:
        async with ScriptedServer(upstream.reply) as server:
            settings = {
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
                "providers": {"openai": {"api_key": "sk-upstream-test", "base_url": f"{server.url}/v1"}},
            }
            with gateway_process(settings, tmp_path) as gateway:
                return await asyncio.wait_for(read(gateway.url, "any-key"), timeout=60)

    assert asyncio.run(scenario()) == ["first ", "second"]


BIG_ANSWER = 10_000  # words of 4 KiB: ~40 MB, more than every socket buffer on the way can hold


class _FastBigAnswer:
    """An OpenAI upstream that streams ``BIG_ANSWER`` large words as fast as the gateway reads them, then ends
    properly; ``sent`` counts the words its socket has taken."""

    def __init__(self) -> None:
        self.sent = 0

    async def reply(self, _request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        stop = {"id": "chatcmpl-big", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
        for index in range(BIG_ANSWER):
            event = _chat_chunk({"content": _big_word(index)})
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            self.sent += 1
        usage = {"prompt_tokens": 7, "completion_tokens": BIG_ANSWER, "total_tokens": 7 + BIG_ANSWER}
        for event in (
            b"data: "
            + orjson.dumps({**stop, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            + b"\n\n",
            b"data: " + orjson.dumps({**stop, "choices": [], "usage": usage}) + b"\n\n",
            b"data: [DONE]\n\n",
        ):
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True


def _big_word(index: int) -> str:
    return f"{index:05d}" + "x" * 4091


def test_a_client_that_stops_reading_holds_the_upstream_back_and_then_gets_the_whole_answer(tmp_path: Path) -> None:
    """A client that reads nothing for three times the upstream read timeout: meanwhile the gateway stops reading
    the upstream (which cannot send the whole answer) instead of buffering it, and the wait is not an upstream
    timeout; once the client reads again, every word arrives, in order, and the message ends properly."""
    upstream = _FastBigAnswer()

    async def scenario() -> tuple[int, list[str], dict[str, object]]:
        async with ScriptedServer(upstream.reply) as server:
            settings = {
                "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'finops.db'}"},
                "providers": {
                    "openai": {"api_key": "sk-upstream-test", "base_url": f"{server.url}/v1", "timeouts": {"read": 1}}
                },
            }
            with gateway_process(settings, tmp_path) as gateway:
                headers = {"x-api-key": "any-key", "anthropic-version": "2023-06-01", "x-model-provider": "openai"}
                body = {
                    "model": "gpt-4o-mini",
                    "max_tokens": 100,
                    "stream": True,
                    "messages": [{"role": "user", "content": "much"}],
                }
                decoder = SSEDecoder()
                events: list[tuple[str, bytes]] = []
                async with (
                    httpx.AsyncClient(timeout=60) as client,
                    client.stream(
                        "POST", f"{gateway.url}/anthropic/v1/messages", json=body, headers=headers
                    ) as response,
                ):
                    chunks = response.aiter_raw()
                    events += decoder.feed(await anext(chunks))
                    await asyncio.sleep(3)  # the client reads nothing
                    sent_while_paused = upstream.sent
                    async for chunk in chunks:
                        events += decoder.feed(chunk)
        texts = [orjson.loads(data)["delta"]["text"] for name, data in events if name == "content_block_delta"]
        message_delta = next(orjson.loads(data) for name, data in events if name == "message_delta")
        assert events[-1][0] == "message_stop"
        return sent_while_paused, texts, message_delta

    sent_while_paused, texts, message_delta = asyncio.run(scenario())
    assert sent_while_paused < BIG_ANSWER  # held back, not read into the gateway
    assert texts == [_big_word(index) for index in range(BIG_ANSWER)]
    assert message_delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert message_delta["usage"]["output_tokens"] == BIG_ANSWER  # type: ignore[index]
