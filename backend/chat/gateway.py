"""The API Gateway management API (``@connections``): the only module that posts to clients.

A post is ``POST {endpoint}/@connections/{connectionId}`` with the frame as the body, signed
with Signature Version 4 for the service ``execute-api`` ("Use @connections commands in your
backend service"). Every failure becomes a domain error (see ``errors.py``) following the API
reference's error list, in one place, ``classify``: 410 (``GoneException``) ``ConnectionGone``,
413 ``PayloadTooLarge``, 403 ``DeliveryForbidden``, 429, any 5xx and network errors
``RetryableDeliveryError``. The broadcaster decides what to do with them.

``SignedHttpSender`` is what the Lambda uses. The fan-out benchmark found a boto3 client call
costs about 2 ms of CPU (event hooks, validation, parsing), which made a broadcast CPU-bound, so
the sender signs and sends the request itself with the standard library:

- signing does the expensive parts once: the payload's hash once per broadcast (every recipient
  gets the same bytes), the derived key once per (day, secret); per post only the canonical
  request, the string to sign and one HMAC remain. Credentials are the botocore session's, read
  frozen on every post (cheap, and a refreshed secret is picked up);
- many posts are in flight from one thread (``flight``): non-blocking keep-alive connections
  (TLS over HTTPS, with a verifying context made once per endpoint) watched by one selector,
  each request written in one send, each answer read for its status, error type and
  keep-alive only. A thread per post in flight cost more CPU in thread switches and
  ``http.client``'s header parsing than the post itself (``docs/performance.md``); at most
  ``pool_size`` idle connections are kept;
- short timeouts (botocore's 60 s defaults would let one dead socket eat a whole invocation);
  a broken or timed-out connection is discarded and the post reported retryable. Nothing
  retries here: the broadcaster does, bounded and jittered, within the Lambda's remaining time.

The boto3 reference the benchmarks compare it with (a ``post_to_connection`` per recipient)
lives in ``bench/boto3_sender.py``: the zip carries only what the Lambda runs.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import http.client
import itertools
import os
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from enum import Enum
from typing import Any, Final, NamedTuple, Protocol, cast, runtime_checkable
from urllib.parse import quote, urlsplit

from botocore.exceptions import (
    BotoCoreError,
    NoCredentialsError,
    PartialCredentialsError,
)

from .config import FALLBACK_REGION
from .connections import ConnectionId
from .errors import (
    ConfigurationError,
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)

CONNECT_TIMEOUT_SECONDS: Final = 1.5
READ_TIMEOUT_SECONDS: Final = 4.0

SERVICE: Final = "execute-api"
# The only HTTP method the sender uses; the IAM test reads it from here (the resource ARN is
# {api}/{stage}/{METHOD}/@connections/*).
POST_TO_CONNECTION: Final = "POST"
# DeleteConnection: closes a connection from the server side ("Use @connections commands in
# your backend service"); used for connections that keep being refused.
DELETE_CONNECTION: Final = "DELETE"
USER_AGENT: Final = "awsome-chat"

_GONE: Final = frozenset({"GoneException"})
_TOO_LARGE: Final = frozenset({"PayloadTooLargeException"})
_FORBIDDEN: Final = frozenset({"ForbiddenException", "AccessDeniedException"})
_THROTTLED: Final = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)

# Statuses whose answer never has a body, whatever its headers say.
_NO_BODY: Final = frozenset({204, 304})
# SigV4's URI encoding of a path segment leaves only these unescaped (botocore's SAFE_CHARS).
_UNRESERVED: Final = "-._~"
_ALGORITHM: Final = "AWS4-HMAC-SHA256"


class Sender(Protocol):
    """Posts one frame to one connection, raising the ``DeliveryFailed`` family on failure."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """Deliver ``data`` as one text frame to ``connection_id``."""

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """Close ``connection_id`` from the server side (API Gateway then runs ``$disconnect``)."""


def classify(connection_id: str, status: int | None, code: str) -> DeliveryFailed:
    """Map a failed ``PostToConnection`` (HTTP status, AWS error code) to a domain error.

    The error code (``x-amzn-ErrorType``) wins when known; otherwise the status decides.
    """
    detail = f"{code or 'error'} (HTTP {status})"
    if code in _GONE or status == 410:
        return ConnectionGone(connection_id, detail)
    if code in _TOO_LARGE or status == 413:
        return PayloadTooLarge(connection_id, detail)
    if code in _FORBIDDEN or status == 403:
        return DeliveryForbidden(connection_id, detail)
    if code in _THROTTLED or status == 429 or (status is not None and status >= 500):
        return RetryableDeliveryError(connection_id, detail)
    return DeliveryFailed(connection_id, detail)


# --- Signature Version 4 ------------------------------------------------------------------------


class FrozenCredentials(Protocol):
    """botocore's ``ReadOnlyCredentials``: one consistent snapshot of the credentials."""

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def token(self) -> str | None: ...


