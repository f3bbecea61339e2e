"""The boto3 reference sender (bench/boto3_sender.py): errors provoked with Stubber map to the
product's domain errors through ``chat.gateway.classify``; its client is configured deliberately.

Its real-endpoint behaviour is tested beside the Lambda's sender in tests/backend/test_gateway.py.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from chat.connections import ConnectionId
from chat.errors import (
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from chat.signed_sender import CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS

from bench.boto3_sender import ManagementApiSender, client_config
from tests.backend.conftest import aws_env

# Fake credentials and region, no profile or endpoint from the developer's shell.
pytestmark = pytest.mark.usefixtures(aws_env.__name__)

CID = ConnectionId("Cq3VbdUxjoECH0A=")


def stubbed_client() -> Any:
    """A real management-API client (never sends: the Stubber answers)."""
    return boto3.session.Session().client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod",
        region_name="eu-west-1",
    )


def test_post_sends_the_connection_id_and_bytes() -> None:
    """A successful post calls PostToConnection with the id and the frame's bytes."""
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_response("post_to_connection", {}, {"ConnectionId": CID, "Data": b"{}"})
        ManagementApiSender(client).post(CID, b"{}")
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("GoneException", 410, ConnectionGone),
        ("PayloadTooLargeException", 413, PayloadTooLarge),
        ("ForbiddenException", 403, DeliveryForbidden),
        ("LimitExceededException", 429, RetryableDeliveryError),
        ("InternalServerErrorException", 500, RetryableDeliveryError),
        ("ServiceUnavailable", 503, RetryableDeliveryError),
        ("GoneException", 400, ConnectionGone),  # the code alone is enough
    ],
)
def test_stubbed_errors_map_to_domain_errors(
    code: str, status: int, expected: type[DeliveryFailed]
) -> None:
    """Each PostToConnection error from the API reference becomes its domain error."""
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", code, "no", http_status_code=status)
        with pytest.raises(expected) as caught:
            ManagementApiSender(client).post(CID, b"{}")
    assert type(caught.value) is expected
    assert caught.value.connection_id == CID


def test_other_client_errors_are_plain_delivery_failures() -> None:
    """An undocumented 4xx is a non-retryable DeliveryFailed, not gone and not forbidden."""
    client = stubbed_client()
    with Stubber(client) as stub:
        stub.add_client_error("post_to_connection", "BadRequestException", "bad", 400)
        with pytest.raises(DeliveryFailed) as caught:
            ManagementApiSender(client).post(CID, b"{}")
    assert type(caught.value) is DeliveryFailed


def test_client_config_is_deliberate() -> None:
    """The pool matches the fan-out, timeouts are short and botocore does not retry."""
    config = client_config(17)
    assert config.max_pool_connections == 17
    assert config.connect_timeout == CONNECT_TIMEOUT_SECONDS <= 2
    assert config.read_timeout == READ_TIMEOUT_SECONDS <= 5
    assert config.retries == {"total_max_attempts": 1, "mode": "standard"}
