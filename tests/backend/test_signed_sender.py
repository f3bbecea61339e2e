"""The lean ``@connections`` sender: botocore-identical SigV4, keep-alive pooling, failures."""

from __future__ import annotations

import datetime
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.exceptions
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials
from chat.broadcast import broadcast
from chat.connections import ConnectionId
from chat.delivery import RetryPolicy
from chat.errors import (
    ConfigurationError,
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from chat.gateway import classify
from chat.http_answers import parse_answer
from chat.signed_sender import SignedHttpSender
from chat.sigv4 import SigV4Signer, session_credentials

from bench.boto3_sender import ManagementApiSender, client_config
from bench.tls import local_certificate
from tests.backend.conftest import REGION
from tests.backend.fakes import ERROR_STATUSES, MemoryStore
from tests.backend.management_api_server import DROP, HANG, ManagementApiServer

# 2026-11-26T23:59:58Z: two seconds before a new signing day.
NOW = datetime.datetime(2026, 11, 26, 23, 59, 58, tzinfo=datetime.UTC).timestamp()
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQ+token/with+odd=chars"
IDS = ["Cq3VbdUxjoECH0A=", "L0SM9cOFvHcCIhw=", "a-b_c", "x=y==", "AbC-_=9"]


def frozen() -> Callable[[], ReadOnlyCredentials]:
    """A credentials source that always returns the same snapshot."""
    return lambda: ReadOnlyCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", None)


def freeze_botocore(monkeypatch: pytest.MonkeyPatch, when: float) -> None:
    """Make botocore's signers see ``when`` as the current time."""
    moment = datetime.datetime.fromtimestamp(when, datetime.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *_, **__: moment)


def botocore_headers(url: str, payload: bytes, credentials: ReadOnlyCredentials) -> dict[str, str]:
    """What botocore's ``SigV4Auth`` adds to ``POST url`` for execute-api."""
    request = AWSRequest(method="POST", url=url, data=payload)
    SigV4Auth(credentials, "execute-api", REGION).add_auth(request)
    return {k: v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}


# --- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("connection_id", IDS)
def test_signature_equals_a_boto3_clients_on_the_wire(
    monkeypatch: pytest.MonkeyPatch,
    management_api: ManagementApiServer,
    connection_id: str,
    token: str | None,
) -> None:
    """The same post through a boto3 client and through the lean sender, at the same time and
    with the same credentials, arrives with the same path, date, token and Authorization."""
    freeze_botocore(monkeypatch, NOW)
    session = boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG",
        aws_session_token=token,
        region_name=REGION,
    )
    client = session.client(
        "apigatewaymanagementapi",
        endpoint_url=management_api.endpoint,
        config=client_config(1),
    )
    ManagementApiSender(client).post(ConnectionId(connection_id), b'{"n":1}')
    lean = SignedHttpSender(
        management_api.endpoint,
        session_credentials(session),
        REGION,
        pool_size=1,
        clock=lambda: NOW,
    )
    lean.post(ConnectionId(connection_id), b'{"n":1}')
    reference, ours = management_api.log
    assert ours.path == reference.path
    assert "%3D" in ours.path or "=" not in connection_id
    for header in ("authorization", "x-amz-date", "x-amz-security-token", "host"):
        assert ours.headers.get(header) == reference.headers.get(header), header
    assert ours.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/{REGION}/execute-api/aws4_request, "
    )
    assert ours.headers.get("x-amz-security-token") == token
    assert ours.body == reference.body == b'{"n":1}'
    assert management_api.received[connection_id] == [b'{"n":1}', b'{"n":1}']


@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.parametrize("connection_id", IDS)
def test_signature_equals_sigv4auth_for_an_aws_endpoint(
    monkeypatch: pytest.MonkeyPatch, connection_id: str, token: str | None
) -> None:
    """For an https execute-api host (no port), the signer's headers equal ``SigV4Auth``'s."""
    freeze_botocore(monkeypatch, NOW)
    host = "abc123def4.execute-api.eu-west-1.amazonaws.com"
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret/with+chars", token)
    signer = SigV4Signer(host, REGION, lambda: credentials, clock=lambda: NOW)
    wire = "/prod/@connections/" + connection_id.replace("=", "%3D")
    canonical = "/prod/%40connections/" + connection_id.replace("=", "%253D")
    ours = signer.headers("POST", canonical, b"payload")
    theirs = botocore_headers(f"https://{host}{wire}", b"payload", credentials)
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == "20261126T235958Z"
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token") == token
    assert ours["Host"] == host


