"""A real local ``@connections`` endpoint for tests: ``POST /{stage}/@connections/{id}``.

It answers like API Gateway's management API: 200 with an empty body on success, and for errors
the status with an ``x-amzn-ErrorType`` header and a JSON ``{"message": ...}`` body, so a real
boto3 client parses them exactly as it would in AWS.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
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
}


class ConnectionsServer:
    """Scripted statuses per connection id; records every request and delivered body."""

    def __init__(self, stage: str = "prod") -> None:
        self.stage = stage
        self.script: dict[str, list[int]] = {}
        self.requests: dict[str, int] = defaultdict(int)
        self.received: dict[str, list[bytes]] = defaultdict(list)
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The base URL to give boto3 (``CONNECTIONS_ENDPOINT``)."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/{self.stage}"

    def start(self) -> ConnectionsServer:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """The JSON frames delivered to ``connection_id``."""
        return [json.loads(body) for body in self.received.get(connection_id, [])]

    def _answer(self, connection_id: str, body: bytes) -> int:
        with self._lock:
            self.requests[connection_id] += 1
            steps = self.script.get(connection_id)
            status = steps.pop(0) if steps else 200
            if status == 200:
                self.received[connection_id].append(body)
        return status

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self
        prefix = f"/{self.stage}/@connections/"

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if not self.path.startswith(prefix):
                    self._reply(404, "NotFoundException", "Not Found")
                    return
                status = server._answer(unquote(self.path[len(prefix) :]), body)
                if status == 200:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
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
