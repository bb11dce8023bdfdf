"""A client end for pushed streams (``finops.core.push.ClientChannel``) whose flow a test sets."""

from __future__ import annotations

from collections.abc import Callable


class FakeChannel:
    """Keeps what is written to it; ``leave`` is the client closing its connection."""

    def __init__(self) -> None:
        self.writable = True
        self.written: list[bytes] = []
        self._on_gone: Callable[[], None] | None = None

    def write_chunk(self, data: bytes) -> None:
        self.written.append(data)

    def watch(self, on_writable: Callable[[], None] | None, on_gone: Callable[[], None] | None) -> None:
        self._on_gone = on_gone

    def hold_writes(self) -> None:
        pass  # a fake's writes are all kept anyway

    def release_writes(self) -> None:
        pass

    def leave(self) -> None:
        if self._on_gone is not None:
            self._on_gone()
