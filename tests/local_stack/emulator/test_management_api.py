"""The @connections management API through boto3, as the Lambda uses it."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed

from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.core.quotas import FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import (
    TEST_ROUTES,
    EventLog,
    error_code,
    handler_options,
    management_client,
    raw_upgrade,
    tagged_connection,
    wait_until,
    whoami,
    ws_connect,
)


def test_post_delivers_the_body_as_one_text_frame(stack: Stack) -> None:
    """PostToConnection's Data arrives as exactly one text frame; non-UTF-8 as binary."""
    client = management_client(stack)
    text = "héllo 👋 " * 1000

    async def chat() -> tuple[object, object]:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=text.encode()
            )
            await asyncio.to_thread(
                client.post_to_connection, ConnectionId=connection_id, Data=b"\xff\x00"
            )
            return await ws.recv(), await ws.recv()

    first, second = asyncio.run(chat())
    assert first == text
    assert second == b"\xff\x00"


def test_post_of_exactly_128_kb_is_delivered_and_more_is_413(stack: Stack) -> None:
    """128 KB is delivered; one byte more is PayloadTooLargeException (413)."""
    client = management_client(stack)

    async def chat() -> tuple[int, str]:
        async with ws_connect(stack.ws_url, max_size=None) as ws:
            connection_id = await whoami(ws)
            with pytest.raises(ClientError) as too_large:
                await asyncio.to_thread(
                    client.post_to_connection,
                    ConnectionId=connection_id,
                    Data=b"y" * (MESSAGE_LIMIT_BYTES + 1),
                )
            assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
            await asyncio.to_thread(
                client.post_to_connection,
                ConnectionId=connection_id,
                Data=b"x" * MESSAGE_LIMIT_BYTES,
            )
            return len(await ws.recv()), error_code(too_large.value)

    size, code = asyncio.run(chat())
    assert size == MESSAGE_LIMIT_BYTES
    assert code == "PayloadTooLargeException"


def read_frames(sock: socket.socket, payload_bytes: int) -> list[tuple[int, bool, int]]:
    """Server frames off a raw socket until ``payload_bytes`` arrived: (opcode, fin, length)."""
    buffer = b""
    frames: list[tuple[int, bool, int]] = []
    received = 0
    while received < payload_bytes:
        while True:
            if len(buffer) >= 2:
                length = buffer[1] & 0x7F
                size = 2 + (2 if length == 126 else 8 if length == 127 else 0)
                if len(buffer) >= size:
                    if length == 126:
                        length = int.from_bytes(buffer[2:4], "big")
                    elif length == 127:
                        length = int.from_bytes(buffer[2:10], "big")
                    if len(buffer) >= size + length:
                        break
            chunk = sock.recv(65536)
            assert chunk, "the emulator closed the socket"
            buffer += chunk
        frames.append((buffer[0] & 0x0F, bool(buffer[0] & 0x80), length))
        received += length
        buffer = buffer[size + length :]
    return frames


def test_post_of_128_kb_arrives_in_frames_of_at_most_32_kb(
    stack: Stack, event_log: EventLog
) -> None:
    """A post over 32 KB is delivered as a fragmented message of frames of at most 32 KB: the
    quotas' footnote says a larger message must be split into frames of 32 KB or smaller, and
    that this applies to @connections commands."""
    client = management_client(stack)
    sock = raw_upgrade(stack.port, "/local?tag=frames")
    try:
        connection_id = tagged_connection(event_log, "frames")

        def post() -> bool:  # 410 until the emulator has finished the upgrade on its side
            try:
                client.post_to_connection(
                    ConnectionId=connection_id, Data=b"x" * MESSAGE_LIMIT_BYTES
                )
            except client.exceptions.GoneException:
                return False
            return True

        wait_until(post, what="a delivered post")
        frames = read_frames(sock, MESSAGE_LIMIT_BYTES)
    finally:
        sock.close()
    assert [length for _, _, length in frames] == [FRAME_LIMIT_BYTES] * 4
    assert [opcode for opcode, _, _ in frames] == [0x1, 0x0, 0x0, 0x0]  # text, continuations
    assert [fin for _, fin, _ in frames] == [False, False, False, True]