def test_caches_never_serve_a_stale_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new payload, a rotated secret and a new day each change the signature exactly as
    botocore computes it (the payload hash and the signing key are cached, never stale)."""
    host = "abc123def4.execute-api.eu-west-1.amazonaws.com"
    url = f"https://{host}/prod/@connections/abc%3D"
    canonical = "/prod/%40connections/abc%253D"
    current = {"credentials": ReadOnlyCredentials("AKID", "first-secret", None), "now": NOW}
    signer = SigV4Signer(host, REGION, lambda: current["credentials"], clock=lambda: current["now"])
    seen: set[str] = set()
    for payload, secret, now in [
        (b"one", "first-secret", NOW),
        (b"one", "first-secret", NOW),  # cached: same answer
        (b"two", "first-secret", NOW),  # another payload object
        (b"two", "rotated-secret", NOW),  # refreshed credentials
        (b"two", "rotated-secret", NOW + 3),  # past midnight: a new signing day
    ]:
        current["credentials"] = ReadOnlyCredentials("AKID", secret, None)
        current["now"] = now
        freeze_botocore(monkeypatch, now)
        ours = signer.headers("POST", canonical, payload)["Authorization"]
        theirs = botocore_headers(url, payload, ReadOnlyCredentials("AKID", secret, None))
        assert ours == theirs["Authorization"]
        seen.add(ours)
    assert len(seen) == 4


def test_credentials_are_read_from_the_session_on_every_post() -> None:
    """The session's credentials object is resolved once and read frozen each time, so a
    refresh is seen; without credentials nothing is cached and the error says so."""

    class Rotating:
        def __init__(self) -> None:
            self.reads = 0

        def get_frozen_credentials(self) -> ReadOnlyCredentials:
            self.reads += 1
            return ReadOnlyCredentials("AKID", f"secret-{self.reads}", None)

    class Session:
        def __init__(self) -> None:
            self.credentials: Any = None
            self.lookups = 0

        def get_credentials(self) -> Any:
            self.lookups += 1
            return self.credentials

    session = Session()
    current = session_credentials(session)
    with pytest.raises(botocore.exceptions.NoCredentialsError):
        current()
    session.credentials = Rotating()
    assert [current().secret_key for _ in range(3)] == ["secret-1", "secret-2", "secret-3"]
    assert session.lookups == 2


# --- statuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (410, "", ConnectionGone),
        (400, "GoneException", ConnectionGone),  # the code alone is enough
        (413, "", PayloadTooLarge),
        (400, "PayloadTooLargeException", PayloadTooLarge),
        (403, "", DeliveryForbidden),
        (400, "AccessDeniedException", DeliveryForbidden),
        (429, "", RetryableDeliveryError),
        (400, "ThrottlingException", RetryableDeliveryError),
        (500, "", RetryableDeliveryError),
        (504, "", RetryableDeliveryError),
        (400, "BadRequestException", DeliveryFailed),
        (404, "", DeliveryFailed),
        (None, "", DeliveryFailed),
    ],
)
def test_classify_maps_status_and_code(
    status: int | None, code: str, expected: type[DeliveryFailed]
) -> None:
    """The one mapping from (status, x-amzn-ErrorType) to the domain errors."""
    error = classify("c1", status, code)
    assert type(error) is expected
    assert error.connection_id == "c1"


def lean(server: ManagementApiServer, pool_size: int = 4, **kwargs: Any) -> SignedHttpSender:
    """A lean sender for the test server with fixed credentials."""
    return SignedHttpSender(server.endpoint, frozen(), REGION, pool_size=pool_size, **kwargs)


@pytest.mark.parametrize(("status", "expected"), [*ERROR_STATUSES, (400, DeliveryFailed)])
def test_every_status_is_mapped_and_the_connection_kept(
    management_api: ManagementApiServer, status: int, expected: type[DeliveryFailed]
) -> None:
    """An error answer raises its domain error after exactly one request, and the connection
    (its body read) serves the next post."""
    sender = lean(management_api)
    cid = ConnectionId("Cq3VbdUxjoECH0A=")
    management_api.script[cid] = [status]
    with pytest.raises(DeliveryFailed) as caught:
        sender.post(cid, b"{}")
    assert type(caught.value) is expected
    assert management_api.requests[cid] == 1
    sender.post(cid, b"{}")
    assert management_api.received[cid] == [b"{}"]
    assert sender.opened == management_api.accepted == 1


# --- connections ------------------------------------------------------------------------------


def test_keep_alive_connections_are_reused_up_to_the_pool_size(
    management_api: ManagementApiServer,
) -> None:
    """300 posts by a broadcast with 6 in flight open at most 6 TCP connections, all reused."""
    sender = lean(management_api, pool_size=6)
    recipients = [ConnectionId(f"c{i}=") for i in range(300)]
    stats = broadcast(b'{"type":"message"}', recipients, sender, MemoryStore(), concurrency=6)
    assert stats.delivered == 300
    assert 1 <= sender.opened <= 6
    assert management_api.accepted == sender.opened
    assert all(management_api.received[c] == [b'{"type":"message"}'] for c in recipients)
    # Headers and body go in two writes: Nagle must not hold the body back for an ACK.
    assert all(
        c.sock is not None and c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for c in sender.links.idle
    )


def test_idle_pool_never_exceeds_its_size(management_api: ManagementApiServer) -> None:
    """More simultaneous posts than the pool size: the extra connections are closed, not kept."""
    sender = lean(management_api, pool_size=2)
    stats = broadcast(
        b"{}", [ConnectionId(f"c{i}") for i in range(40)], sender, MemoryStore(), concurrency=8
    )
    assert stats.delivered == 40
    assert len(sender.links.idle) <= 2


def test_a_connection_closed_while_idle_is_replaced(management_api: ManagementApiServer) -> None:
    """The server closing an idle keep-alive connection costs a new connection, not a failure."""
    sender = lean(management_api, pool_size=1)
    sender.post(ConnectionId("a"), b"1")
    management_api.disconnect_all()
    deadline = time.monotonic() + 5
    while management_api._open and time.monotonic() < deadline:
        time.sleep(0.01)
    sender.post(ConnectionId("b"), b"2")
    assert management_api.received == {"a": [b"1"], "b": [b"2"]}
    assert sender.opened == management_api.accepted == 2


def test_a_dropped_connection_is_retryable_and_retried(
    management_api: ManagementApiServer,
) -> None:
    """A connection dropped mid-post is discarded and reported retryable; the broadcaster's
    retry delivers on a new connection while the other recipients are unaffected."""
    sender = lean(management_api, pool_size=2)
    management_api.script["a"] = [DROP]
    with pytest.raises(RetryableDeliveryError):
        sender.post(ConnectionId("a"), b"1")
    assert sender.links.idle == ()
    management_api.script["a"] = [DROP]
    stats = broadcast(
        b"2",
        [ConnectionId(c) for c in "abc"],
        sender,
        MemoryStore(),
        concurrency=2,
        sleep=lambda _: None,
    )
    assert (stats.delivered, stats.retried, stats.failed) == (3, 1, 0)
    assert management_api.received == {"a": [b"2"], "b": [b"2"], "c": [b"2"]}


def test_a_stalled_answer_times_out_as_retryable(management_api: ManagementApiServer) -> None:
    """No answer within the read timeout is a retryable failure, long before the server gives
    up (botocore's 60 s default would have waited)."""
    management_api.hang_s = 2.0
    management_api.script["a"] = [HANG]
    sender = lean(management_api, read_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(RetryableDeliveryError):
        sender.post(ConnectionId("a"), b"1")
    assert time.monotonic() - started < 1.5


def test_missing_credentials_are_a_configuration_error(
    management_api: ManagementApiServer,
) -> None:
    """A post that cannot be signed is DeliveryForbidden and sends nothing."""

    def none() -> ReadOnlyCredentials:
        raise botocore.exceptions.NoCredentialsError()

    sender = SignedHttpSender(management_api.endpoint, none, REGION, pool_size=1)
    with pytest.raises(DeliveryForbidden):
        sender.post(ConnectionId("a"), b"1")
    assert management_api.accepted == 0


@pytest.mark.parametrize(
    "endpoint", ["ftp://example.com/prod", "example.com/prod", "https:///prod", "http://h:99999/x"]
)
def test_a_bad_endpoint_is_a_configuration_error(endpoint: str) -> None:
    """Only http(s) URLs with a host are endpoints; the error names the expected form."""
    with pytest.raises(ConfigurationError, match="execute-api"):
        SignedHttpSender(endpoint, frozen(), REGION, pool_size=1)


def test_https_endpoints_use_one_verifying_tls_context() -> None:
    """An https endpoint connects with TLS (certificates verified, one context per endpoint);
    a refused connection is retryable and no connection is kept."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SignedHttpSender(f"https://127.0.0.1:{port}/prod", frozen(), REGION, pool_size=2)
    for _ in range(2):
        with pytest.raises(RetryableDeliveryError):
            sender.post(ConnectionId("a"), b"1")
    context = sender.links.tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert sender.links.tls_context() is context
    assert sender.opened == 2 and sender.links.idle == ()


# --- one thread, many posts in flight -----------------------------------------------------------


def test_a_broadcast_keeps_every_reaction_on_one_flight(
    management_api: ManagementApiServer,
) -> None:
    """Through the real sender (posts multiplexed on one thread): 410 pruned, 413 counted, 403 a
    configuration error, 429 then 200 retried and delivered, 5xx retried up to the bound."""
    sender = lean(management_api, pool_size=4)
    for cid, steps in {
        "gone": [410],
        "big": [413],
        "denied": [403],
        "busy": [429, 200],
        "down": [500, 503, 500, 200],
    }.items():
        management_api.script[cid] = steps
    store = MemoryStore()
    recipients = [ConnectionId(c) for c in ("gone", "big", "denied", "busy", "down", "ok1", "ok2")]
    stats = broadcast(b"m", recipients, sender, store, concurrency=4, jitter=lambda: 0.1)
    assert (stats.delivered, stats.pruned, stats.too_large, stats.forbidden) == (3, 1, 1, 1)
    assert stats.retried == 1 + 2 and stats.failed == 3  # big, denied, down (3 attempts)
    assert store.deleted == ["gone"] and stats.gone == ("gone",)
    assert management_api.requests["down"] == 3 and management_api.requests["busy"] == 2
    assert sender.opened <= 4


def test_a_flight_stops_at_the_deadline_and_says_how_far_it_got(
    management_api: ManagementApiServer,
) -> None:
    """Posts still unanswered when the invocation runs out of time are abandoned (their
    connections closed) and counted as failed; the broadcast returns in time."""
    management_api.hang_s = 3.0
    management_api.script["stuck"] = [HANG]
    sender = lean(management_api, pool_size=2)
    end = time.monotonic() + 1.5  # 1.5 s left; WAIT_CUTOFF_MS before that it stops waiting
    started = time.monotonic()
    stats = broadcast(
        b"m",
        [ConnectionId("a"), ConnectionId("stuck"), ConnectionId("b")],
        sender,
        MemoryStore(),
        concurrency=2,
        remaining_ms=lambda: int((end - time.monotonic()) * 1000),
        policy=RetryPolicy(reserve_ms=200),
    )
    assert time.monotonic() - started < 1.5
    assert (stats.delivered, stats.failed) == (2, 1)
    assert sender.links.idle and all(link.state.value == "idle" for link in sender.links.idle)


def test_https_posts_verify_the_certificate_and_reuse_connections(tmp_path: Path) -> None:
    """Over HTTPS the sender verifies the server's certificate (a context that trusts it is
    given; the default one refuses it, retryably) and keeps its TLS connections alive."""
    certificate = local_certificate(tmp_path)
    server = ManagementApiServer(tls=certificate.server_context()).start()
    try:
        assert server.endpoint.startswith("https://")
        untrusting = lean(server, pool_size=1)
        with pytest.raises(RetryableDeliveryError, match="SSLCertVerificationError"):
            untrusting.post(ConnectionId("a"), b"1")
        sender = lean(server, pool_size=3, ssl_context=certificate.trusting())
        recipients = [ConnectionId(f"c{i}=") for i in range(60)]
        stats = broadcast(b"tls", recipients, sender, MemoryStore(), concurrency=3)
        assert stats.delivered == 60
        assert sender.opened <= 3
        assert all(server.received[c] == [b"tls"] for c in recipients)
        sender.post(ConnectionId("again"), b"x")  # an idle TLS link (session ticket read) reused
        assert sender.opened <= 3
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", (200, "", False)),
        (b"HTTP/1.1 410 Gone\r\nx-amzn-ErrorType: GoneException:http://x\r\n", None),
        (
            b"HTTP/1.1 410 Gone\r\nX-Amzn-ErrorType: GoneException:http://x\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}",
            (410, "GoneException", True),
        ),
        (b"HTTP/1.1 429 T\r\nContent-Length: 5\r\n\r\n{}", None),  # body still coming
        (
            b"HTTP/1.1 500 E\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            (500, "", False),
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", (200, "", True)),
    ],
)
def test_answers_are_parsed_for_status_error_type_and_keep_alive(
    raw: bytes, expected: tuple[int, str, bool] | None
) -> None:
    """The sender's answer parser reads what classify and keep-alive need, once complete."""
    assert parse_answer(raw) == expected
