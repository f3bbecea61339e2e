"""Stage and route throttling ("Protect your WebSocket APIs in API Gateway"): a token bucket
per route ("a token counts for a request"), rate and burst from the route's settings or the
stage's default route settings; throttled requests get 429 Too Many Requests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import InvalidStatus

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.responses import throttled_frame
from local_stack.emulator.core.throttling import StageThrottling, Throttle, TokenBucket
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import Stack, running_stack
from tests.local_stack.support import TEST_ROUTES, EventLog, handler_options, wait_until, ws_connect


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_lets_a_burst_through_then_refills_at_the_rate() -> None:
    """Burst 3, 2 per second: three at once, the fourth throttled; half a second later, one."""
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate_per_s=2.0, burst=3), clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.now += 100.0  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


@given(
    rate=st.floats(0.0, 1000.0),
    burst=st.integers(0, 50),
    gaps=st.lists(st.floats(0.0, 2.0), max_size=60),
)
def test_a_bucket_never_lets_through_more_than_burst_plus_rate_times_time(
    rate: float, burst: int, gaps: list[float]
) -> None:
    """Over any stretch of requests, at most ``burst + rate * elapsed`` get through."""
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate, burst), clock)
    start, passed = clock.now, 0
    for gap in gaps:
        clock.now += gap
        passed += bucket.take()
    assert passed <= burst + rate * (clock.now - start) + 1e-6


def test_route_settings_override_the_stage_default_per_route() -> None:
    """Each route has its own bucket; a route's settings win over the stage's; none, no limit."""
    clock = FakeClock()
    throttling = StageThrottling(Throttle(0.0, 1), {"echo": Throttle(0.0, 2)}, clock)
    assert [throttling.allow("echo") for _ in range(3)] == [True, True, False]
    assert [throttling.allow("$default") for _ in range(2)] == [True, False]
    unthrottled = StageThrottling(None, {"echo": Throttle(0.0, 0)}, clock)
    assert not unthrottled.allow("echo")
    assert all(unthrottled.allow("$default") for _ in range(100))
    assert not StageThrottling(None, {}, clock).active


def test_settings_refuse_negative_limits_and_unknown_routes() -> None:
    """A negative rate or burst, or a route the API does not have, is a configuration error."""
    with pytest.raises(EmulatorConfigError):
        Throttle(-1.0, 1)
    with pytest.raises(EmulatorConfigError):
        EmulatorSettings(route_throttling={"nope": Throttle(1.0, 1)})


def test_throttling_is_off_by_default() -> None:
    """A new stage has no throttling of its own (AWS's account limit is never reached here)."""
    settings = EmulatorSettings()
    assert settings.throttling is None
    assert settings.route_throttling == {}


@pytest.fixture(scope="module")
def throttled_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The test handlers, with echo at burst 2 and no refill, and $connect at burst 3."""
    log = EventLog(Path(tmp_path_factory.mktemp("throttled")) / "events.jsonl")
    settings = EmulatorSettings(
        routes=TEST_ROUTES,
        route_throttling={"echo": Throttle(0.0, 2), "$connect": Throttle(0.0, 3)},
    )
    with running_stack(handler_options(log.path, emulator=settings)) as running:
        yield running


def test_a_throttled_message_gets_too_many_requests_and_never_reaches_the_function(
    throttled_stack: Stack,
) -> None:
    """Past the burst, the frame is answered by API Gateway itself with 429's text, in the
    template of its other frames, and no invocation happens."""

    async def chat() -> list[dict[str, object]]:
        async with ws_connect(throttled_stack.ws_url) as ws:
            for _ in range(3):
                await ws.send(json.dumps({"action": "echo"}))
            return [json.loads(await asyncio.wait_for(ws.recv(), 10)) for _ in range(3)]

    invocations = throttled_stack.counters()["invocations"]
    replies = asyncio.run(chat())
    throttled = [r for r in replies if r.get("message") == "Too Many Requests"]
    assert len(throttled) == 1
    cid, rid = str(throttled[0]["connectionId"]), str(throttled[0]["requestId"])
    assert json.dumps(throttled[0]) == json.dumps(json.loads(throttled_frame(cid, rid)))
    assert throttled_stack.counters()["throttled"] >= 1
    # $connect, two echoes and $disconnect ran; the throttled echo did not.
    ran = wait_until(
        lambda: max(0, throttled_stack.counters()["invocations"] - invocations - 3),
        what="$disconnect",
    )
    assert ran == 1


def test_a_throttled_connect_is_refused_with_429(throttled_stack: Stack) -> None:
    """Past $connect's burst the handshake is refused with 429 Too Many Requests."""

    async def connect_until_refused() -> int:
        for _ in range(5):
            try:
                async with ws_connect(throttled_stack.ws_url):
                    pass
            except InvalidStatus as exc:
                return int(exc.response.status_code)
        return 0

    assert asyncio.run(connect_until_refused()) == 429
