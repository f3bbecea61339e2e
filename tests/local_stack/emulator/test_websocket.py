"""The WebSocket side of the emulator: handshakes, routes, frames, limits, timeouts, isolation."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from local_stack.emulator.core.quotas import FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES, URL_LIMIT_CHARS
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import (
    TEST_ROUTES,
    EventLog,
    handler_options,
    management_client,
    raw_upgrade,
    tagged_connection,
    wait_until,
    whoami,
    ws_connect,
)


def refused_status(url: str) -> int:
    """The HTTP status a refused handshake answers with (fails if it is accepted)."""

    async def attempt() -> int:
        try:
            async with ws_connect(url):
                pass
        except InvalidStatus as exc:
            return exc.response.status_code
        raise AssertionError(f"{url} was accepted")

    return asyncio.run(attempt())


async def recv_json(ws: object, timeout_s: float = 15.0) -> dict[str, object]:
    reply = await asyncio.wait_for(ws.recv(), timeout_s)  # type: ignore[attr-defined]
    decoded: dict[str, object] = json.loads(reply)
    return decoded


def test_connect_answer_status_refuses_the_handshake(stack: Stack, event_log: EventLog) -> None:
    """A non-2xx $connect answer refuses with that status, and no $disconnect follows."""
    assert refused_status(stack.ws_url + "?status=403&tag=refused") == 403
    assert refused_status(stack.ws_url + "?status=400") == 400
    connects = [
        e
        for e in event_log.events(route="$connect")
        if (e.get("queryStringParameters") or {}).get("tag") == "refused"
    ]
    assert len(connects) == 1
    time.sleep(0.3)
    assert event_log.events(connects[0]["requestContext"]["connectionId"], "$disconnect") == []


def test_connect_exception_refuses_with_502_and_the_emulator_carries_on(stack: Stack) -> None:
    """A $connect handler that raises refuses with 502, as a Lambda proxy function error does on
    AWS ("Unexpected response code: 502", michalkvasnicak/aws-lambda-graphql#107,
    serverless/serverless-websockets-plugin#13); the next client connects fine."""
    assert refused_status(stack.ws_url + "?crash=1") == 502

    async def chat() -> str:
        async with ws_connect(stack.ws_url) as ws:
            return await whoami(ws)

    assert asyncio.run(chat())


def test_connect_without_status_code_is_refused(stack: Stack) -> None:
    """A $connect answer without statusCode refuses the handshake (502)."""
    assert refused_status(stack.ws_url + "?noanswer=1") == 502


def test_connect_that_hangs_is_cut_at_the_lambda_timeout(stack: Stack) -> None:
    """A $connect past the function timeout (2 s here, under the 29 s integration timeout) is a
    function error: refused with 502."""
    started = time.monotonic()
    assert refused_status(stack.ws_url + "?hang=1") == 502
    assert 1.9 <= time.monotonic() - started < 6


def test_subprotocol_comes_from_the_connect_answer(stack: Stack) -> None:
    """The Sec-WebSocket-Protocol header of the $connect answer is negotiated."""

    async def chat() -> str | None:
        async with ws_connect(stack.ws_url + "?protocol=chat.v1", subprotocols=["chat.v1"]) as ws:
            return ws.subprotocol

    assert asyncio.run(chat()) == "chat.v1"


def test_plain_http_request_on_the_stage_needs_an_upgrade(stack: Stack) -> None:
    """A GET without the WebSocket upgrade is answered 426."""
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(stack.management_endpoint, timeout=5)  # noqa: S310
    assert caught.value.code == 426


def test_frames_reach_their_route_or_default(stack: Stack) -> None:
    """Frames go to the route named by action, else to $default, body intact."""

    async def chat() -> list[dict[str, object]]:
        async with ws_connect(stack.ws_url) as ws:
            replies = []
            for frame in ('{"action": "echo", "n": 1}', '{"action": "nope"}', "plain text"):
                await ws.send(frame)
                replies.append(await recv_json(ws))
            return replies

    echo, unknown, text = asyncio.run(chat())
    assert (echo["route"], echo["body"]) == ("echo", '{"action": "echo", "n": 1}')
    assert (unknown["route"], unknown["body"]) == ("$default", '{"action": "nope"}')
    assert (text["route"], text["body"]) == ("$default", "plain text")


def test_handler_exception_sends_internal_server_error_frame(stack: Stack) -> None:
    """A message route that raises gets API Gateway's frame; the socket stays usable."""

    async def chat() -> tuple[dict[str, object], str, str]:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            await ws.send('{"action": "crash"}')
            frame = await recv_json(ws)
            return frame, connection_id, await whoami(ws)

    frame, connection_id, again = asyncio.run(chat())
    assert frame["message"] == "Internal server error"
    assert frame["connectionId"] == connection_id == again
    assert isinstance(frame["requestId"], str)
    assert len(frame["requestId"]) == 16


def test_hanging_and_dying_handlers_are_isolated(stack: Stack) -> None:
    """A handler past its timeout, or whose process exits, fails alone; others carry on."""

    async def chat() -> tuple[list[str], float]:
        async with ws_connect(stack.ws_url) as ws:
            started = time.monotonic()
            await ws.send('{"action": "hang"}')
            await ws.send('{"action": "exit"}')
            await ws.send('{"action": "echo"}')
            order = []
            for _ in range(3):
                reply = await recv_json(ws, 10)
                order.append(str(reply.get("route") or reply["message"]))
            elapsed = time.monotonic() - started
            await whoami(ws)
            return order, elapsed

    order, elapsed = asyncio.run(chat())
    # The echo answers while the hang is still running: invocations are concurrent.
    assert sorted(order[:2]) == ["Internal server error", "echo"]  # the exit, and the echo
    assert order[2] == "Internal server error"  # the hang, cut at 2 s
    assert 1.9 <= elapsed < 6


async def closed_code(ws: object) -> int | None:
    """Read until the server closes; the close code it sent."""
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(ws.recv(), 5)  # type: ignore[attr-defined]
    received = closed.value.rcvd
    return None if received is None else received.code


def test_fragmented_message_of_128_kb_passes_and_one_byte_more_closes_1009(
    stack: Stack, event_log: EventLog
) -> None:
    """A message of frames of at most 32 KB each passes up to 128 KB; one byte more closes
    with 1009 ("Quotas for configuring and running a WebSocket API in API Gateway": a message
    payload is at most 128 KB, a larger one closes the connection with 1009)."""
    pieces = MESSAGE_LIMIT_BYTES // FRAME_LIMIT_BYTES
    at_limit = ["x" * FRAME_LIMIT_BYTES] * pieces
    over_limit = ["y" * FRAME_LIMIT_BYTES] * pieces + ["y"]

    async def chat() -> tuple[str, int | None]:
        async with ws_connect(stack.ws_url, max_size=None) as ws:
            connection_id = await whoami(ws)
            await ws.send(at_limit)  # an iterable: websockets sends it as a fragmented message
            await ws.send(over_limit)
            return connection_id, await closed_code(ws)

    connection_id, code = asyncio.run(chat())
    assert code == 1009
    disconnect = event_log.wait_for("$disconnect", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1009
    bodies = [
        e["body"]
        for e in wait_until(lambda: event_log.events(connection_id, "$default"), what="the frame")
    ]
    assert bodies.count("".join(at_limit)) == 1
    assert not any(b.startswith("y") for b in bodies)


def test_frame_of_32_kb_passes_and_one_byte_more_closes_1009(
    stack: Stack, event_log: EventLog
) -> None:
    """A single frame is at most 32 KB (read as 32,768 bytes); a larger one closes with 1009,
    even though the message would fit in 128 KB (the quotas: "WebSocket frame size 32 KB", and
    a larger frame closes the connection with 1009)."""
    at_limit = "x" * FRAME_LIMIT_BYTES
    over_limit = "y" * (FRAME_LIMIT_BYTES + 1)

    async def chat() -> tuple[str, int | None]:
        async with ws_connect(stack.ws_url, max_size=None) as ws:
            connection_id = await whoami(ws)
            await ws.send(at_limit)
            await ws.send(over_limit)
            return connection_id, await closed_code(ws)

    connection_id, code = asyncio.run(chat())
    assert code == 1009
    disconnect = event_log.wait_for("$disconnect", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1009
    bodies = [
        e["body"]
        for e in wait_until(lambda: event_log.events(connection_id, "$default"), what="the frame")
    ]
    assert bodies.count(at_limit) == 1
    assert not any(b.startswith("y") for b in bodies)


def test_binary_frame_closes_1003_and_fires_disconnect(stack: Stack, event_log: EventLog) -> None:
    """ "Working with binary media types for WebSocket APIs": API Gateway rejects a binary frame
    and disconnects the client with 1003. $disconnect fires (a disconnect like any other) with
    1003; the frame reaches no route."""

    async def chat() -> tuple[str, int | None]:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            await ws.send(b"\x01\x02binary")
            return connection_id, await closed_code(ws)

    connection_id, code = asyncio.run(chat())
    assert code == 1003
    disconnect = event_log.wait_for("$disconnect", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1003
    assert disconnect["requestContext"]["disconnectReason"] == "Unsupported data"
    assert event_log.events(connection_id, "$default") == []


def test_route_values_are_stringified_before_matching(stack: Stack) -> None:
    """{"action": 1} selects the route "1" and {"action": true} the route "true" ("Create
    routes for WebSocket APIs in API Gateway": the selected value "will be stringified")."""

    async def chat() -> list[dict[str, object]]:
        async with ws_connect(stack.ws_url) as ws:
            replies = []
            for frame in ('{"action": 1}', '{"action": true}', '{"action": null}'):
                await ws.send(frame)
                replies.append(await recv_json(ws))
            return replies

    number, true, null = asyncio.run(chat())
    assert number["route"] == "1"
    assert true["route"] == "true"
    assert null["route"] == "$default"


def test_deeply_nested_frame_goes_to_default_without_a_traceback(
    stack: Stack, event_log: EventLog, caplog: pytest.LogCaptureFixture
) -> None:
    """A frame nested past the JSON parser's depth cannot be evaluated, so API Gateway routes it
    to $default: the sender gets exactly one answer, and nothing fails in the emulator."""
    nested = "[" * 5000

    async def chat() -> tuple[dict[str, object], str]:
        async with ws_connect(stack.ws_url) as ws:
            await ws.send(nested)
            reply = await recv_json(ws)
            return reply, await whoami(ws)

    reply, _ = asyncio.run(chat())
    assert (reply["route"], reply["body"]) == ("$default", nested)
    assert not [r for r in caplog.records if r.exc_info or r.levelname == "ERROR"]


def test_url_over_4096_characters_is_refused_before_connect(
    stack: Stack, event_log: EventLog
) -> None:
    """The quotas: a WebSocket URL has at most 4,096 characters. A longer one is refused before
    $connect runs; AWS publishes no status for it, we answer 414 URI Too Long (README,
    Choices)."""
    base = stack.ws_url + "?tag=long&pad="
    fits = base + "p" * (URL_LIMIT_CHARS - len(base))
    assert len(fits) == URL_LIMIT_CHARS

    async def fitting() -> str:
        async with ws_connect(fits) as ws:
            return await whoami(ws)

    assert asyncio.run(fitting())
    assert refused_status(fits + "p") == 414
    long_connects = [
        e
        for e in event_log.events(route="$connect")
        if (e.get("queryStringParameters") or {}).get("tag") == "long"
    ]
    assert len(long_connects) == 1  # the fitting one only


def test_disconnect_fires_once_with_the_client_close_code(
    stack: Stack, event_log: EventLog
) -> None:
    """A client close fires exactly one $disconnect, with its code and reason."""

    async def chat() -> str:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
            await ws.close(code=1000, reason="done")
            return connection_id

    connection_id = asyncio.run(chat())
    event = event_log.wait_for("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    assert event["requestContext"]["disconnectReason"] == "done"
    time.sleep(0.3)
    assert len(event_log.events(connection_id, "$disconnect")) == 1
    assert connection_id not in stack.open_connection_ids()


def test_client_that_vanishes_without_close_frame_is_disconnected(
    stack: Stack, event_log: EventLog
) -> None:
    """A client whose TCP connection drops without a close frame gets $disconnect 1006."""

    async def chat() -> str:
        ws = await ws_connect(stack.ws_url)
        connection_id = await whoami(ws)
        ws.transport.abort()
        return connection_id

    connection_id = asyncio.run(chat())
    event = event_log.wait_for("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1006


@contextlib.contextmanager
def stack_with(
    tmp_path_factory: pytest.TempPathFactory, name: str, emulator: EmulatorSettings
) -> Iterator[tuple[Stack, EventLog]]:
    """A stack of the test handlers with these emulator settings, and its event log."""
    log = EventLog(Path(tmp_path_factory.mktemp(name)) / "events.jsonl")
    with running_stack(handler_options(log.path, emulator=emulator)) as running:
        yield running, log


@pytest.fixture(scope="module")
def timeouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, EventLog]]:
    """A stack with API Gateway's timeouts shortened to fractions of a second."""
    # No heartbeat here: a pong late on a busy machine must not pass for a dead client.
    emulator = EmulatorSettings(
        routes=TEST_ROUTES, idle_timeout_s=0.8, max_connection_s=2.5, heartbeat_s=None
    )
    with stack_with(tmp_path_factory, "timeouts", emulator) as running:
        yield running


def test_idle_connection_is_closed_with_1001(timeouts: tuple[Stack, EventLog]) -> None:
    """No frame for the idle timeout closes the socket (1001) and fires $disconnect."""
    stack, log = timeouts

    # The id comes from the $connect event: a frame asking for it would be activity, and its
    # answer could come after the close on a busy machine.
    async def chat() -> tuple[int | None, float]:
        async with ws_connect(stack.ws_url + "?tag=idle") as ws:
            started = time.monotonic()  # idle counts from the handshake: no frame is sent
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            received = closed.value.rcvd
            return received and received.code, time.monotonic() - started

    code, waited = asyncio.run(chat())
    assert code == 1001
    assert 0.7 <= waited < 2.5
    event = log.wait_for("$disconnect", tagged_connection(log, "idle"))
    assert event["requestContext"]["disconnectStatusCode"] == 1001


def test_activity_keeps_a_connection_until_the_maximum_duration(
    timeouts: tuple[Stack, EventLog],
) -> None:
    """Frames keep an idle-prone socket open, but the maximum duration still closes it."""
    stack, log = timeouts

    async def chat() -> tuple[float, int | None]:
        async with ws_connect(stack.ws_url + "?tag=busy") as ws:
            started = time.monotonic()

            async def keep_busy() -> None:  # a frame every 0.2 s, whatever the replies do
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        await ws.send("still here")
                        await asyncio.sleep(0.2)

            sender = asyncio.create_task(keep_busy())
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            sender.cancel()
            received = closed.value.rcvd
            return time.monotonic() - started, received and received.code

    lasted, code = asyncio.run(chat())
    assert code == 1001
    assert 1.5 <= lasted < 4.0  # well past the 0.8 s idle timeout, cut near 2.5 s
    log.wait_for("$disconnect", tagged_connection(log, "busy"))


def test_client_that_stops_answering_pings_is_disconnected(tmp_path: Path) -> None:
    """With the test-only heartbeat on, a client that neither closes nor answers pings is found
    by it: 1006."""
    log = EventLog(tmp_path / "events.jsonl")
    with running_stack(
        handler_options(log.path, emulator=EmulatorSettings(routes=TEST_ROUTES, heartbeat_s=0.5))
    ) as stack:
        started = time.monotonic()
        sock = raw_upgrade(stack.port, "/local?tag=silent")
        try:
            connection_id = tagged_connection(log, "silent")
            event = log.wait_for("$disconnect", connection_id, timeout_s=5)
            assert event["requestContext"]["disconnectStatusCode"] == 1006
            assert time.monotonic() - started >= 0.5  # one ping interval at least
        finally:
            sock.close()


def test_no_pings_by_default() -> None:
    """API Gateway sends no WebSocket pings, so the emulator sends none unless a test asks
    (``heartbeat_s``): a vanished client is found as on AWS, by a post or the idle timeout."""
    assert EmulatorSettings().heartbeat_s is None


def test_integration_timeout_answers_endpoint_request_timed_out(tmp_path: Path) -> None:
    """API Gateway waits 29 s at most whatever the Lambda's timeout ("Quotas for configuring
    and running a WebSocket API": integration timeout 50 ms - 29 s); then a message route's
    sender gets {"message": "Endpoint request timed out", ...} byte for byte as AWS writes it
    (Kludex/mangum#128, aws/chalice#1406), and a $connect is refused with 504. Shortened here
    to 0.8 s, under the function's 2 s."""
    log = EventLog(tmp_path / "events.jsonl")
    emulator = EmulatorSettings(routes=TEST_ROUTES, integration_timeout_s=0.8)
    with running_stack(handler_options(log.path, emulator=emulator)) as short:
        # The id comes from the $connect event: an echo would be held to 0.8 s too, and on a busy
        # machine its late answer would be the frame read here.
        async def chat() -> tuple[str | bytes, float]:
            async with ws_connect(short.ws_url + "?tag=hang") as ws:
                started = time.monotonic()
                await ws.send('{"action": "hang"}')
                frame = await asyncio.wait_for(ws.recv(), 10)
                return frame, time.monotonic() - started

        frame, elapsed = asyncio.run(chat())
        connection_id = tagged_connection(log, "hang")
        started = time.monotonic()
        status = refused_status(short.ws_url + "?hang=1")
        connect_elapsed = time.monotonic() - started
    request_id = json.loads(frame)["requestId"]
    assert frame == (
        f'{{"message": "Endpoint request timed out", "connectionId":"{connection_id}", '
        f'"requestId":"{request_id}"}}'
    )
    assert 0.7 <= elapsed < 1.9  # before the function's own 2 s timeout
    assert status == 504
    assert 0.7 <= connect_elapsed < 1.9


def test_posts_alone_keep_a_connection_until_the_maximum_duration(
    timeouts: tuple[Stack, EventLog],
) -> None:
    """Server-to-client messages reset the idle timer too: published runs show @connections
    posts alone keeping a connection open until the 2-hour limit (hotsock.io, "Keep Alive").
    Here: a post every 0.3 s outlives the 0.8 s idle timeout and is cut near 2.5 s."""
    stack, log = timeouts
    client = management_client(stack)

    async def chat() -> tuple[str, float, int | None]:
        # The id from the $connect event: an echo's answer could come after the idle close.
        async with ws_connect(stack.ws_url + "?tag=posts") as ws:
            connection_id = await asyncio.to_thread(tagged_connection, log, "posts")
            started = time.monotonic()
            while True:
                with contextlib.suppress(client.exceptions.GoneException):
                    # Gone only when the close raced this post; the socket then says why.
                    await asyncio.to_thread(
                        client.post_to_connection, ConnectionId=connection_id, Data=b"keep"
                    )
                try:
                    await asyncio.wait_for(ws.recv(), 5)
                except ConnectionClosed as closed:
                    received = closed.rcvd
                    return connection_id, time.monotonic() - started, received and received.code
                await asyncio.sleep(0.3)

    connection_id, lasted, code = asyncio.run(chat())
    assert code == 1001
    assert 1.5 <= lasted < 4.0  # well past the 0.8 s idle timeout, cut near 2.5 s
    event = log.wait_for("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


@pytest.fixture(scope="module")
def strict_routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, EventLog]]:
    """A stack with a nested route selection expression and no $default route."""
    emulator = EmulatorSettings(
        route_selection_expression="$request.body.meta.route",
        routes=frozenset({"$connect", "$disconnect", "echo"}),
    )
    with stack_with(tmp_path_factory, "strict", emulator) as running:
        yield running


def test_nested_expression_and_forbidden_without_default(
    strict_routes: tuple[Stack, EventLog],
) -> None:
    """$request.body.meta.route selects echo; an unmatched frame gets the Forbidden frame."""
    stack, log = strict_routes

    async def chat() -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
        async with ws_connect(stack.ws_url) as ws:
            await ws.send('{"meta": {"route": "echo"}}')
            echo = await recv_json(ws)
            await ws.send('{"action": "echo"}')
            forbidden = await recv_json(ws)
            await ws.send("not json")
            forbidden_text = await recv_json(ws)
            return echo, forbidden, forbidden_text

    echo, forbidden, forbidden_text = asyncio.run(chat())
    assert echo["route"] == "echo"
    assert forbidden["message"] == forbidden_text["message"] == "Forbidden"
    assert forbidden["connectionId"] == echo["connectionId"]
    assert forbidden["requestId"] != forbidden_text["requestId"]
    # $disconnect comes after the close, asynchronously: wait for it, so the sequence is final.
    log.wait_for("$disconnect", str(echo["connectionId"]))
    messages = log.events(str(echo["connectionId"]))
    routes = [e["requestContext"]["routeKey"] for e in messages]
    assert routes == ["$connect", "echo", "$disconnect"]


def test_lost_disconnect_events(tmp_path: Path) -> None:
    """With disconnect_loss_rate 1, a closed connection fires no $disconnect (best effort)."""
    log = EventLog(tmp_path / "events.jsonl")
    with running_stack(
        handler_options(
            log.path, emulator=EmulatorSettings(routes=TEST_ROUTES, disconnect_loss_rate=1.0)
        )
    ) as stack:

        async def chat() -> str:
            async with ws_connect(stack.ws_url) as ws:
                return await whoami(ws)

        connection_id = asyncio.run(chat())
        wait_until(lambda: stack.counters().get("disconnect_lost"), what="a lost $disconnect")
        assert log.events(connection_id, "$disconnect") == []