def session_credentials(session: Any) -> Callable[[], FrozenCredentials]:
    """Read ``session``'s credentials frozen, resolving the provider chain on first use only.

    Raises ``NoCredentialsError`` while there are none (resolution is tried again next time).
    ``get_frozen_credentials`` refreshes refreshable credentials when they near expiry.
    """
    resolved: list[Any] = []

    def current() -> FrozenCredentials:
        if not resolved:
            credentials = session.get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            resolved.append(credentials)
        frozen: FrozenCredentials = resolved[0].get_frozen_credentials()
        return frozen

    return current


class _SigningKey(NamedTuple):
    day: str
    secret: str
    key: bytes


class SigV4Signer:
    """Signs requests for one host, region and service as botocore's ``SigV4Auth`` does.

    Signed headers are ``host``, ``x-amz-date`` and, with temporary credentials,
    ``x-amz-security-token`` (what a boto3 client signs for ``PostToConnection``). Thread-safe:
    the caches are immutable tuples swapped whole.
    """

    def __init__(
        self,
        host: str,
        region: str,
        credentials: Callable[[], FrozenCredentials],
        *,
        service: str = SERVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``host`` is the ``Host`` header's value (lowercase, port only when not the default)."""
        self._host = host
        self._region = region
        self._service = service
        self._credentials = credentials
        self._clock = clock
        self._stamp: tuple[int, str] = (-1, "")
        self._key = _SigningKey("", "", b"")
        self._payload: tuple[bytes | None, str] = (None, "")

    def headers(self, method: str, canonical_uri: str, payload: bytes) -> dict[str, str]:
        """The headers that sign ``method canonical_uri`` with ``payload`` (no query string).

        ``canonical_uri`` is the path as SigV4 canonicalises it (see ``canonical_uri``).
        """
        amz_date = self._amz_date()
        day = amz_date[:8]
        credentials = self._credentials()
        key = self._signing_key(day, credentials.secret_key)
        token = credentials.token
        if token:
            signed = "host;x-amz-date;x-amz-security-token"
            canonical_headers = (
                f"host:{self._host}\nx-amz-date:{amz_date}\nx-amz-security-token:{token}\n"
            )
        else:
            signed = "host;x-amz-date"
            canonical_headers = f"host:{self._host}\nx-amz-date:{amz_date}\n"
        canonical_request = (
            f"{method}\n{canonical_uri}\n\n{canonical_headers}\n{signed}\n"
            f"{self._payload_hash(payload)}"
        )
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        string_to_sign = (
            f"{_ALGORITHM}\n{amz_date}\n{scope}\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        signature = hmac.digest(key, string_to_sign.encode(), "sha256").hex()  # one C call
        headers = {
            "Host": self._host,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
        }
        if token:
            headers["X-Amz-Security-Token"] = token
        return headers

    def _amz_date(self) -> str:
        second = int(self._clock())
        stamp = self._stamp
        if stamp[0] != second:
            stamp = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
            self._stamp = stamp
        return stamp[1]

    def _signing_key(self, day: str, secret: str) -> bytes:
        cached = self._key
        if cached.day == day and cached.secret == secret:
            return cached.key
        key = f"AWS4{secret}".encode()
        for part in (day, self._region, self._service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = _SigningKey(day, secret, key)
        return key

    def _payload_hash(self, payload: bytes) -> str:
        # The broadcaster posts the same bytes object to every recipient: hash it once.
        cached = self._payload
        if cached[0] is payload:
            return cached[1]
        digest = hashlib.sha256(payload).hexdigest()
        self._payload = (payload, digest)
        return digest


def canonical_uri(path: str) -> str:
    """SigV4's canonical URI of an already URI-encoded request ``path``, as botocore makes it.

    botocore encodes the path it sends once more for every service but S3, so ``%3D`` on the
    wire is ``%253D`` here and ``@`` is ``%40``; AWS verifies exactly that form.
    """
    return quote(path, safe="/~")


def host_header(scheme: str, host: str, port: int | None) -> str:
    """The ``Host`` header botocore signs: lowercase, the port only when not the default."""
    host = host.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        return f"{host}:{port}"
    return host


# --- the sender -----------------------------------------------------------------------------


class Flight(Protocol):
    """Posts in flight together, driven from one thread (see ``SignedHttpSender.flight``)."""

    @property
    def in_flight(self) -> int:
        """Posts started and not yet reported by ``wait``."""

    def start(
        self, connection_id: ConnectionId, data: bytes, method: str = POST_TO_CONNECTION
    ) -> int:
        """Start posting ``data`` to ``connection_id`` (or another ``@connections`` call:
        ``method``); returns the call's ticket. Never raises: a call that cannot even start is
        reported by the next ``wait``."""

    def wait(self, timeout: float | None) -> list[tuple[int, DeliveryFailed | None]]:
        """Wait up to ``timeout`` seconds (``None``: until one finishes) and return the posts
        that finished, by ticket, each with ``None`` (delivered) or its domain error."""


@runtime_checkable
class MultiplexingSender(Sender, Protocol):
    """A ``Sender`` that can also keep many posts in flight from one thread."""

    def flight(self) -> AbstractContextManager[Flight]:
        """A ``Flight``; leaving it abandons what is still in flight (its connections closed)."""


class _State(Enum):
    CONNECTING = "connecting"  # TCP connect in progress
    HANDSHAKE = "handshake"  # TLS handshake in progress
    BUSY = "busy"  # request written (or being written), answer awaited
    IDLE = "idle"  # keep-alive, in the pool


class _Link:
    """One keep-alive connection, non-blocking, registered with the sender's selector."""

    __slots__ = ("buffer", "connection_id", "expires", "out", "sock", "state", "ticket")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.state = _State.CONNECTING
        self.ticket = -1
        self.connection_id = ConnectionId("")
        self.out = b""  # request bytes not yet written
        self.buffer = b""  # answer bytes read so far
        self.expires = 0.0  # monotonic time the current step times out


def parse_answer(buffer: bytes, *, eof: bool = False) -> tuple[int, str, bool] | None:
    """The HTTP/1.1 answer in ``buffer`` once complete, as (status, ``x-amzn-ErrorType`` up to
    its first ':', whether the server closes the connection), or ``None`` while more bytes are
    needed. ``eof``: the server closed the connection.

    Only what ``classify`` and keep-alive need is read: ``@connections`` answers are small and
    carry ``Content-Length`` (chunked and close-delimited bodies are understood too).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith("HTTP/"):
        raise http.client.BadStatusLine(lines[0])
    status = int(status_line[1])
    will_close = status_line[0] == "HTTP/1.0"
    length: int | None = None
    chunked = False
    code = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif name == "connection":
            will_close = value.strip().lower() == "close"
        elif name == "x-amzn-errortype":
            code = value.strip().split(":", 1)[0]
    body = len(buffer) - end - 4
    if status in _NO_BODY:  # DeleteConnection's 204 ends with its head (RFC 9112, 6.3)
        complete = True
    elif chunked:
        complete = buffer.endswith(b"0\r\n\r\n")
    elif length is not None:
        complete = body >= length
    else:  # delimited by the connection's end
        complete, will_close = eof, True
    return (status, code, will_close) if complete else None


class SignedHttpSender:
    """``Sender`` for one endpoint: SigV4-signed POSTs over pooled keep-alive connections,
    many in flight from one thread (``flight``) through a selector, no thread per post."""

    def __init__(
        self,
        endpoint_url: str,
        credentials: Callable[[], FrozenCredentials],
        region: str,
        *,
        pool_size: int,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``endpoint_url`` is ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``
        (or a local ``http://`` one); raises ``ConfigurationError`` for anything else.

        ``ssl_context`` replaces the default verifying context (tests and benchmarks trust a
        local certificate with it; it must verify too).
        """
        parts = urlsplit(endpoint_url.rstrip("/"))
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme not in {"http", "https"} or not parts.hostname or port == -1:
            raise ConfigurationError(
                f"the @connections endpoint must be an http(s) URL such as "
                f"https://{{api}}.execute-api.{{region}}.amazonaws.com/{{stage}}, "
                f"got {endpoint_url!r}"
            )
        self._https = parts.scheme == "https"
        self._address = (parts.hostname, port or (443 if self._https else 80))
        self._prefix = f"{parts.path}/@connections/"
        self._canonical_prefix = canonical_uri(self._prefix)
        self._signer = SigV4Signer(
            host_header(parts.scheme, parts.hostname, port), region, credentials, clock=clock
        )
        self._pool_size = max(1, pool_size)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: list[_Link] = []
        self._lock = threading.Lock()  # one flight at a time
        self._selector: selectors.BaseSelector | None = None
        self._ssl_context = ssl_context
        if self._https:
            self._context()  # before any connection: a bad CA bundle shows at once
        self.opened = 0
        """TCP connections opened so far (the tests and the benchmark read it)."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """POST ``data`` to ``@connections/{connection_id}``; failures raise ``DeliveryFailed``s."""
        self._call(connection_id, data, POST_TO_CONNECTION)

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """DELETE ``@connections/{connection_id}``; failures raise ``DeliveryFailed``s (410:
        ``ConnectionGone``, already closed)."""
        self._call(connection_id, b"", DELETE_CONNECTION)

    def _call(self, connection_id: ConnectionId, data: bytes, method: str) -> None:
        with self.flight() as flight:
            flight.start(connection_id, data, method)
            while not (finished := flight.wait(None)):
                pass
        error = finished[0][1]
        if error is not None:
            raise error

    @contextlib.contextmanager
    def flight(self) -> Iterator[Flight]:
        """Posts in flight together from this thread; one flight at a time per sender."""
        with self._lock:
            if self._selector is None:
                self._selector = selectors.DefaultSelector()
            flight = _Flight(self, self._selector)
            try:
                yield flight
            finally:
                flight.land()

    def close(self) -> None:
        """Close the idle connections (posts still work afterwards: they open new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
            for link in idle:
                self._discard(link)

    def request(
        self, connection_id: ConnectionId, data: bytes, method: str = POST_TO_CONNECTION
    ) -> bytes:
        """The signed request's bytes, head and body, written in one send. Raises
        ``DeliveryForbidden`` without credentials, ``RetryableDeliveryError`` if their refresh
        failed."""
        if connection_id.isascii() and connection_id.replace("=", "").isalnum():
            # API Gateway's ids (base64 letters and '='): skip quote(), a tenth of the signing
            label, canonical = (
                connection_id.replace("=", "%3D"),
                connection_id.replace("=", "%253D"),
            )
        else:
            label = quote(connection_id, safe=_UNRESERVED)
            canonical = canonical_uri(label)
        try:
            headers = self._signer.headers(method, self._canonical_prefix + canonical, data)
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise DeliveryForbidden(connection_id, type(error).__name__) from None
        except BotoCoreError as error:  # a failed credential refresh: worth another try
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        return (
            f"{method} {self._prefix}{label} HTTP/1.1\r\n{head}"
            f"User-Agent: {USER_AGENT}\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode() + data

    def _context(self) -> ssl.SSLContext:
        # One context per endpoint: loading the CA bundle per connection would cost milliseconds.
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self, selector: selectors.BaseSelector) -> _Link:
        """A new link whose TCP connect has started (raises ``OSError`` if it cannot)."""
        host, port = self._address
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
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
        link = _Link(sock)
        selector.register(sock, selectors.EVENT_WRITE, link)
        return link

    def _discard(self, link: _Link) -> None:
        if self._selector is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(link.sock)
        link.sock.close()


class _Flight:
    """``Flight`` over a ``SignedHttpSender``'s links; ``land`` returns them to its pool."""

    def __init__(self, sender: SignedHttpSender, selector: selectors.BaseSelector) -> None:
        self._sender = sender
        self._selector = selector
        self._busy: dict[_Link, None] = {}  # ordered: the oldest step times out first
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
            request = self._sender.request(connection_id, data, method)
            link = self._sender._idle.pop() if self._sender._idle else None
            if link is None:
                link = self._sender._connect(self._selector)
                link.expires = time.monotonic() + self._sender._connect_timeout
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
        if link.state is _State.IDLE:
            link.state = _State.BUSY
            link.expires = time.monotonic() + self._sender._read_timeout
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
            self._sender._discard(link)
        idle = self._sender._idle
        while len(idle) > self._sender._pool_size:
            self._sender._discard(idle.pop(0))

    # --- events ---

    def _sweep(self) -> None:
        """Drop idle links the server closed since the last flight (a frozen Lambda's may be)."""
        for key, _ in self._selector.select(0):
            self._ready(key.data, selectors.EVENT_READ)

    def _ready(self, link: _Link, events: int) -> None:
        if link.state is _State.IDLE:
            self._idle_readable(link)
        elif link.state is _State.CONNECTING:
            self._connected(link)
        elif link.state is _State.HANDSHAKE:
            self._handshake(link)
        elif link.out and events & selectors.EVENT_WRITE:
            self._write(link)
        else:
            self._read(link)

    def _idle_readable(self, link: _Link) -> None:
        try:
            data = link.sock.recv(4096)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
            return  # a TLS 1.3 session ticket, read and kept: the link is alive
        except OSError:
            data = b""
        # End of stream, or bytes nobody asked for: either way the link is not reusable.
        del data
        self._sender._idle.remove(link)
        self._sender._discard(link)

    def _connected(self, link: _Link) -> None:
        status = link.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if status:
            self._fail(link, type(OSError(status, os.strerror(status))).__name__)
            return
        if not self._sender._https:
            self._sending(link)
            return
        self._selector.unregister(link.sock)
        try:
            link.sock = self._sender._context().wrap_socket(
                link.sock,
                server_hostname=self._sender._address[0],
                do_handshake_on_connect=False,
            )
        except (OSError, ValueError) as error:
            link.sock.close()
            self._busy.pop(link)
            self._finished.append(
                (link.ticket, RetryableDeliveryError(link.connection_id, type(error).__name__))
            )
            return
        self._selector.register(link.sock, selectors.EVENT_READ, link)
        link.state = _State.HANDSHAKE
        self._handshake(link)

    def _handshake(self, link: _Link) -> None:
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

    def _sending(self, link: _Link) -> None:
        link.state = _State.BUSY
        link.expires = time.monotonic() + self._sender._read_timeout
        self._selector.modify(link.sock, selectors.EVENT_READ, link)
        self._write(link)

    def _write(self, link: _Link) -> None:
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

    def _read(self, link: _Link) -> None:
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
            self._sender._discard(link)
        else:
            link.state, link.buffer, link.ticket = _State.IDLE, b"", -1
            self._sender._idle.append(link)
        if 200 <= status < 300:
            self._finished.append((ticket, None))
        else:
            self._finished.append((ticket, classify(connection_id, status, code)))

    def _fail(self, link: _Link, reason: str) -> None:
        """The link broke or timed out: discard it, the post is retryable (never resent here)."""
        self._busy.pop(link, None)
        self._sender._discard(link)
        self._finished.append((link.ticket, RetryableDeliveryError(link.connection_id, reason)))


class SenderPool:
    """One sender per endpoint URL, created on first use, thread-safe."""

    def __init__(self, sender_factory: Callable[[str], Sender]) -> None:
        """``sender_factory(endpoint_url)`` makes the sender for one endpoint."""
        self._sender_factory = sender_factory
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_session(
        cls, session: Any, *, concurrency: int, ssl_context: ssl.SSLContext | None = None
    ) -> SenderPool:
        """``SignedHttpSender``s signing with a boto3 ``Session``'s credentials and region
        (one pool per container); no boto3 client is created. ``ssl_context``: see
        ``SignedHttpSender`` (the Lambda passes none)."""
        return cls.signing(
            session_credentials(session),
            session.region_name or FALLBACK_REGION,
            concurrency=concurrency,
            ssl_context=ssl_context,
        )

    @classmethod
    def signing(
        cls,
        credentials: Callable[[], FrozenCredentials],
        region: str,
        *,
        concurrency: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> SenderPool:
        """``SignedHttpSender``s signing with ``credentials`` (see ``session_credentials``) for
        ``region``: what ``from_session`` builds, for a caller holding a botocore session."""

        def factory(endpoint_url: str) -> Sender:
            return SignedHttpSender(
                endpoint_url, credentials, region, pool_size=concurrency, ssl_context=ssl_context
            )

        return cls(factory)

    def sender_for(self, endpoint_url: str) -> Sender:
        """The sender for ``endpoint_url``, e.g. ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``."""
        with self._lock:
            sender = self._senders.get(endpoint_url)
            if sender is None:
                sender = self._sender_factory(endpoint_url)
                self._senders[endpoint_url] = sender
            return sender
