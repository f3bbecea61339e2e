"""Benchmark 4, local throughput: K clients talking in one room through the local stack.

The whole chat runs locally: the emulator, the real handler in Lambda worker processes, moto.
Each of K WebSocket clients sends a ``sendmessage``, waits for its own message to come back
(the sender is in the room too), and sends the next: a closed loop, so the load adjusts to what
the stack sustains. Every client reads every message of the room; the text carries the send
time, so each delivery gives a send-to-receive latency (one clock: all clients are in this
process). After a warm-up (Lambda workers starting), deliveries are counted for ``seconds``.

The baseline is one client alone (K = 1): the round trip of a single sender. The stack runs in
its own process, with no injected delay; its Lambda concurrency is the stack's default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench.children import Child
from bench.measure import Target, percentile

NAME: Final = "throughput"
_ECHO_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True)
class ThroughputConfig:
    """Client counts and durations."""

    clients: tuple[int, ...] = (1, 10, 50)
    seconds: float = 5.0
    warmup_s: float = 2.0


@dataclass
class _Window:
    """What the clients record; only deliveries inside [start, end) count."""

    start: float = float("inf")
    end: float = float("inf")
    latencies_ms: list[float] = field(default_factory=list)
    sent: int = 0
    errors: int = 0
    """Frames that were not a ``message`` (an ``error`` or API Gateway's own)."""
    stopping: bool = False

    def inside(self, now: float) -> bool:
        return self.start <= now < self.end


async def _client(
    session: aiohttp.ClientSession, ws_url: str, room: str, index: int, window: _Window
) -> None:
    ws = await session.ws_connect(ws_url, params={"room": room, "name": f"tp-{index}"})
    mine = asyncio.Event()

    async def read() -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            now = time.perf_counter()
            frame = json.loads(message.data)
            if frame.get("type") != "message":
                window.errors += 1
                continue
            sender, _sequence, sent_at = str(frame["text"]).split(":")
            if window.inside(now):
                window.latencies_ms.append((now - float(sent_at)) * 1000)
            if sender == str(index):
                mine.set()

    reader = asyncio.get_running_loop().create_task(read())
    sequence = 0
    try:
        # Send, wait for the echo (or give up on it after a while), repeat until told to stop.
        while not window.stopping:
            sequence += 1
            mine.clear()
            now = time.perf_counter()
            if window.inside(now):
                window.sent += 1
            text = f"{index}:{sequence}:{now!r}"
            await ws.send_str(json.dumps({"action": "sendmessage", "text": text}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(mine.wait(), _ECHO_TIMEOUT_S)
    finally:
        await ws.close()
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _measure(ws_url: str, room: str, count: int, config: ThroughputConfig) -> dict[str, Any]:
    window = _Window()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [
            asyncio.create_task(_client(session, ws_url, room, index, window))
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
        "seconds": config.seconds,
        "messages_sent": window.sent,
        "messages_per_s": window.sent / config.seconds,
        "deliveries": len(latencies),
        "deliveries_per_s": len(latencies) / config.seconds,
        "latency_ms_p50": percentile(latencies, 50),
        "latency_ms_p99": percentile(latencies, 99),
        "latency_ms_max": max(latencies, default=float("nan")),
        "error_frames": window.errors,
    }


def run(config: ThroughputConfig, logs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the throughput benchmark; return its JSON-able results."""
    say("throughput: starting the local stack (no injected delay)")
    rows: list[dict[str, Any]] = []
    with Child("bench.stack_process", [], log_path=logs / "throughput-stack.log") as stack:
        ws_url = str(stack.hello["ws_url"])
        for count in config.clients:
            row = asyncio.run(_measure(ws_url, f"throughput-{count}", count, config))
            rows.append(row)
            say(
                f"throughput: {count} clients: {row['deliveries_per_s']:.0f} deliveries/s, "
                f"p50 {row['latency_ms_p50']:.1f} ms, p99 {row['latency_ms_p99']:.1f} ms"
            )
        counters = stack.ask("counters")["counters"]
    baseline = rows[0]
    for row in rows:
        row["deliveries_vs_one_client"] = row["deliveries_per_s"] / max(
            baseline["deliveries_per_s"], 1e-9
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
                f"K={row['clients']}: {row['deliveries']} ({row['error_frames']} errors)"
                for row in rows
            ),
            all(row["deliveries"] > 0 and row["error_frames"] == 0 for row in rows),
        )
    ]
