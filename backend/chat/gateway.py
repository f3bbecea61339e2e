"""The API Gateway management API (``@connections``): the only module that posts to clients.

``ManagementApiSender.post`` turns every failure of ``PostToConnection`` into a domain error
(see ``errors.py``) following the API reference's error list: ``GoneException`` (410) becomes
``ConnectionGone``, ``PayloadTooLargeException`` (413) ``PayloadTooLarge``, ``ForbiddenException``
(403) ``DeliveryForbidden``, ``LimitExceededException`` (429), any 5xx and network timeouts
``RetryableDeliveryError``. The broadcaster decides what to do with them.

Clients are created once per container and endpoint, lazily, by ``SenderPool``. Their HTTP pool
is as large as the fan-out's parallelism, timeouts are short (botocore's 60 s defaults would let
one dead socket eat a whole invocation) and botocore's own retries are off: the broadcaster
retries, bounded and jittered, within the Lambda's remaining time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final, Protocol

from botocore.config import Config
from botocore.exceptions import (
    ClientError as BotoClientError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)
from botocore.exceptions import (
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from .connections import ConnectionId
from .errors import (
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)

CONNECT_TIMEOUT_SECONDS: Final = 1.5
READ_TIMEOUT_SECONDS: Final = 4.0
FALLBACK_REGION: Final = "us-east-1"  # only signs requests to a local endpoint; Lambda sets one

_GONE: Final = frozenset({"GoneException"})
_TOO_LARGE: Final = frozenset({"PayloadTooLargeException"})
_FORBIDDEN: Final = frozenset({"ForbiddenException", "AccessDeniedException"})
_THROTTLED: Final = frozenset(
    {"LimitExceededException", "ThrottlingException", "TooManyRequestsException"}
)


class Sender(Protocol):
    """Posts one frame to one connection, raising the ``DeliveryFailed`` family on failure."""

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """Deliver ``data`` as one text frame to ``connection_id``."""


def client_config(concurrency: int) -> Config:
    """The botocore configuration of a management-API client for ``concurrency`` posts."""
    return Config(
        max_pool_connections=concurrency,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )


def classify_client_error(connection_id: str, error: BotoClientError) -> DeliveryFailed:
    """Map a botocore ``ClientError`` from ``PostToConnection`` to a domain error."""
    response: dict[str, Any] = getattr(error, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    detail = f"{code or 'error'} (HTTP {status})"
    if code in _GONE or status == 410:
        return ConnectionGone(connection_id, detail)
    if code in _TOO_LARGE or status == 413:
        return PayloadTooLarge(connection_id, detail)
    if code in _FORBIDDEN or status == 403:
        return DeliveryForbidden(connection_id, detail)
    if code in _THROTTLED or status == 429 or (isinstance(status, int) and status >= 500):
        return RetryableDeliveryError(connection_id, detail)
    return DeliveryFailed(connection_id, detail)


class ManagementApiSender:
    """``Sender`` over one ``apigatewaymanagementapi`` client (one endpoint)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """``PostToConnection``, with every failure mapped to the ``DeliveryFailed`` family."""
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except BotoClientError as error:
            raise classify_client_error(connection_id, error) from None
        except (HTTPClientError, BotoConnectionError) as error:  # timeouts, refused/reset sockets
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as error:
            raise DeliveryForbidden(connection_id, type(error).__name__) from None


class SenderPool:
    """One ``ManagementApiSender`` per endpoint URL, created on first use, thread-safe."""

    def __init__(self, client_factory: Callable[[str], Any]) -> None:
        """``client_factory(endpoint_url)`` returns a boto3 ``apigatewaymanagementapi`` client."""
        self._client_factory = client_factory
        self._senders: dict[str, ManagementApiSender] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_session(cls, session: Any, *, concurrency: int) -> SenderPool:
        """A pool whose clients come from a boto3 ``Session`` (one pool per container)."""
        config = client_config(concurrency)
        region = session.region_name or FALLBACK_REGION

        def factory(endpoint_url: str) -> Any:
            return session.client(
                "apigatewaymanagementapi",
                endpoint_url=endpoint_url,
                region_name=region,
                config=config,
            )

        return cls(factory)

    def sender_for(self, endpoint_url: str) -> ManagementApiSender:
        """The sender for ``endpoint_url``, e.g. ``https://{api}.execute-api.{region}.amazonaws.com/{stage}``."""
        with self._lock:
            sender = self._senders.get(endpoint_url)
            if sender is None:
                sender = ManagementApiSender(self._client_factory(endpoint_url))
                self._senders[endpoint_url] = sender
            return sender
