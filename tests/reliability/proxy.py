"""A TCP proxy that can cut the line: put it in front of an emulator to make it unreachable.

``FaultProxy(upstream_port).start()`` listens on a free loopback port and forwards every
connection to ``127.0.0.1:upstream_port``. ``mode``:

- ``"pass"``: forward bytes both ways (the default);
- ``"reset"``: every live connection is reset (RST, both sides) and new ones are reset as soon as
  they are accepted; the client sees "connection reset" / "unavailable";
- ``"blackhole"``: live connections are reset, new ones are accepted and read but never
  forwarded nor answered (a hung network path: the client's own timeout has to fire);
- ``"deaf"``: requests still reach the server, its answers are dropped (live connections are
  kept): a call that was carried out but whose answer was lost.

gRPC keeps one HTTP/2 connection open for many calls, so switching mode also cuts the live
connections; going back to ``"pass"`` lets the client reconnect.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from types import TracebackType

__all__ = ["FaultProxy"]

MODES = ("pass", "reset", "blackhole", "deaf")


def _rst(sock: socket.socket) -> None:
    """Cut ``sock`` now. ``shutdown`` first: a bare ``close`` waits for the thread blocked in
    ``recv`` on it, so the peer would notice nothing; linger 0 then makes the close an RST."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Threads, not asyncio: a handful of connections, and it must not need an event loop."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1") -> None:
        self.upstream = (host, upstream_port)
        self._mode = "pass"
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self.host = f"{host}:{self.port}"
        self._stopped = threading.Event()
        self.accepted = 0
        self.refused = 0  # connections reset or blackholed

    # -- control -------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self._mode = mode
            keep = mode in ("pass", "deaf")
            live, self._live = (set(), self._live) if keep else (set(self._live), set())
        for sock in live:
            _rst(sock)

    def start(self) -> FaultProxy:
        threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with contextlib.suppress(OSError):
            self._listener.close()
        self.set_mode("reset")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- plumbing ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        mode = self._mode
        if mode == "reset":
            self.refused += 1
            _rst(client)
            return
        if mode == "blackhole":
            self.refused += 1
            with self._lock:
                self._live.add(client)
            with contextlib.suppress(OSError):
                while client.recv(65536):
                    pass
            _rst(client)
            return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _rst(client)
            return
        upstream.settimeout(None)
        with self._lock:
            if self._mode not in ("pass", "deaf"):  # switched while connecting
                _rst(client)
                _rst(upstream)
                return
            self._live.update((client, upstream))
        back = threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True)
        back.start()
        self._pump(client, upstream, False)
        back.join()
        with self._lock:
            self._live.discard(client)
            self._live.discard(upstream)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def _pump(self, source: socket.socket, sink: socket.socket, answers: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if answers and self._mode == "deaf":
                    continue  # the server's answer is lost on the way
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
