"""The soak's six scenarios (docs/reliability.md). Each starts its own local stack on loopback,
runs for a bounded count and time, and returns its figures as a flat mapping."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import statistics
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from chat.connections import CONNECTION_ID_ATTRIBUTE, NAME_ATTRIBUTE, ROOM_ATTRIBUTE
from hypothesis import HealthCheck, Phase, given, settings
from websockets.exceptions import ConnectionClosed

from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.core.quotas import FRAME_LIMIT_BYTES, MESSAGE_LIMIT_BYTES
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import (
    CHAT_ROUTES,
    LIFTED_RATE_LIMITS,
    Stack,
    StackOptions,
    running_stack,
)
from soak.chat import Member, resend_unacknowledged
from soak.hostile import Tally, client, exchange
from soak.listener import Deliveries, Listener, steady_text
from soak.strategies import hostile_frame, valid_text_frame

Figures = dict[str, Any]
MB: Final = 1024 * 1024
LAMBDA_TIMEOUT_S: Final = 3.0


class ErrorLog(logging.Handler):
    """Counts log records at ERROR or above, and any with a traceback, while installed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0
        self.first: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Count one record if it reports a failure."""
        if record.levelno >= logging.ERROR or record.exc_info:
            self.count += 1
            self.first = self.first or record.getMessage()[:200]


@contextmanager
def stack_and_errors(**options: Any) -> Iterator[tuple[Stack, ErrorLog]]:
    """A chat stack with the rate limits lifted (the soak sends in volume on purpose), and the
    count of ERROR records and tracebacks logged anywhere in this process meanwhile (the
    emulator, and the workers' output relayed through ``lambda.*``)."""
    function: FunctionSettings = options.pop(
        "function", FunctionSettings(environment=LIFTED_RATE_LIMITS)
    )
    errors = ErrorLog()
    root = logging.getLogger()
    root.addHandler(errors)
    try:
        with running_stack(StackOptions(site_dir=None, function=function, **options)) as stack:
            yield stack, errors
    finally:
        root.removeHandler(errors)


def fresh(prefix: str) -> str:
    """A new room (or name) no other scenario uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def draw_frames(count: int, seed: int) -> list[str]:
    """``count`` hostile frames from the property tests' strategy (``soak.strategies``)."""
    frames: list[str] = []

    @settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        derandomize=False,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_frame().filter(valid_text_frame))
    def collect(frame: str) -> None:
        frames.append(frame)

    collect._hypothesis_internal_use_seed = seed  # type: ignore[attr-defined]
    collect()
    return frames


# ----------------------------------------------------------------------------- 1. hostile


async def _binary_and_large(ws_url: str, room: str, count: int) -> tuple[int, int]:
    """``count`` binary frames (each on its own connection: API Gateway closes with 1003) and
    ``count`` 128 KB bodies in four 32 KB fragments; returns (answered, server errors)."""
    answered = errors = 0
    for i in range(count):
        async with client(f"{ws_url}?name=bin{i}&room={room}") as ws:
            await ws.send(os.urandom(16 + i % 64))
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except ConnectionClosed as closed:
                answered += closed.rcvd is not None and closed.rcvd.code == 1003
            except TimeoutError:
                pass
    async with client(f"{ws_url}?name=large&room={room}") as ws:
        for i in range(count):
            head, tail = '{"action":"sendmessage","text":"', f'","n":{i}}}'
            body = head + "x" * (MESSAGE_LIMIT_BYTES - len(head) - len(tail)) + tail  # 128 KB
            chunks = [
                body[j : j + FRAME_LIMIT_BYTES] for j in range(0, len(body), FRAME_LIMIT_BYTES)
            ]
            await ws.send(chunks)
            try:
                reply = await asyncio.wait_for(ws.recv(), 10)
                answered += 1
                errors += '"internal_error"' in str(reply) or "Internal server" in str(reply)
            except TimeoutError:
                pass
    return answered, errors


