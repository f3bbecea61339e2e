"""Benchmark 4, local throughput: K clients talking in one room through the local stack.

The whole chat runs locally: the emulator, the real handler in Lambda worker processes, moto.
Each of K WebSocket clients sends a ``sendmessage``, waits for its own message to come back
(the sender is in the room too), and sends the next: a closed loop, so the load adjusts to what
the stack sustains. Every client reads every message of the room; the text carries the send
time, so each delivery gives a send-to-receive latency (one clock: all clients are in this
process). After a warm-up (Lambda workers starting), deliveries are counted for ``seconds``.

The baseline is one client alone (K = 1): the round trip of a single sender. A closed loop
measures the most the stack delivers, and its latency is mostly queueing; so the latency is
also measured at a steady, chat-like load: K clients sending ``paced_room_rate`` messages per
second in all, evenly spread (``paced`` rows). The stack runs in its own process, with no
injected delay; its Lambda concurrency is the stack's default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.children import Child
from bench.measure import Target, percentile

NAME: Final = "throughput"
_ECHO_TIMEOUT_S: Final = 10.0
_PACED_DRAIN_S: Final = 0.5


@dataclass(frozen=True)
class ThroughputConfig:
    """Client counts and durations."""

    clients: tuple[int, ...] = (1, 10, 50)
    seconds: float = 5.0
    warmup_s: float = 2.0
    paced_clients: tuple[int, ...] = (10, 50)
    paced_room_rate: float = 10.0
    """Messages per second the paced clients send in all."""


@dataclass
class _Window:
    """What the clients record; only deliveries inside [start, end) count."""

    start: float = float("inf")
    end: float = float("inf")
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    errors: int = 0
    error_kinds: Counter[str] = field(default_factory=Counter)
    """Frames that were not a ``message`` (an ``error`` or API Gateway's own)."""
    stopping: bool = False

    def inside(self, now: float) -> bool:
        return self.start <= now < self.end


async def _client(
    session: aiohttp.ClientSession,
    ws_url: str,
    room: str,
    index: int,
    *,
    window: _Window,
    pace: tuple[float, float] | None,
) -> None:
    """One client: closed loop, or (``pace`` = (interval, phase)) one message per interval."""
    ws = await session.ws_connect(ws_url, params={"room": room, "name": f"tp-{index}"})
    mine = asyncio.Event()

    async def read() -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            now = time.perf_counter()
            frame = json.loads(message.data)
            if frame.get("type") == "presence":  # others of the room leaving: not an error
                continue
            if frame.get("type") != "message":
                window.errors += 1
                window.error_kinds[str(frame.get("code") or frame.get("message"))] += 1
                continue
            sender, _sequence, sent_at = str(frame["text"]).split(":")
            if window.inside(now):
                window.latencies_ms.append((now - float(sent_at)) * 1000)
            if sender == str(index):
                mine.set()

    async def send(sequence: int) -> None:
        now = time.perf_counter()
        if window.inside(now):
            window.sent += 1
        text = f"{index}:{sequence}:{now!r}"
        await ws.send_str(json.dumps({"action": "sendmessage", "text": text}))

    reader = asyncio.get_running_loop().create_task(read())
    sequence = 0
    try:
        if pace is None:
            # Send, wait for the echo (or give up on it after a while), repeat until told to stop.
            while not window.stopping:
                sequence += 1
                mine.clear()
                await send(sequence)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(mine.wait(), _ECHO_TIMEOUT_S)
        else:
            interval, phase = pace
            tick = time.perf_counter() + phase
            while not window.stopping:
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
                sequence += 1
                await send(sequence)
                tick += interval
            await asyncio.sleep(_PACED_DRAIN_S)
    finally:
        await ws.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _measure(
    ws_url: str, room: str, count: int, config: ThroughputConfig, *, paced: bool
) -> dict[str, Any]:
    window = _Window()
    interval = count / config.paced_room_rate

    def pace(index: int) -> tuple[float, float] | None:
        return (interval, interval * index / count) if paced else None

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [
            asyncio.create_task(
                _client(session, ws_url, room, index, window=window, pace=pace(index))
            )
            for index in range(count)
        ]
        await asyncio.sleep(config.warmup_s)
        window.start = time.perf_counter()
        window.end = window.start + config.seconds
        await asyncio.sleep(config.seconds)
        window.stopping = True
        await asyncio.gather(*tasks)
    latencies = window.latencies_ms
    return {
        "clients": count,
        "mode": "paced" if paced else "closed loop",
        "offered_messages_per_s": config.paced_room_rate if paced else None,
        "seconds": config.seconds,
        "messages_sent": window.sent,
        "messages_per_s": window.sent / config.seconds,
        "deliveries": len(latencies),
        "deliveries_per_s": len(latencies) / config.seconds,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p99": percentile(latencies, 99),
        "latency_ms_max": max(latencies, default=float("nan")),
        "error_frames": window.errors,
        "error_kinds": dict(window.error_kinds),
    }


def run(config: ThroughputConfig, logs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the throughput benchmark; return its JSON-able results."""
    say("throughput: starting the local stack (no injected delay)")
    rows: list[dict[str, Any]] = []
    with Child("bench.stack_process", [], log_path=logs / "throughput-stack.log") as stack:
        ws_url = str(stack.hello["ws_url"])
        runs = [(count, False) for count in config.clients]
        runs += [(count, True) for count in config.paced_clients]
        for count, paced in runs:
            room = f"throughput-{'paced' if paced else 'closed'}-{count}"
            row = asyncio.run(_measure(ws_url, room, count, config, paced=paced))
            rows.append(row)
            say(
                f"throughput: {count} clients, {row['mode']}: "
                f"{row['deliveries_per_s']:.0f} deliveries/s, "
                f"p50 {row['latency_ms_p50']:.1f} ms, p99 {row['latency_ms_p99']:.1f} ms"
            )
        counters = stack.ask("counters")["counters"]
    baseline = rows[0]
    for row in rows:
        closed = row["mode"] == "closed loop"
        row["deliveries_vs_one_client"] = (
            row["deliveries_per_s"] / max(baseline["deliveries_per_s"], 1e-9) if closed else None
        )
    return {"rows": rows, "stack_counters": counters, "warmup_s": config.warmup_s}


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue sets no number here; the check is that the chat worked throughout."""
    rows = results["rows"]
    return [
        Target(
            NAME,
            "messages delivered, no error frames",
            "deliveries > 0, errors = 0",
            ", ".join(
                f"K={row['clients']} {row['mode']}: {row['deliveries']} "
                f"({row['error_frames']} errors)"
                for row in rows
            ),
            all(row["deliveries"] > 0 and row["error_frames"] == 0 for row in rows),
        )
    ]
