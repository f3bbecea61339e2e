"""@connections errors become domain errors, provoked with Stubber and with a real HTTP server.

The real-endpoint tests run both senders: the lean signed one the Lambda uses and the boto3
reference (``bench.boto3_sender.ManagementApiSender``).
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import boto3
import pytest
from chat.connections import ConnectionId
from chat.errors import (
    ConfigurationError,
    DeliveryFailed,
    DeliveryForbidden,
    RetryableDeliveryError,
)
from chat.gateway import Sender
from chat.signed_sender import SenderPool, SignedHttpSender

from bench.boto3_sender import ManagementApiSender, boto3_pool
from tests.backend.fakes import ERROR_STATUSES
from tests.backend.management_api_server import ManagementApiServer

CID = ConnectionId("Cq3VbdUxjoECH0A=")


def test_forbidden_is_a_configuration_error() -> None:
    """403 is part of the ConfigurationError family: fix the deployment, not the code."""
    assert issubclass(DeliveryForbidden, ConfigurationError)


POOLS = {"lean": SenderPool.from_session, "boto3": boto3_pool}


@pytest.fixture(params=sorted(POOLS))
def pool_sender(request: pytest.FixtureRequest) -> Callable[[str], Sender]:
    """Makes a sender as the Lambda builds it (lean) or as the boto3 reference does."""
    make_pool = POOLS[request.param]

    def make(endpoint: str) -> Sender:
        return make_pool(boto3.session.Session(), concurrency=4).sender_for(endpoint)

    return make


def test_the_lambdas_pool_makes_lean_senders() -> None:
    """``from_session`` (what the runtime uses) builds the signed HTTP sender, no boto3 client."""
    sender = SenderPool.from_session(boto3.session.Session(), concurrency=4).sender_for(
        "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"
    )
    assert isinstance(sender, SignedHttpSender)


def test_real_endpoint_delivers(
    management_api: ManagementApiServer, pool_sender: Callable[[str], Sender]
) -> None:
    """Through real HTTP the frame's bytes arrive at /{stage}/@connections/{id}, signed."""
    pool_sender(management_api.endpoint).post(CID, b'{"type":"pong"}')
    assert management_api.received[CID] == [b'{"type":"pong"}']
    (request,) = management_api.log
    assert request.path == "/prod/@connections/Cq3VbdUxjoECH0A%3D"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")


@pytest.mark.parametrize(("status", "expected"), ERROR_STATUSES)
def test_real_endpoint_errors_map_to_domain_errors(
    management_api: ManagementApiServer,
    pool_sender: Callable[[str], Sender],
    status: int,
    expected: type[DeliveryFailed],
) -> None:
    """API Gateway-shaped error responses map correctly, and neither sender retries on its
    own (exactly one request per post)."""
    management_api.script[CID] = [status, status, status]
    with pytest.raises(expected) as caught:
        pool_sender(management_api.endpoint).post(CID, b"{}")
    assert type(caught.value) is expected
    assert management_api.requests[CID] == 1
    assert not management_api.received[CID]


def test_unreachable_endpoint_is_retryable(pool_sender: Callable[[str], Sender]) -> None:
    """A refused connection is a transient network failure, not a crash."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(RetryableDeliveryError):
        pool_sender(f"http://127.0.0.1:{port}/prod").post(CID, b"{}")


def test_missing_credentials_are_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, pool_sender: Callable[[str], Sender]
) -> None:
    """Without credentials the post cannot be signed: DeliveryForbidden, not a crash."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(DeliveryForbidden):
        pool_sender("http://127.0.0.1:9/prod").post(CID, b"{}")


def test_sender_pool_creates_one_sender_per_endpoint() -> None:
    """Senders are created lazily, once per endpoint, and reused."""
    made: list[str] = []

    def factory(endpoint: str) -> Sender:
        made.append(endpoint)
        return ManagementApiSender(object())

    pool = SenderPool(factory)
    assert made == []
    first = pool.sender_for("https://a/prod")
    assert pool.sender_for("https://a/prod") is first
    assert pool.sender_for("https://b/prod") is not first
    assert made == ["https://a/prod", "https://b/prod"]
