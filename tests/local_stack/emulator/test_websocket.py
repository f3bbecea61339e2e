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

from local_stack.emulator.core import MESSAGE_LIMIT_BYTES
from local_stack.emulator.server import EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import (
    TEST_ROUTES,
    EventLog,
    handler_options,
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


def test_connect_exception_refuses_with_500_and_the_emulator_carries_on(stack: Stack) -> None:
    """A $connect handler that raises refuses with 500; the next client connects fine."""
    assert refused_status(stack.ws_url + "?crash=1") == 500

    async def chat() -> str:
        async with ws_connect(stack.ws_url) as ws:
            return await whoami(ws)

    assert asyncio.run(chat())


def test_connect_without_status_code_is_refused(stack: Stack) -> None:
    """A $connect answer without statusCode refuses the handshake (502)."""
    assert refused_status(stack.ws_url + "?noanswer=1") == 502


def test_connect_that_hangs_is_cut_at_the_lambda_timeout(stack: Stack) -> None:
    """A $connect past the function timeout (2 s here) counts as failed: refused with 500."""
    started = time.monotonic()
    assert refused_status(stack.ws_url + "?hang=1") == 500
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


def test_message_of_128_kb_passes_and_one_byte_more_closes_1009(
    stack: Stack, event_log: EventLog
) -> None:
    """128 KB is the largest frame; a larger one closes the socket with 1009."""
    at_limit = "x" * MESSAGE_LIMIT_BYTES
    over_limit = "y" * (MESSAGE_LIMIT_BYTES + 1)

    async def chat() -> tuple[str, int | None]:
        async with ws_connect(stack.ws_url, max_size=None) as ws:
            connection_id = await whoami(ws)
            await ws.send(at_limit)
            await ws.send(over_limit)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            received = closed.value.rcvd
            return connection_id, None if received is None else received.code

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

    async def chat() -> tuple[str, int | None, float]:
        async with ws_connect(stack.ws_url) as ws:
            started = time.monotonic()  # before the last frame: idle counts from its arrival
            connection_id = await whoami(ws)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 5)
            received = closed.value.rcvd
            return connection_id, received and received.code, time.monotonic() - started

    connection_id, code, waited = asyncio.run(chat())
    assert code == 1001
    assert 0.8 <= waited < 2.5
    event = log.wait_for("$disconnect", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == 1001


def test_activity_keeps_a_connection_until_the_maximum_duration(
    timeouts: tuple[Stack, EventLog],
) -> None:
    """Frames keep an idle-prone socket open, but the maximum duration still closes it."""
    stack, log = timeouts

    async def chat() -> tuple[str, float, int | None]:
        async with ws_connect(stack.ws_url) as ws:
            connection_id = await whoami(ws)
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
            return connection_id, time.monotonic() - started, received and received.code

    connection_id, lasted, code = asyncio.run(chat())
    assert code == 1001
    assert 1.5 <= lasted < 4.0  # well past the 0.8 s idle timeout, cut near 2.5 s
    log.wait_for("$disconnect", connection_id)


def test_client_that_stops_answering_pings_is_disconnected(tmp_path: Path) -> None:
    """A client that neither closes nor answers pings is found by the heartbeat: 1006."""
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
