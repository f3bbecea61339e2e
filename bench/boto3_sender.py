"""The boto3 reference ``Sender``: one ``post_to_connection`` per recipient.

The Lambda posts with ``chat.gateway.SignedHttpSender`` (it signs and sends the request
itself; see that module for why). This boto3 version is what the fan-out benchmark compares it
with, so it lives here and not in the Lambda's zip. Errors are mapped by the product's
``chat.gateway.classify``, the one definition of what each ``@connections`` failure means.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError as BotoClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.exceptions import (
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from bench.paths import use_backend

use_backend()

from chat.config import FALLBACK_REGION  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.errors import DeliveryFailed, DeliveryForbidden, RetryableDeliveryError  # noqa: E402
from chat.gateway import Sender, classify  # noqa: E402
from chat.signed_sender import (  # noqa: E402
    CONNECT_TIMEOUT_SECONDS,
    READ_TIMEOUT_SECONDS,
    SenderPool,
)


def classify_client_error(connection_id: str, error: BotoClientError) -> DeliveryFailed:
    """Map a botocore ``ClientError`` from ``PostToConnection`` to a domain error."""
    response: dict[str, Any] = getattr(error, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return classify(connection_id, status if isinstance(status, int) else None, code)


def client_config(concurrency: int) -> Config:
    """The botocore configuration of a management-API client for ``concurrency`` posts."""
    return Config(
        max_pool_connections=concurrency,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1, "mode": "standard"},
    )


class ManagementApiSender:
    """``Sender`` over one boto3 ``apigatewaymanagementapi`` client (one endpoint)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        """``PostToConnection``, with every failure mapped to the ``DeliveryFailed`` family."""
        self._call(connection_id, self._client.post_to_connection, Data=data)

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """``DeleteConnection``, with every failure mapped to the ``DeliveryFailed`` family."""
        self._call(connection_id, self._client.delete_connection)

    def _call(self, connection_id: ConnectionId, operation: Any, **request: Any) -> None:
        try:
            operation(ConnectionId=connection_id, **request)
        except BotoClientError as error:
            raise classify_client_error(connection_id, error) from None
        except (HTTPClientError, BotoConnectionError) as error:  # timeouts, refused/reset sockets
            raise RetryableDeliveryError(connection_id, type(error).__name__) from None
        except (NoCredentialsError, PartialCredentialsError, NoRegionError) as error:
            raise DeliveryForbidden(connection_id, type(error).__name__) from None


def boto3_pool(session: Any, *, concurrency: int) -> SenderPool:
    """A ``SenderPool`` of ``ManagementApiSender``s over boto3 clients: the reference."""
    config = client_config(concurrency)
    region = session.region_name or FALLBACK_REGION

    def factory(endpoint_url: str) -> Sender:
        client = session.client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint_url,
            region_name=region,
            config=config,
        )
        return ManagementApiSender(client)

    return SenderPool(factory)
