"""The HTTP request handler: reads a request, carries out connection faults, writes JSON."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from standin.admin import ADMIN_PREFIX, handle_admin
from standin.backend import Backend
from standin.dispatch import Outcome, Request, answer, no_route, route_request
from standin.faults import FaultRule

__all__ = ["RequestHandler", "StandInHTTPServer"]


class StandInHTTPServer(ThreadingHTTPServer):
    """A threading server that knows its :class:`Backend` and its open connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: Backend) -> None:
        self.backend = backend
        self.connections: set[socket.socket] = set()
        super().__init__(address, RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open (keep-alive) connection so no client is served after stop."""
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (a timeout on their side) are normal here; anything else is not."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """Serves the Google REST surface and the ``/_standin/`` admin endpoints."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: avoid the delayed-ACK stall
    server: StandInHTTPServer
    _reset_socket = False

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the call log (``/_standin/calls``) records what matters."""

    def finish(self) -> None:
        super().finish()
        if self._reset_socket:
            self.connection.close()  # SO_LINGER 0: the peer sees a connection reset

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.startswith(ADMIN_PREFIX):
            self._send(*handle_admin(self.server.backend, self.command, path, query, raw))
        else:
            repeated: dict[str, list[str]] = {}
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                repeated.setdefault(name, []).append(value)
            self._serve_api(Request(self.command, path, query, raw, repeated))

    def _serve_api(self, request: Request) -> None:
        backend = self.server.backend
        routed = route_request(request)
        entry = backend.calls.start(
            routed[0].method_id if routed else None, request.http, request.path
        )
        if routed is None:
            self._answer(entry, no_route(request), None)
            return
        route, params = routed
        rule = backend.faults.fault_for(route.method_id)
        if rule is None or rule.http_code is not None:
            self._answer(entry, answer(backend.world, route, params, request, rule), rule)
            return
        if rule.fault == "reset":
            self._reset()
            backend.calls.finish(entry, None, rule.fault)
            return
        if rule.fault == "cut":
            outcome = answer(backend.world, route, params, request, None)  # carried out...
            backend.calls.finish(entry, None, rule.fault)
            self._send_cut(outcome.body)  # ...but its answer is cut off mid-body
            return
        backend.stopping.wait(rule.delay)  # slow or timeout; stop() cuts the wait short
        if rule.fault == "timeout":
            self.close_connection = True
            backend.calls.finish(entry, None, rule.fault)
            return
        self._answer(entry, answer(backend.world, route, params, request, None), rule)

    def _answer(self, entry: dict[str, Any], outcome: Outcome, rule: FaultRule | None) -> None:
        # Log first: a test reading the call log right after its answer must see the status.
        self.server.backend.calls.finish(entry, outcome.status, rule.fault if rule else None)
        self._send(outcome.status, outcome.body)

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self._reset_socket = True

    def _send_cut(self, body: Any) -> None:
        """A 200 whose chunked body stops halfway, without its last chunk: the peer sees the
        connection end in the middle of the answer."""
        data = json.dumps(body, indent=2).encode("utf-8") + b"\n"
        half = data[: max(1, len(data) // 2)]
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"%x\r\n%s" % (len(data), half))  # announces all of it, sends half
        self.wfile.flush()
        self.close_connection = True

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, indent=2).encode("utf-8") + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
