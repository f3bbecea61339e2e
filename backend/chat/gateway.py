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
  request, the string to sign and one HMAC remain. Credentials are the boto3 session's, read
  frozen on every post (cheap, and a refreshed secret is picked up);
- posts reuse keep-alive ``http.client`` connections, at most ``pool_size`` kept (the fan-out's
  parallelism), with short timeouts (botocore's 60 s defaults would let one dead socket eat a
  whole invocation); a broken connection is discarded and the post reported retryable. Nothing
  retries here: the broadcaster does, bounded and jittered, within the Lambda's remaining time.

The boto3 reference the benchmarks compare it with (a ``post_to_connection`` per recipient)
lives in ``bench/boto3_sender.py``: the zip carries only what the Lambda runs.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple, Protocol
from urllib.parse import quote, urlsplit

from botocore.exceptions import (
    BotoCoreError,
    NoCredentialsError,
    PartialCredentialsError,
)

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
FALLBACK_REGION: Final = "us-east-1"  # only signs requests to a local endpoint; Lambda sets one

SERVICE: Final = "execute-api"
# The only HTTP method the sender uses; the IAM test reads it from here (the resource ARN is
# {api}/{stage}/{METHOD}/@connections/*).
POST_TO_CONNECTION: Final = "POST"
USER_AGENT: Final = "awsome-chat"

_GONE: Final = frozenset({"GoneException"})
_TOO_LARGE: Final = frozenset({"PayloadTooLargeException"})
_FORBIDDEN: Final = frozenset({"ForbiddenException", "AccessDeniedException"})
_THROTTLED: Final = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)

# SigV4's URI encoding of a path segment leaves only these unescaped (botocore's SAFE_CHARS).
_UNRESERVED: Final = "-._~"
_ALGORITHM: Final = "AWS4-HMAC-SHA256"


class Sender(Protocol):
    """Posts one frame to one connection, raising the ``DeliveryFailed`` family on failure."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """Deliver ``data`` as one text frame to ``connection_id``."""


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
        signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
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


class SignedHttpSender:
    """``Sender`` for one endpoint: SigV4-signed POSTs over pooled keep-alive connections."""

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
    ) -> None:
        """``endpoint_url`` is ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``
        (or a local ``http://`` one); raises ``ConfigurationError`` for anything else."""
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
        self._address = (parts.hostname, port)
        self._prefix = f"{parts.path}/@connections/"
        self._canonical_prefix = canonical_uri(self._prefix)
        self._signer = SigV4Signer(
            host_header(parts.scheme, parts.hostname, port), region, credentials, clock=clock
        )
        self._pool_size = max(1, pool_size)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl_context: ssl.SSLContext | None = None
        self.opened = 0
        """TCP connections opened so far (the tests and the benchmark read it)."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """POST ``data`` to ``@connections/{connection_id}``; failures raise ``DeliveryFailed``s."""
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
            headers = self._signer.headers(
                POST_TO_CONNECTION, self._canonical_prefix + canonical, data
            )
        except (NoCredentialsError, PartialCredentialsError) as error:
            raise DeliveryForbidden(connection_id, type(error).__name__) from None
        except BotoCoreError as error:  # a failed credential refresh: worth another try
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        headers["User-Agent"] = USER_AGENT
        connection: http.client.HTTPConnection | None = None
        try:
            connection = self._checkout()
            connection.request(POST_TO_CONNECTION, self._prefix + label, data, headers)
            response = connection.getresponse()
            response.read()  # the whole answer, so that the connection can serve the next post
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out
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
        """Close the idle connections (posts still work afterwards: they open new ones)."""
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
            if not _dropped(connection):
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
                host, port, timeout=self._connect_timeout, context=self._context()
            )
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
        with self._lock:
            self.opened += 1
        connection.connect()  # TCP (and TLS) under the connect timeout, then the read timeout
        if connection.sock is not None:
            connection.sock.settimeout(self._read_timeout)
            # http.client writes the headers and the body in two sends: without this, Nagle's
            # algorithm holds the body back until the headers' delayed ACK (up to 40 ms).
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _context(self) -> ssl.SSLContext:
        # One context per endpoint: loading the CA bundle per connection would cost milliseconds.
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """Whether an idle keep-alive connection was closed by the server (readable means EOF)."""
    sock = connection.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class SenderPool:
    """One sender per endpoint URL, created on first use, thread-safe."""

    def __init__(self, sender_factory: Callable[[str], Sender]) -> None:
        """``sender_factory(endpoint_url)`` makes the sender for one endpoint."""
        self._sender_factory = sender_factory
        self._senders: dict[str, Sender] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_session(cls, session: Any, *, concurrency: int) -> SenderPool:
        """``SignedHttpSender``s signing with a boto3 ``Session``'s credentials and region
        (one pool per container); no boto3 client is created."""
        region = session.region_name or FALLBACK_REGION
        credentials = session_credentials(session)

        def factory(endpoint_url: str) -> Sender:
            return SignedHttpSender(endpoint_url, credentials, region, pool_size=concurrency)

        return cls(factory)

    def sender_for(self, endpoint_url: str) -> Sender:
        """The sender for ``endpoint_url``, e.g. ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``."""
        with self._lock:
            sender = self._senders.get(endpoint_url)
            if sender is None:
                sender = self._sender_factory(endpoint_url)
                self._senders[endpoint_url] = sender
            return sender