def hostile(frames: int, seed: int) -> Figures:
    """Scenario 1: ``frames`` generated hostile text frames, plus binary and 128 KB ones."""
    started = time.monotonic()
    drawn = draw_frames(frames, seed)
    extra = max(1, frames // 500)
    with stack_and_errors() as (stack, errors):
        tally = Tally()
        room = fresh("hostile")
        for start in range(0, len(drawn), 1000):  # a fresh pair in a fresh room now and then
            part = asyncio.run(
                exchange(stack.ws_url, fresh("hostile"), drawn[start : start + 1000], batch=40)
            )
            tally.add(part)
        answered, large_errors = asyncio.run(_binary_and_large(stack.ws_url, room, extra))
    return {
        "frames": tally.frames + 2 * extra,
        "answered": tally.frames - tally.unanswered + answered,
        "unanswered": tally.unanswered + (2 * extra - answered),
        "extra answers": tally.extra_answers,
        "server errors (frames)": tally.server_errors + large_errors,
        "server errors (log)": errors.count,
        "frames seen by others": tally.seen_by_others,
        "what others saw": dict(tally.observed_kinds),
        "binary + 128 KB frames": 2 * extra,
        "seconds": round(time.monotonic() - started, 1),
    }


# ----------------------------------------------------------------------------- 2. churn


def _table_items(stack: Stack) -> int:
    answer = stack.dynamodb().scan(TableName=stack.table_name, Select="COUNT")
    return int(answer["Count"])


def churn(cycles: int) -> Figures:
    """Scenario 2: connect, join, leave; every third leaves without a close frame."""
    started = time.monotonic()
    with stack_and_errors() as (stack, errors):
        room = fresh("churn")
        noticed: list[float] = []

        async def run() -> None:
            for i in range(cycles):
                before = set(stack.open_connection_ids())
                member = await Member.join(stack.ws_url, f"c{i}", room)
                mine = set(stack.open_connection_ids()) - before
                dropped = i % 3 == 2
                dropped_at = time.monotonic()
                await member.close(drop=dropped)
                if dropped:
                    while mine & set(stack.open_connection_ids()):
                        if time.monotonic() - dropped_at > 30:
                            break
                        await asyncio.sleep(0.002)
                    noticed.append(time.monotonic() - dropped_at)

        asyncio.run(run())
        deadline = time.monotonic() + 30
        while _table_items(stack) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = _table_items(stack)
        counters = stack.counters()
    return {
        "cycles": cycles,
        "dropped without close frame": len(noticed),
        "items left in the connections table": left,
        "open connections left": counters.get("connect", 0) - counters.get("disconnect", 0),
        "drop noticed after ms p50": round(statistics.median(noticed) * 1000, 1),
        "drop noticed after ms max": round(max(noticed) * 1000, 1),
        "server errors (log)": errors.count,
        "seconds": round(time.monotonic() - started, 1),
    }


# ----------------------------------------------------------------------------- 3. faults


def _add_ghosts(stack: Stack, room: str, count: int) -> None:
    """Connection items for connections that are gone: every post to them answers 410."""
    client_ = stack.dynamodb()
    item = client_.scan(
        TableName=stack.table_name,
        FilterExpression="#room = :room",
        ExpressionAttributeNames={"#room": ROOM_ATTRIBUTE},
        ExpressionAttributeValues={":room": {"S": room}},
    )["Items"][0]
    for i in range(count):
        ghost = dict(item)
        ghost[CONNECTION_ID_ATTRIBUTE] = {"S": f"ghost{i}{uuid.uuid4().hex[:8]}="}
        ghost[NAME_ATTRIBUTE] = {"S": f"ghost{i}"}
        client_.put_item(TableName=stack.table_name, Item=ghost)


@dataclass
class RoomOutcome:
    """What a room's members ended with, after catching up."""

    sent: int
    stored: int
    lost_live: int
    recovered_by_catch_up: int
    duplicates_received: int
    duplicates_shown: int
    server_errors: int
    stored_twice: list[str]


async def _converse(
    stack: Stack, members: list[Member], per_member: int, ghosts: int, room: str
) -> RoomOutcome:
    sent: dict[str, dict[str, str]] = {m.name: {} for m in members}
    for round_ in range(per_member):
        if ghosts and round_ % 2 == 0:
            await asyncio.to_thread(_add_ghosts, stack, room, ghosts)
        for member in members:
            client_id = await member.say(f"{member.name} #{round_}")
            sent[member.name][client_id] = f"{member.name} #{round_}"
        await asyncio.sleep(0.05)
    for member in members:
        await resend_unacknowledged(member, sent[member.name])
    await asyncio.sleep(1.0)
    missed_live = [len(_all_ids(members) - m.shown()) for m in members]
    recovered = [await m.catch_up() for m in members]
    everything = _all_ids(members)
    return RoomOutcome(
        sent=sum(len(s) for s in sent.values()),
        stored=len(everything),
        lost_live=sum(len(everything - m.shown()) for m in members),
        recovered_by_catch_up=sum(min(a, b) for a, b in zip(missed_live, recovered, strict=True)),
        duplicates_received=sum(m.duplicates() for m in members),
        duplicates_shown=0 if all(m.shown() == everything for m in members) else -1,
        server_errors=sum(m.server_errors for m in members),
        stored_twice=_stored_twice(members),
    )


def _stored_twice(members: list[Member]) -> list[str]:
    """Texts (unique per send) that reached the room under more than one message id."""
    ids: dict[str, set[str]] = {}
    for member in members:
        for message in member.received:
            ids.setdefault(str(message.get("text")), set()).add(str(message["id"]))
    return sorted(text for text, found in ids.items() if len(found) > 1)


def _all_ids(members: list[Member]) -> set[str]:
    ids: set[str] = set()
    for member in members:
        ids |= member.shown()
    return ids


def faults(members: int, per_member: int, seed: int) -> Figures:
    """Scenario 3: 5 % of posts answered 429 or 500, 10 % of recipients gone (410)."""
    started = time.monotonic()
    emulator = EmulatorSettings(
        routes=CHAT_ROUTES,
        faults=FaultInjection(error_rate=0.05, error_statuses=(429, 500)),
        seed=seed,
    )
    ghosts = max(1, members // 9)  # a tenth of the recipients
    with stack_and_errors(emulator=emulator) as (stack, errors):
        room = fresh("faults")

        async def run() -> RoomOutcome:
            people = [await Member.join(stack.ws_url, f"m{i}", room) for i in range(members)]
            await asyncio.sleep(1.5)  # the room's index is eventually consistent (protocol.md)
            outcome = await _converse(stack, people, per_member, ghosts, room)
            for person in people:
                await person.close()
            return outcome

        outcome = asyncio.run(run())
        counters = stack.counters()
    acknowledged_missing = outcome.sent - outcome.stored
    return {
        "members": members,
        "gone recipients per message": ghosts,
        "messages sent": outcome.sent,
        "messages stored (seen by anyone)": outcome.stored,
        "acknowledged messages missing": acknowledged_missing,
        "posts": counters.get("posts", 0),
        "injected 429": counters.get("injected_429", 0),
        "injected 500": counters.get("injected_500", 0),
        "410 answers": counters.get("post_410", 0),
        "lost for live members (after catch-up)": outcome.lost_live,
        "recovered by catch-up": outcome.recovered_by_catch_up,
        "duplicates received": outcome.duplicates_received,
        "duplicates shown (after merge by id)": max(0, outcome.duplicates_shown),
        "sends stored as two messages": outcome.stored_twice,
        "server errors (frames)": outcome.server_errors,
        "server errors (log)": errors.count,
        "seconds": round(time.monotonic() - started, 1),
    }


# ----------------------------------------------------------------------------- 4. crash


def _stored(stack: Stack, room: str) -> int:
    answer = stack.dynamodb().query(
        TableName=stack.messages_table_name,
        KeyConditionExpression="#room = :room",
        ExpressionAttributeNames={"#room": "room"},
        ExpressionAttributeValues={":room": {"S": room}},
        Select="COUNT",
        ConsistentRead=True,
    )
    return int(answer["Count"])


def crash(members: int) -> Figures:
    """Scenario 4: the worker running a broadcast is killed in the middle of it."""
    started = time.monotonic()
    emulator = EmulatorSettings(routes=CHAT_ROUTES, faults=FaultInjection(delay_s=1.0))
    with stack_and_errors(emulator=emulator) as (stack, _errors):
        room = fresh("crash")

        async def run() -> Figures:
            people = [await Member.join(stack.ws_url, f"k{i}", room) for i in range(members)]
            await asyncio.sleep(1.5)
            sender = people[0]
            client_id = await sender.say("the message in flight")
            killed: list[int] = []
            deadline = time.monotonic() + 5
            while not killed and time.monotonic() < deadline:  # posts are now being delayed
                await asyncio.sleep(0.3)
                for pid in await asyncio.to_thread(stack.busy_worker_pids):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
            await asyncio.sleep(2.5)
            told = [e for e in sender.errors if e.get("message") == "Internal server error"]
            live = sum(
                1
                for p in people
                if any(
                    m.get("clientId") == client_id or m.get("text") == "the message in flight"
                    for m in p.received
                )
            )
            # The page resends after an error, with the same clientId: idempotent.
            await resend_unacknowledged(sender, {client_id: "the message in flight"})
            for person in people:
                await person.catch_up()
            after = sum(
                1
                for p in people
                if any(m.get("text") == "the message in flight" for m in p.received)
            )
            for person in people:
                await person.close()
            return {
                "members": members,
                "workers killed": len(killed),
                "sender told (Internal server error frame)": len(told),
                "sender acknowledged after resending": client_id in sender.acknowledged(),
                "members with the message live": live,
                "members with the message after catch-up": after,
            }

        figures = asyncio.run(run())
        figures["times stored"] = _stored(stack, room)
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


# ----------------------------------------------------------------------------- 5. outage


def outage(clients: int, outage_s: float) -> Figures:
    """Scenario 5: DynamoDB unreachable (moto's process paused) for ``outage_s`` seconds."""
    started = time.monotonic()
    function = FunctionSettings(environment=LIFTED_RATE_LIMITS, timeout_s=LAMBDA_TIMEOUT_S)
    with stack_and_errors(function=function) as (stack, _errors):
        room = fresh("outage")
        pid = stack.dynamodb_pid
        assert pid is not None  # noqa: S101 -- the stack started moto itself

        async def run() -> Figures:
            people = [await Member.join(stack.ws_url, f"o{i}", room) for i in range(clients)]
            for _ in range(2):  # warm a worker per client: the outage, not cold starts, is timed
                await asyncio.gather(*(p.ws.send('{"action": "ping"}') for p in people))
                await asyncio.sleep(1.5)
            os.kill(pid, signal.SIGSTOP)
            paused = time.monotonic()
            try:
                sent = time.monotonic()
                for person in people:
                    await person.say("during the outage")
                waits: dict[str, float] = {}
                while time.monotonic() - paused < outage_s:
                    for person in people:
                        if person.errors and person.name not in waits:
                            waits[person.name] = time.monotonic() - sent
                    await asyncio.sleep(0.02)
            finally:
                os.kill(pid, signal.SIGCONT)
            through = sum(
                1 for p in people if any(m.get("text") == "during the outage" for m in p.received)
            )
            resumed = time.monotonic()
            before = {p.name: len(p.received) for p in people}
            for person in people:
                await person.say("after the outage")

            def working() -> int:
                return sum(
                    1
                    for p in people
                    if sum(
                        m.get("text") == "after the outage" for m in p.received[before[p.name] :]
                    )
                    == clients
                )

            while working() < clients and time.monotonic() - resumed < 30:
                await asyncio.sleep(0.05)
            recovered_s = time.monotonic() - resumed
            for person in people:
                await person.close()
            return {
                "clients": clients,
                "outage s": outage_s,
                "Lambda timeout s": LAMBDA_TIMEOUT_S,
                "clients with an error frame": len(waits),
                "slowest error frame s": round(max(waits.values(), default=float("nan")), 2),
                "clients whose outage message was stored after all": through,
                "clients working afterwards (saw every message)": working(),
                "all working again after s": round(recovered_s, 2),
            }

        figures = asyncio.run(run())
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures


# ----------------------------------------------------------------------------- 6. steady


def rss_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (Linux's ``/proc``), 0 if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _memory(stack: Stack) -> Mapping[str, float]:
    workers = stack.runtime.worker_pids()
    total = sum(rss_mb(p) for p in workers)
    return {
        "emulator (soak process)": round(rss_mb(os.getpid()), 1),
        "workers": len(workers),
        "per worker": round(total / max(1, len(workers)), 1),
        "moto": round(rss_mb(stack.dynamodb_pid or 0), 1),
    }


def steady(duration_s: float, members: int, rate_per_s: float) -> Figures:
    """Scenario 6: ``rate_per_s`` messages a second in a room of ``members`` for a while.

    The members are ``Listener``s, whose record of what they received does not grow with it: the
    soak process's memory is then the emulator's (and its clients' fixed share), sampled every
    minute once the worker pool has grown."""
    started = time.monotonic()
    with stack_and_errors() as (stack, errors):
        room = fresh("steady")

        async def run() -> Figures:
            deliveries = Deliveries()
            people = [
                await Listener.join(stack.ws_url, f"s{i}", room, deliveries) for i in range(members)
            ]
            await asyncio.sleep(2.0)
            samples: list[Mapping[str, float]] = []
            warm_up_s = min(60.0, duration_s / 10)
            begin = time.monotonic()
            n = 0
            while time.monotonic() - begin < duration_s:
                if time.monotonic() - begin > warm_up_s + 60.0 * len(samples):
                    samples.append(_memory(stack))
                target = begin + n / rate_per_s
                await asyncio.sleep(max(0.0, target - time.monotonic()))
                deliveries.sent(n, time.time())
                await people[n % members].say(steady_text(n))
                n += 1
            await asyncio.sleep(5.0)
            samples.append(_memory(stack))
            for person in people:
                await person.close()
            return {
                "members": members,
                "messages": n,
                "duration s": round(duration_s),
                "deliveries expected": n * members,
                "deliveries": deliveries.arrivals,
                "missing": deliveries.missing(members),
                "duplicates": deliveries.duplicates,
                "error frames": sum(p.errors for p in people),
                "server error frames": sum(p.server_errors for p in people),
                "latency ms p50": deliveries.quantile_ms(0.5),
                "latency ms p99": deliveries.quantile_ms(0.99),
                "latency ms max": round(deliveries.slowest_s * 1000, 1),
                "memory MB after warm-up": dict(samples[0]),
                "memory MB at end": dict(samples[-1]),
                "soak process MB each minute": [s["emulator (soak process)"] for s in samples],
                "moto MB each minute": [s["moto"] for s in samples],
            }

        figures = asyncio.run(run())
        figures["server errors (log)"] = errors.count
    figures["seconds"] = round(time.monotonic() - started, 1)
    return figures