def test_unknown_connection_is_gone(stack: Stack) -> None:
    """Posting to, getting or deleting an id that never existed raises GoneException (410)."""
    client = management_client(stack)
    for call in (
        lambda: client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x"),
        lambda: client.get_connection(ConnectionId="AAAAAAAAAAAAAAA="),
        lambda: client.delete_connection(ConnectionId="AAAAAAAAAAAAAAA="),
    ):
        with pytest.raises(client.exceptions.GoneException) as gone:
            call()
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_post_during_connect_is_gone(stack: Stack, event_log: EventLog) -> None:
    """A post to a connection whose $connect is still running gets 410, as in API Gateway."""

    async def chat() -> str:
        async with ws_connect(stack.ws_url + "?post_self=1") as ws:
            return await whoami(ws)

    asyncio.run(chat())
    results = wait_until(
        lambda: [r["post_self"] for r in event_log.records() if "post_self" in r],
        what="the handler's attempt to post during $connect",
    )
    assert results == ["GoneException"]


def test_closed_connection_is_gone(stack: Stack) -> None:
    """After the client closes, every @connections call on it gets 410."""
    client = management_client(stack)

    async def chat() -> str:
        async with ws_connect(stack.ws_url) as ws:
            return await whoami(ws)

    connection_id = asyncio.run(chat())
    wait_until(lambda: connection_id not in stack.open_connection_ids(), what="the close")
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"late")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=connection_id)
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=connection_id)


def test_get_connection_reports_times_and_identity(stack: Stack) -> None:
    """GetConnection returns ConnectedAt, a LastActiveAt that follows frames, and Identity."""
    client = management_client(stack)

    async def chat() -> tuple[dict[str, object], dict[str, object]]:
        async with ws_connect(stack.ws_url, user_agent_header="agent/7") as ws:
            connection_id = await whoami(ws)
            first = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            await asyncio.sleep(0.3)
            await whoami(ws)
            second = await asyncio.to_thread(client.get_connection, ConnectionId=connection_id)
            return first, second

    before = dt.datetime.now(dt.UTC)
    first, second = asyncio.run(chat())
    connected_at = first["ConnectedAt"]
    assert isinstance(connected_at, dt.datetime)
    assert abs((connected_at - before).total_seconds()) < 5
    assert second["ConnectedAt"] == connected_at
    assert first["LastActiveAt"] >= connected_at  # type: ignore[operator]
    assert second["LastActiveAt"] > first["LastActiveAt"]  # type: ignore[operator]
    assert first["Identity"] == {"SourceIp": "127.0.0.1", "UserAgent": "agent/7"}


def test_delete_closes_the_socket_and_fires_disconnect_once(
    stack: Stack, event_log: EventLog
) -> None:
    """DeleteConnection answers 204, closes the client's socket, and fires one $disconnect."""
    client = management_client(stack)

    async def chat() -> tuple[str, int, int | None]:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            answer = await asyncio.to_thread(client.delete_connection, ConnectionId=connection_id)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            received = closed.value.rcvd
            status = answer["ResponseMetadata"]["HTTPStatusCode"]
            return connection_id, status, received and received.code

    connection_id, status, code = asyncio.run(chat())
    assert status == 204
    assert code == 1000
    event = event_log.wait_for("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    # As API Gateway's execution log shows a DeleteConnection (aws/chalice#2060,
    # boto/boto3#3789).
    assert event["requestContext"]["disconnectReason"] == "Connection Closed Normally"
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=connection_id)
    time.sleep(0.3)
    assert len(event_log.events(connection_id, "$disconnect")) == 1


def test_handler_can_delete_its_own_connection(stack: Stack, event_log: EventLog) -> None:
    """A handler calling DeleteConnection on its caller closes it like any other delete."""

    async def chat() -> str:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            await ws.send('{"action": "delete"}')
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
            return connection_id

    connection_id = asyncio.run(chat())
    event_log.wait_for("$disconnect", connection_id)


