"""The one-thread flight: many ``@connections`` requests in flight over non-blocking keep-alive
connections (TLS over HTTPS) watched by one selector, each request written in one send, each
answer read for its status, error type and keep-alive only (``http_answers.parse_answer``).

A thread per post in flight cost more CPU in thread switches and ``http.client``'s header
parsing than the post itself (``docs/performance.md``). A broken or timed-out connection is
discarded and the post reported retryable; nothing retries here (the broadcaster does).
"""

from __future__ import annotations

import http.client
import itertools
import os
import selectors
import socket
import ssl
import time
from collections.abc import Callable
from typing import cast

from .connections import ConnectionId
from .errors import DeliveryFailed, RetryableDeliveryError
from .gateway import POST_TO_CONNECTION, classify
from .http_answers import parse_answer
from .links import Link, LinkPool, LinkState

# Builds a call's request bytes: (connection id, body, HTTP method) -> head and body. Raises a
# ``DeliveryFailed`` when it cannot (no credentials).
RequestBuilder = Callable[[ConnectionId, bytes, str], bytes]


class SelectorFlight:
    """``Flight`` over the links of a ``LinkPool``, each call's bytes made by ``request``;
    ``land`` returns the idle links to the pool."""

    def __init__(self, links: LinkPool, request: RequestBuilder) -> None:
        self._links = links
        self._request = request
        self._selector = links.selector
        self._busy: dict[Link, None] = {}  # ordered: the oldest step times out first
        self._finished: list[tuple[int, DeliveryFailed | None]] = []
        self._tickets = itertools.count()
        self._sweep()

    @property
    def in_flight(self) -> int:
        return len(self._busy) + len(self._finished)

    def start(
        self, connection_id: ConnectionId, data: bytes, method: str = POST_TO_CONNECTION
    ) -> int:
        ticket = next(self._tickets)
        try:
            request = self._request(connection_id, data, method)
            link = self._links.take() or self._links.open()
        except DeliveryFailed as error:
            self._finished.append((ticket, error))
            return ticket
        except OSError as error:  # refused at once, no address, out of descriptors
            self._finished.append(
                (ticket, RetryableDeliveryError(connection_id, type(error).__name__))
            )
            return ticket
        link.ticket, link.connection_id, link.out, link.buffer = ticket, connection_id, request, b""
        self._busy[link] = None
        if link.state is LinkState.IDLE:
            link.state = LinkState.BUSY
            link.expires = time.monotonic() + self._links.read_timeout
            self._write(link)
        return ticket

    def wait(self, timeout: float | None) -> list[tuple[int, DeliveryFailed | None]]:
        if not self._finished:
            if self._busy:
                first_expiry = min(link.expires for link in self._busy)
                limit = max(0.0, first_expiry - time.monotonic())
                timeout = limit if timeout is None else min(timeout, limit)
            elif timeout is None:
                return []  # nothing in flight: nothing would ever finish
            for key, events in self._selector.select(timeout):
                self._ready(key.data, events)
            now = time.monotonic()
            for link in [link for link in self._busy if link.expires <= now]:
                self._fail(link, "TimeoutError")
        finished, self._finished = self._finished, []
        return finished

    def land(self) -> None:
        """Close what is still in flight; keep at most ``pool_size`` idle links."""
        for link in list(self._busy):
            self._busy.pop(link)
            self._links.discard(link)
        self._links.trim()

    # --- events ---

    def _sweep(self) -> None:
        """Drop idle links the server closed since the last flight (a frozen Lambda's may be)."""
        for key, _ in self._selector.select(0):
            self._ready(key.data, selectors.EVENT_READ)

    def _ready(self, link: Link, events: int) -> None:
        if link.state is LinkState.IDLE:
            self._idle_readable(link)
        elif link.state is LinkState.CONNECTING:
            self._connected(link)
        elif link.state is LinkState.HANDSHAKE:
            self._handshake(link)
        elif link.out and events & selectors.EVENT_WRITE:
            self._write(link)
        else:
            self._read(link)

    def _idle_readable(self, link: Link) -> None:
        try:
            data = link.sock.recv(4096)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # a TLS 1.3 session ticket, read and kept: the link is alive
        except OSError:
            data = b""
        # End of stream, or bytes nobody asked for: either way the link is not reusable.
        del data
        self._links.discard(link)

    def _connected(self, link: Link) -> None:
        status = link.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if status:
            self._fail(link, type(OSError(status, os.strerror(status))).__name__)
            return
        if not self._links.https:
            self._sending(link)
            return
        try:
            self._links.start_tls(link)
        except (OSError, ValueError) as error:
            self._fail(link, type(error).__name__)
            return
        link.state = LinkState.HANDSHAKE
        self._handshake(link)

    def _handshake(self, link: Link) -> None:
        sock = cast(ssl.SSLSocket, link.sock)  # wrapped in _connected
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self._selector.modify(sock, selectors.EVENT_READ, link)
            return
        except ssl.SSLWantWriteError:
            self._selector.modify(sock, selectors.EVENT_WRITE, link)
            return
        except (OSError, ValueError) as error:  # a certificate that does not verify, a reset
            self._fail(link, type(error).__name__)
            return
        self._sending(link)

    def _sending(self, link: Link) -> None:
        link.state = LinkState.BUSY
        link.expires = time.monotonic() + self._links.read_timeout
        self._selector.modify(link.sock, selectors.EVENT_READ, link)
        self._write(link)

    def _write(self, link: Link) -> None:
        try:
            sent = link.sock.send(link.out)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            sent = 0
        except OSError as error:
            self._fail(link, type(error).__name__)
            return
        link.out = link.out[sent:]
        if link.out:  # a big frame: the rest when the socket can take it
            self._selector.modify(link.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, link)
        elif sent and not link.buffer:
            # Written out after a partial send: back to reading only.
            key = self._selector.get_key(link.sock)
            if key.events != selectors.EVENT_READ:
                self._selector.modify(link.sock, selectors.EVENT_READ, link)

    def _read(self, link: Link) -> None:
        sock = link.sock
        try:
            chunk = sock.recv(65536)
            while isinstance(sock, ssl.SSLSocket) and sock.pending():
                chunk += sock.recv(65536)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as error:  # reset
            self._fail(link, type(error).__name__)
            return
        link.buffer += chunk
        try:
            answer = parse_answer(link.buffer, eof=not chunk)
        except (ValueError, http.client.HTTPException) as error:
            self._fail(link, type(error).__name__)
            return
        if answer is None:
            if not chunk:  # closed before a whole answer: dropped mid-post
                self._fail(link, "RemoteDisconnected")
            return
        self._busy.pop(link)
        ticket, connection_id = link.ticket, link.connection_id
        status, code, will_close = answer
        if will_close:
            self._links.discard(link)
        else:
            self._links.keep(link)
        if 200 <= status < 300:
            self._finished.append((ticket, None))
        else:
            self._finished.append((ticket, classify(connection_id, status, code)))

    def _fail(self, link: Link, reason: str) -> None:
        """The link broke or timed out: discard it, the post is retryable (never resent here)."""
        self._busy.pop(link, None)
        self._links.discard(link)
        self._finished.append((link.ticket, RetryableDeliveryError(link.connection_id, reason)))
