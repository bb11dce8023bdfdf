"""A TCP proxy a test can turn into a black hole: connections stay open and bytes are accepted, but nothing is
forwarded either way (no RST, no FIN), as when a firewall drops packets or a database host freezes."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class BlackHoleProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.black_hole = threading.Event()
        self._stop = threading.Event()
        self._pairs: dict[socket.socket, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._thread.start()

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        if self.black_hole.is_set():
            self._pairs[client] = client  # held open, never answered
            self._selector.register(client, selectors.EVENT_READ)
            return
        upstream = socket.create_connection(self._target)
        for sock in (client, upstream):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        self._pairs[client], self._pairs[upstream] = upstream, client

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if self.black_hole.is_set():
                    continue  # swallowed: the peer waits for an answer that never comes
                peer = self._pairs.get(sock)
                if not data or peer is None or peer is sock:
                    self._close(sock)
                    continue
                try:
                    peer.sendall(data)
                except OSError:
                    self._close(sock)

    def _close(self, sock: socket.socket) -> None:
        peer = self._pairs.pop(sock, None)
        for each in (sock, peer):
            if each is None:
                continue
            self._pairs.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            each.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in list(self._pairs):
            sock.close()
        self._listener.close()


@contextmanager
def black_hole_proxy(target_host: str, target_port: int) -> Iterator[BlackHoleProxy]:
    proxy = BlackHoleProxy(target_host, target_port)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
