"""A real local ``@connections`` endpoint for tests: ``POST /{stage}/@connections/{id}``.

It answers like API Gateway's management API: 200 with an empty body on success, and for errors
the status with an ``x-amzn-ErrorType`` header and a JSON ``{"message": ...}`` body, so a real
boto3 client parses them exactly as it would in AWS. It speaks HTTP/1.1 with keep-alive, counts
the TCP connections it accepted, and can drop a connection (``DROP``) or stall (``HANG``)
instead of answering.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

ERROR_TYPES = {
    403: ("ForbiddenException", "Forbidden"),
    410: ("GoneException", None),
    413: ("PayloadTooLargeException", "Request entity too large"),
    429: ("LimitExceededException", "Rate exceeded"),
    500: ("InternalServerErrorException", "Internal server error"),
    503: (None, "Service Unavailable"),  # no error type: the client must go by the status
    400: ("BadRequestException", "Invalid connectionId"),  # not in the documented error list
}
DROP = 0
"""Scripted status: close the TCP connection after reading the request, without answering."""
HANG = -1
"""Scripted status: answer nothing for ``hang_s`` seconds, then close the connection."""


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as it arrived: the raw path and the headers (names lowercased)."""

    path: str
    headers: dict[str, str]
    body: bytes


class ManagementApiServer:
    """Scripted statuses per connection id; records every request and delivered body."""

    def __init__(self, stage: str = "prod", *, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: serve HTTPS with this server context instead of HTTP."""
        self.stage = stage
        self.script: dict[str, list[int]] = {}
        self.requests: dict[str, int] = defaultdict(int)
        self.received: dict[str, list[bytes]] = defaultdict(list)
        self.log: list[Recorded] = []
        self.deleted: list[str] = []
        """Connections closed with DELETE, in order."""
        self.accepted = 0
        """TCP connections accepted so far."""
        self.hang_s = 1.0
        self.latency_s = 0.0
        """How long every POST waits before it is answered (to hold posts in flight)."""
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        """When each connection's POSTs arrived (``time.monotonic``), in order."""
        self.max_concurrent = 0
        """The most POSTs the server was handling at once."""
        self._concurrent = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._scheme = "http" if tls is None else "https"
        if tls is not None:  # the handshake runs in the handler's thread, on first read
            self._httpd.socket = tls.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The base URL to give boto3 (``CONNECTIONS_ENDPOINT``)."""
        host, port = self._httpd.server_address[:2]
        return f"{self._scheme}://{host!s}:{port}/{self.stage}"

    def start(self) -> ManagementApiServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self.disconnect_all()  # handler threads wait on idle keep-alive connections
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def disconnect_all(self) -> None:
        """Close every open client connection from the server's side (idle keep-alives too)."""
        with self._lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by its handler
                sock.shutdown(socket.SHUT_RDWR)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """The JSON frames delivered to ``connection_id``."""
        return [json.loads(body) for body in self.received.get(connection_id, [])]

    def _answer(self, connection_id: str, body: bytes, recorded: Recorded) -> int:
        with self._lock:
            self.log.append(recorded)
            self.arrivals[connection_id].append(time.monotonic())
            self.requests[connection_id] += 1
            self._concurrent += 1
            self.max_concurrent = max(self.max_concurrent, self._concurrent)
        try:
            if self.latency_s:
                time.sleep(self.latency_s)
        finally:
            with self._lock:
                self._concurrent -= 1
        with self._lock:
            steps = self.script.get(connection_id)
            status = steps.pop(0) if steps else 200
            if status == 200:
                self.received[connection_id].append(body)
        return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self
        prefix = f"/{self.stage}/@connections/"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.accepted += 1
                    server._open.add(self.connection)

            def finish(self) -> None:
                with server._lock:
                    server._open.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not self.path.startswith(prefix):
                    self._reply(404, "NotFoundException", "Not Found")
                    return
                recorded = Recorded(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                status = server._answer(unquote(self.path[len(prefix) :]), body, recorded)
                if status in (DROP, HANG):
                    if status == HANG:
                        time.sleep(server.hang_s)
                    self.close_connection = True
                    return
                if status == 200:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                error_type, message = ERROR_TYPES[status]
                self._reply(status, error_type, message)

            def do_DELETE(self) -> None:
                """DeleteConnection: 204 with no body and no Content-Length (a body-less
                status), or the connection's scripted error."""
                if not self.path.startswith(prefix):
                    self._reply(404, "NotFoundException", "Not Found")
                    return
                connection_id = unquote(self.path[len(prefix) :])
                with server._lock:
                    steps = server.script.get(connection_id)
                    status = steps.pop(0) if steps else 200
                    if status == 200:
                        server.deleted.append(connection_id)
                if status == 200:
                    self.send_response(204)
                    self.end_headers()
                    return
                error_type, message = ERROR_TYPES[status]
                self._reply(status, error_type, message)

            def _reply(self, status: int, error_type: str | None, message: str | None) -> None:
                payload = json.dumps({"message": message}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if error_type:
                    self.send_header("x-amzn-ErrorType", error_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler
