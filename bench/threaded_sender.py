"""The previous backend sender, kept as the fan-out benchmark's reference: ``http.client``.

Before the one-thread flight (``chat.gateway.SignedHttpSender.flight``), the Lambda posted
through ``http.client`` keep-alive connections, one blocking post per thread of
``broadcast``'s pool. This is that sender, unchanged in what it does per post, so the
benchmark can state the new one's CPU per recipient beside it in the same run. It signs with
the product's ``SigV4Signer`` and maps failures with the product's ``classify``: only the
transport differs. ``broadcast`` drives it with threads, as it did (it has no ``flight``).
"""

from __future__ import annotations

import http.client
import select
import socket
import ssl
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from bench.paths import use_backend

use_backend()

from chat.config import FALLBACK_REGION  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.errors import RetryableDeliveryError  # noqa: E402
from chat.gateway import DELETE_CONNECTION, POST_TO_CONNECTION, classify  # noqa: E402
from chat.signed_sender import (  # noqa: E402
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    USER_AGENT,
    SenderPool,
)
from chat.sigv4 import SigV4Signer, canonical_uri, host_header, session_credentials  # noqa: E402


class ThreadedHttpSender:
    """``Sender``: a blocking ``http.client`` post per call, pooled keep-alive connections."""

    def __init__(
        self,
        endpoint_url: str,
        signer: SigV4Signer,
        *,
        pool_size: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``signer`` signs for ``endpoint_url``'s host (see ``threaded_pool``)."""
        parts = urlsplit(endpoint_url.rstrip("/"))
        self._https = parts.scheme == "https"
        self._address = (str(parts.hostname), parts.port or (443 if self._https else 80))
        self._prefix = f"{parts.path}/@connections/"
        self._canonical_prefix = canonical_uri(self._prefix)
        self._signer = signer
        self._pool_size = max(1, pool_size)
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.opened = 0

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """POST ``data``; failures raise the product's ``DeliveryFailed`` family."""
        self._call(connection_id, data, POST_TO_CONNECTION)

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """DELETE the connection; failures raise the product's ``DeliveryFailed`` family."""
        self._call(connection_id, b"", DELETE_CONNECTION)

    def _call(self, connection_id: ConnectionId, data: bytes, method: str) -> None:
        label = quote(connection_id, safe="-._~")
        headers = self._signer.headers(method, self._canonical_prefix + canonical_uri(label), data)
        headers["User-Agent"] = USER_AGENT
        connection: http.client.HTTPConnection | None = None
        try:
            connection = self._checkout()
            connection.request(method, self._prefix + label, data, headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException) as error:
            if connection is not None:
                connection.close()
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        if response.will_close:
            connection.close()
        else:
            self._checkin(connection)
        if 200 <= response.status < 300:
            return
        code = (response.getheader("x-amzn-ErrorType") or "").split(":", 1)[0]
        raise classify(connection_id, response.status, code)

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _checkout(self) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect()
            sock = connection.sock
            if sock is not None:
                poller = select.poll()
                poller.register(sock, select.POLLIN)
                if not poller.poll(0):  # readable while idle means closed
                    return connection
            connection.close()

    def _checkin(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self) -> http.client.HTTPConnection:
        host, port = self._address
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                host, port, timeout=CONNECT_TIMEOUT_SECONDS, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT_SECONDS)
        with self._lock:
            self.opened += 1
        connection.connect()
        if connection.sock is not None:
            connection.sock.settimeout(READ_TIMEOUT_SECONDS)
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


def threaded_pool(
    session: Any, *, concurrency: int, ssl_context: ssl.SSLContext | None = None
) -> SenderPool:
    """A ``SenderPool`` of ``ThreadedHttpSender``s with ``session``'s credentials."""
    region = session.region_name or FALLBACK_REGION
    credentials = session_credentials(session)

    def factory(endpoint_url: str) -> ThreadedHttpSender:
        parts = urlsplit(endpoint_url)
        signer = SigV4Signer(
            host_header(parts.scheme, str(parts.hostname), parts.port), region, credentials
        )
        return ThreadedHttpSender(
            endpoint_url, signer, pool_size=concurrency, ssl_context=ssl_context
        )

    return SenderPool(factory)
