"""The keep-alive connections ("links") to one ``@connections`` endpoint, and their pool.

A ``LinkPool`` opens non-blocking TCP connections (TLS over HTTPS, with a verifying context
made once per endpoint), registers them with its one selector, keeps at most ``size`` idle ones
between flights and closes the rest. What travels over a link, and when it is done, is the
flight's business (``flight.py``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import ssl
import time
from enum import Enum

from .connections import ConnectionId


class LinkState(Enum):
    CONNECTING = "connecting"  # TCP connect in progress
    HANDSHAKE = "handshake"  # TLS handshake in progress
    BUSY = "busy"  # request written (or being written), answer awaited
    IDLE = "idle"  # keep-alive, in the pool


class Link:
    """One keep-alive connection, non-blocking, registered with its pool's selector."""

    __slots__ = ("buffer", "connection_id", "expires", "out", "sock", "state", "ticket")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.state = LinkState.CONNECTING
        self.ticket = -1
        self.connection_id = ConnectionId("")
        self.out = b""  # request bytes not yet written
        self.buffer = b""  # answer bytes read so far
        self.expires = 0.0  # monotonic time the current step times out


class LinkPool:
    """The links to one endpoint (``host``, ``port``; TLS when ``https``). Not thread-safe: one
    flight at a time uses it (the sender's lock)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        https: bool,
        size: int,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` replaces the default verifying context (it must verify too)."""
        self.host = host
        self.port = port
        self.https = https
        self.size = max(1, size)
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: list[Link] = []
        self._selector: selectors.BaseSelector | None = None
        self._ssl_context = ssl_context
        if https:
            self.tls_context()  # before any connection: a bad CA bundle shows at once
        self.opened = 0
        """TCP connections opened so far (the tests and the benchmark read it)."""

    @property
    def selector(self) -> selectors.BaseSelector:
        """The selector watching every link of this pool (made on first use)."""
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
        return self._selector

    @property
    def idle(self) -> tuple[Link, ...]:
        """The idle links, oldest first."""
        return tuple(self._idle)

    def tls_context(self) -> ssl.SSLContext:
        """The endpoint's one TLS context: loading the CA bundle per connection would cost
        milliseconds."""
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def take(self) -> Link | None:
        """An idle link, now the caller's (the most recently used), or ``None``."""
        return self._idle.pop() if self._idle else None

    def open(self) -> Link:
        """A new link whose TCP connect has started, due to connect within ``connect_timeout``
        (raises ``OSError`` if it cannot even start)."""
        family, kind, proto, _, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM
        )[0]
        sock = socket.socket(family, kind, proto)
        self.opened += 1
        try:
            sock.setblocking(False)
            # The request goes in one send; no Nagle wait if a big one is split.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            status = sock.connect_ex(address)
            if status not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
                raise OSError(status, os.strerror(status))
        except OSError:
            sock.close()
            raise
        link = Link(sock)
        link.expires = time.monotonic() + self.connect_timeout
        self.selector.register(sock, selectors.EVENT_WRITE, link)
        return link

    def start_tls(self, link: Link) -> None:
        """Wrap ``link``'s connected socket for TLS (handshake not started), watched for reading.
        Raises ``OSError`` or ``ValueError`` (the link is then closed: discard it)."""
        self.selector.unregister(link.sock)
        try:
            link.sock = self.tls_context().wrap_socket(
                link.sock, server_hostname=self.host, do_handshake_on_connect=False
            )
        except (OSError, ValueError):
            link.sock.close()
            raise
        self.selector.register(link.sock, selectors.EVENT_READ, link)

    def keep(self, link: Link) -> None:
        """``link`` answered and stays open: idle, ready for the next request."""
        link.state, link.buffer, link.ticket = LinkState.IDLE, b"", -1
        self._idle.append(link)

    def discard(self, link: Link) -> None:
        """Close ``link`` (busy or idle) and forget it."""
        with contextlib.suppress(ValueError):
            self._idle.remove(link)
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(link.sock)
        link.sock.close()

    def trim(self) -> None:
        """Close the oldest idle links beyond ``size``."""
        while len(self._idle) > self.size:
            self.discard(self._idle[0])

    def close(self) -> None:
        """Close every idle link (the pool still works afterwards: it opens new ones)."""
        idle, self._idle = self._idle, []
        for link in idle:
            self.discard(link)
