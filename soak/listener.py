"""Scenario 6's room members: clients that only count what reaches them.

The steady load delivers 600,000 messages in 20 minutes. A client that kept each frame (as
``soak.chat.Member`` does, for the scenarios that merge and resend) would grow by about 1 KB a
delivery, and since the clients share the emulator's process, its growth would hide whether the
emulator's own memory stays flat. These keep a fixed-size record instead: a latency histogram and
one byte per message sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from array import array
from dataclasses import dataclass, field
from typing import Any, Final, Self

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from soak.hostile import client, is_server_error

# Latencies are counted in whole milliseconds up to a minute; anything slower goes into the last
# bucket (the maximum is kept exactly beside it).
BUCKETS: Final = 60_000
TEXT_PREFIX: Final = "steady "


def steady_text(n: int) -> str:
    """The text of the steady load's ``n``th message: its number is all a listener needs."""
    return f"{TEXT_PREFIX}{n}"


def _number(text: object) -> int | None:
    if not isinstance(text, str) or not text.startswith(TEXT_PREFIX):
        return None
    digits = text[len(TEXT_PREFIX) :]
    return int(digits) if digits.isdigit() else None


@dataclass
class Deliveries:
    """What all listeners received, in memory that does not grow with the count: how many times
    each message number arrived, and a histogram of the delays since it was sent."""

    sent_at: list[float] = field(default_factory=list)
    histogram: array[int] = field(default_factory=lambda: array("Q", bytes(8 * BUCKETS)))
    arrivals: int = 0
    duplicates: int = 0
    unknown: int = 0
    slowest_s: float = 0.0
    _seen: dict[str, bytearray] = field(default_factory=dict)

    def sent(self, n: int, at: float) -> None:
        """Record that message ``n`` left the sender at ``at`` (``time.time()``)."""
        if n != len(self.sent_at):
            raise ValueError(f"message {n} sent out of order (expected {len(self.sent_at)})")
        self.sent_at.append(at)

    def arrived(self, member: str, text: object, at: float) -> None:
        """Record that ``member`` received the message whose text is ``text`` at ``at``."""
        n = _number(text)
        if n is None or n >= len(self.sent_at):
            self.unknown += 1
            return
        seen = self._seen.setdefault(member, bytearray())
        if len(seen) <= n:
            seen.extend(bytes(n + 1 - len(seen)))
        if seen[n]:
            self.duplicates += 1
            return
        seen[n] = 1
        self.arrivals += 1
        delay = max(0.0, at - self.sent_at[n])
        self.slowest_s = max(self.slowest_s, delay)
        self.histogram[min(BUCKETS - 1, int(delay * 1000))] += 1

    def quantile_ms(self, q: float) -> float:
        """The delay in ms that a fraction ``q`` of first arrivals did not exceed (to 1 ms)."""
        if not self.arrivals:
            return float("nan")
        rank = min(self.arrivals - 1, int(q * self.arrivals))
        total = 0
        for ms, count in enumerate(self.histogram):
            total += count
            if total > rank:
                return float(ms)
        return float(BUCKETS - 1)

    def missing(self, members: int) -> int:
        """Deliveries that never came: each message to each of ``members``, once."""
        return members * len(self.sent_at) - self.arrivals


@dataclass
class Listener:
    """One room member that reads every frame and tallies its messages into ``deliveries``."""

    name: str
    ws: ClientConnection
    deliveries: Deliveries
    errors: int = 0
    server_errors: int = 0
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def join(cls, ws_url: str, name: str, room: str, deliveries: Deliveries) -> Self:
        """Connect to ``room`` as ``name`` and start reading."""
        ws = await client(f"{ws_url}?name={name}&room={room}")
        listener = cls(name, ws, deliveries)
        listener._reader = asyncio.get_running_loop().create_task(listener._read())
        return listener

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.time()
                self.server_errors += is_server_error(raw)
                frame: dict[str, Any] = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self.deliveries.arrived(self.name, frame.get("text"), now)
                elif kind == "error" or "message" in frame:
                    self.errors += 1

    async def say(self, text: str) -> None:
        """Send a message with a fresh ``clientId``, as the page does."""
        payload = {"action": "sendmessage", "text": text, "clientId": uuid.uuid4().hex}
        await self.ws.send(json.dumps(payload))

    async def close(self) -> None:
        """Close with a close frame and stop reading."""
        await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
