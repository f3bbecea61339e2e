"""The whole path through the local stack under generated hostile frames (Hypothesis): the
emulator routes each as API Gateway would, the real handler answers, and the sender gets
exactly one answer, the rest of the room nothing (bar the messages it should see), and no log
has a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from soak.hostile import exchange
from soak.strategies import hostile_frame, valid_text_frame
from tests.local_stack.support import fresh_room

# Each example is a batch of frames through a real stack: a tenth of the profile's examples
# keeps `make test` within its budget (a few hundred frames), the soak profile sends thousands.
EXAMPLES = max(10, settings.default.max_examples // 10)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with its rate limits lifted: the generator sends in volume on purpose."""
    options = StackOptions(site_dir=None, function=FunctionSettings(environment=LIFTED_RATE_LIMITS))
    with running_stack(options) as running:
        yield running


@settings(
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frames=st.lists(hostile_frame().filter(valid_text_frame), min_size=1, max_size=25))
def test_every_hostile_frame_gets_exactly_one_answer(
    stack: Stack, frames: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever the frames hold (not JSON, deep nesting, huge numbers, duplicate keys, NaN,
    lone surrogates, wrong types), one answer each to the sender, nothing else to anyone,
    no server error and no traceback."""
    caplog.clear()
    tally = asyncio.run(exchange(stack.ws_url, fresh_room("hostile"), frames, quiet_s=0.2))
    assert (tally.unanswered, tally.extra_answers) == (0, 0), tally
    assert tally.server_errors == 0, tally
    assert tally.seen_by_others == 0, tally
    assert tally.observed == tally.expected_broadcasts, tally
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failures, [r.getMessage() for r in failures]
