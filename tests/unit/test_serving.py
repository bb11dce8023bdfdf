"""The served HTTP protocol's write coalescing (``finops.serving``)."""

from __future__ import annotations

import asyncio
from typing import Any

from finops.serving import _CoalescingTransport


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555)}.get(name, default)


def test_writes_of_one_loop_turn_leave_together_and_later_ones_are_not_held_back() -> None:
    async def scenario() -> None:
        real = RecordingTransport()
        coalescing = _CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        coalescing.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        coalescing.write(b"{}")
        assert real.writes == []  # not yet: the turn has not ended
        await asyncio.sleep(0)
        assert real.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"]
        coalescing.write(b"event: ping\n\n")  # a stream's next chunk, produced in a later turn
        await asyncio.sleep(0)
        assert real.writes[-1] == b"event: ping\n\n"
        assert coalescing.get_extra_info("peername") == ("127.0.0.1", 5555)  # everything else is the real one's

    asyncio.run(scenario())


def test_closing_sends_what_waits_first() -> None:
    async def scenario() -> None:
        real = RecordingTransport()
        coalescing = _CoalescingTransport(real, asyncio.get_running_loop())  # type: ignore[arg-type]
        coalescing.write(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n")
        coalescing.close()
        assert real.writes == [b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n"] and real.closed
        await asyncio.sleep(0)
        assert len(real.writes) == 1  # nothing written twice, nothing after the close

    asyncio.run(scenario())
