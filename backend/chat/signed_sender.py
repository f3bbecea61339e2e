"""``SignedHttpSender``: the ``Sender`` the Lambda uses, and ``SenderPool``, one per endpoint.

The fan-out benchmark found a boto3 client call costs about 2 ms of CPU (event hooks,
validation, parsing), which made a broadcast CPU-bound, so the sender signs (``sigv4``) and sends
the request itself with the standard library, many in flight from one thread (``flight``); at
most ``pool_size`` idle connections are kept. Timeouts are short: botocore's 60 s defaults would
let one dead socket eat a whole invocation.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final
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
    DeliveryForbidden,
    RetryableDeliveryError,
)
from .flight import SelectorFlight
from .gateway import DELETE_CONNECTION, POST_TO_CONNECTION, Flight, Sender
from .links import LinkPool
from .sigv4 import FrozenCredentials, SigV4Signer, canonical_uri, host_header, session_credentials

CONNECT_TIMEOUT_SECONDS: Final = 1.5
READ_TIMEOUT_SECONDS: Final = 4.0
USER_AGENT: Final = "awsome-chat"
# SigV4's URI encoding of a path segment leaves only these unescaped (botocore's SAFE_CHARS).
_UNRESERVED: Final = "-._~"


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
        https = parts.scheme == "https"
        self._prefix = f"{parts.path}/@connections/"
        self._canonical_prefix = canonical_uri(self._prefix)
        self._signer = SigV4Signer(
            host_header(parts.scheme, parts.hostname, port), region, credentials, clock=clock
        )
        self.links = LinkPool(
            parts.hostname,
            port or (443 if https else 80),
            https=https,
            size=pool_size,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            ssl_context=ssl_context,
        )
        """The keep-alive connections (the tests and the benchmark read ``opened``, ``idle``)."""
        self._lock = threading.Lock()  # one flight at a time

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

    @property
    def opened(self) -> int:
        """TCP connections opened so far."""
        return self.links.opened

    @contextlib.contextmanager
    def flight(self) -> Iterator[Flight]:
        """Posts in flight together from this thread; one flight at a time per sender."""
        with self._lock:
            flight = SelectorFlight(self.links, self.request)
            try:
                yield flight
            finally:
                flight.land()

    def close(self) -> None:
        """Close the idle connections (posts still work afterwards: they open new ones)."""
        with self._lock:
            self.links.close()

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