def test_unsigned_calls_are_forbidden(stack: Stack) -> None:
    """A call without a SigV4 Authorization header is refused with 403, as by API Gateway."""
    request = urllib.request.Request(  # noqa: S310 -- the local stack, over loopback
        f"{stack.management_endpoint}/@connections/AAAAAAAAAAAAAAA=", data=b"x", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"] == "ForbiddenException"


def test_error_answers_carry_aws_headers(stack: Stack) -> None:
    """Errors carry x-amzn-ErrorType and x-amzn-RequestId, as botocore reads them."""
    client = management_client(stack)
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")
    headers = gone.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "GoneException"
    assert headers["x-amzn-requestid"]
    assert headers["content-type"].startswith("application/json")


def test_injected_errors_answer_429_and_500(tmp_path: Path) -> None:
    """With error rate 1, every call fails with one of the configured statuses."""
    options = handler_options(
        tmp_path / "events.jsonl",
        emulator=EmulatorSettings(
            routes=TEST_ROUTES, faults=FaultInjection(error_rate=1.0), seed=11
        ),
    )
    with running_stack(options) as stack:
        client = management_client(stack)
        codes = set()
        for _ in range(30):
            with pytest.raises(ClientError) as failed:
                client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")
            codes.add(
                (
                    error_code(failed.value),
                    failed.value.response["ResponseMetadata"]["HTTPStatusCode"],
                )
            )
        counters = stack.counters()
    assert codes == {("LimitExceededException", 429), ("InternalServerErrorException", 500)}
    assert counters["injected_429"] + counters["injected_500"] == 30


def test_injected_error_rate_spares_the_rest(tmp_path: Path) -> None:
    """At rate 0.5 (seeded) some calls fail with 429 and the others answer normally (410)."""
    options = handler_options(
        tmp_path / "events.jsonl",
        emulator=EmulatorSettings(
            routes=TEST_ROUTES,
            faults=FaultInjection(error_rate=0.5, error_statuses=(429,)),
            seed=5,
        ),
    )
    with running_stack(options) as stack:
        client = management_client(stack)
        codes = []
        for _ in range(60):
            with pytest.raises(ClientError) as failed:
                client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")
            codes.append(error_code(failed.value))
    assert set(codes) == {"LimitExceededException", "GoneException"}
    assert 15 <= codes.count("LimitExceededException") <= 45


def test_injected_delays(tmp_path: Path) -> None:
    """A delay range slows every call by an amount within the range."""
    options = handler_options(
        tmp_path / "events.jsonl",
        emulator=EmulatorSettings(
            routes=TEST_ROUTES, faults=FaultInjection(delay_s=(0.15, 0.25)), seed=2
        ),
    )
    with running_stack(options) as stack:
        client = management_client(stack)
        client.meta.events  # noqa: B018 -- create the client before timing
        durations = []
        for _ in range(5):
            started = time.monotonic()
            with pytest.raises(client.exceptions.GoneException):
                client.get_connection(ConnectionId="AAAAAAAAAAAAAAA=")
            durations.append(time.monotonic() - started)
    assert all(0.15 <= d < 0.6 for d in durations), durations


def test_client_that_stops_reading_gets_429_instead_of_a_hanging_post(
    stack: Stack, event_log: EventLog
) -> None:
    """Posts to a client that reads nothing answer at once, then 429 when its buffer is full."""
    client = management_client(stack)
    sock = raw_upgrade(stack.port, "/local?tag=stalled")
    try:
        connection_id = tagged_connection(event_log, "stalled")
        chunk = b"z" * MESSAGE_LIMIT_BYTES
        started = time.monotonic()
        with pytest.raises(ClientError) as full:
            for _ in range(200):  # 25 MB: far beyond any socket buffer
                client.post_to_connection(ConnectionId=connection_id, Data=chunk)
        assert error_code(full.value) == "LimitExceededException"
        assert time.monotonic() - started < 20
    finally:
        sock.close()
