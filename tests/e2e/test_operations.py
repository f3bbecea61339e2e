"""End to end: the per-connection rate limit across Lambda workers, and the metrics the local
stack's function writes (what `make dev` shows and CloudWatch would extract)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from chat.config import EnvVar

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.stack import Stack, StackOptions, running_stack
from tests.backend.test_metrics import metrics_of, validate_emf
from tests.e2e.test_chat import frame, join, room, say
from tests.e2e.test_presence import joined
from tests.local_stack.support import wait_until

BURST = 4
PER_MINUTE = 60  # one a second once the burst is spent


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with a small message budget and eight workers."""
    environment = {
        EnvVar.RATE_LIMIT_MESSAGES_PER_MINUTE.value: str(PER_MINUTE),
        EnvVar.RATE_LIMIT_MESSAGE_BURST.value: str(BURST),
        EnvVar.PRESENCE_NOTICE_MAX_MEMBERS.value: "0",
    }
    options = StackOptions(
        site_dir=None, function=FunctionSettings(environment=environment, concurrency=8)
    )
    with running_stack(options) as running:
        yield running


def test_a_flood_is_refused_across_workers_while_others_chat(stack: Stack) -> None:
    """20 frames at once from one client reach several workers; the burst is accepted (and one
    more for each second the flood takes to serve), the rest get rate_limited; another
    member chatting at a normal pace is never refused; after the wait the flooder may send
    again."""
    lobby = room()

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        async with join(stack, "flood", lobby) as flood, join(stack, "calm", lobby) as calm:
            started = time.monotonic()
            await asyncio.gather(*(say(flood, f"spam {n}", clientId=f"s{n}") for n in range(20)))
            answers = [await frame(flood) for _ in range(20)]
            elapsed.append(time.monotonic() - started)
            calm_frames = []
            for n in range(3):
                await say(calm, f"calm {n}")
                while True:  # the flood's accepted messages arrive too
                    got = await frame(calm)
                    if got.get("from") == "calm":
                        calm_frames.append(got)
                        break
                await asyncio.sleep(0.2)
            await asyncio.sleep(max(f.get("retryAfterMs", 0) for f in answers) / 1000 + 0.1)
            await say(flood, "after the wait")
            while (again := await frame(flood)).get("text") != "after the wait":
                assert again["type"] == "message"  # a late delivery of the flood's own
            return answers, calm_frames, again

    elapsed: list[float] = []
    answers, calm_frames, again = asyncio.run(scenario())
    own = [a for a in answers if a["type"] == "message" and a.get("clientId")]
    refused = [a for a in answers if a["type"] == "error"]
    # GCRA earns one more message per interval while the flood is being served.
    assert BURST <= len(own) <= BURST + 1 + int(elapsed[0] * PER_MINUTE / 60)
    assert len(refused) == 20 - len(own)
    assert {r["code"] for r in refused} == {"rate_limited"}
    # A refusal's wait is counted from its invocation's clock, read when it started: a write
    # accepted meanwhile by another worker, at a later clock, can stand up to the flood's time
    # further ahead of it (seen once on a loaded machine, above one interval).
    most = 60_000 // PER_MINUTE + int(elapsed[0] * 1000)
    assert all(0 < r["retryAfterMs"] <= most for r in refused), refused
    assert [f["type"] for f in calm_frames] == ["message"] * 3
    assert again["type"] == "message"
    assert stack.counters()["cold_starts"] > 1  # the flood was served by several workers


def test_the_function_writes_valid_emf_with_its_counts(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """The local stack shows the function's summary lines; each is an EMF document whose metrics
    are that invocation's counts (3 members: 3 delivered)."""
    lobby = room()
    caplog.set_level(logging.INFO, logger="lambda")

    async def scenario() -> None:
        async with (
            join(stack, "a", lobby) as a,
            join(stack, "b", lobby) as b,
            join(stack, "c", lobby) as c,
        ):
            for member in (a, b, c):
                await joined(member)
            # Forget the summaries of earlier tests' invocations that ended late (this module
            # shares one stack): the last sendmessage line must be this test's.
            caplog.clear()
            await say(a, "hello")
            for member in (a, b, c):  # all three, before anyone leaves
                assert (await frame(member))["text"] == "hello"

    def summaries() -> list[dict[str, Any]]:
        lines = [r.getMessage() for r in caplog.records if r.name.startswith("lambda.")]
        return [json.loads(line) for line in lines if '"message":"invocation"' in line]

    def sends() -> list[dict[str, Any]]:
        return [s for s in summaries() if s["route"] == "sendmessage" and s["outcome"] == "ok"]

    asyncio.run(scenario())
    # The summary is written once the invocation ends, after the frames went out.
    wait_until(sends, what="the sendmessage summary line")
    document = validate_emf(json.dumps(sends()[-1]))
    assert metrics_of(document)["delivered"] == 3
    assert metrics_of(document)["messages_accepted"] == 1
    opened = [s for s in summaries() if s["route"] == "$connect"]
    assert all(metrics_of(validate_emf(json.dumps(s)))["connections_opened"] == 1 for s in opened)
