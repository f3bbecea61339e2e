"""Hostile frames through the whole stack: each gets exactly one answer, to its sender only.

``expected`` is the oracle: from a frame's text alone (the backend's own parser), how many
frames its sender and the rest of the room should receive. ``exchange`` sends frames in
batches on one connection, with an observer in the same room, and counts what arrives. Answers
are counted, not matched one by one, since API Gateway invokes a connection's frames
concurrently and answers carry no request id; a quiet period after the last batch catches any
extra frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from chat.config import DEFAULT_MAX_MESSAGE_CHARS
from chat.errors import ClientError, ErrorCode
from chat.protocol import Join, SendMessage, Typing, parse_frame
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

# The frames API Gateway itself sends when an integration fails or times out.
GATEWAY_FAILURES: Final = ("Internal server error", "Endpoint request timed out")


@dataclass(frozen=True)
class Expected:
    """How many frames a client frame brings its sender and each other member of the room."""

    to_sender: int
    to_others: int


@dataclass
class Oracle:
    """``expected`` for the frames of one sender in one room, in the order they are sent."""

    max_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    client_ids: set[str] = field(default_factory=set)

    def expected(self, frame: str) -> Expected | None:
        """The answers ``frame`` brings; None for a valid ``join`` (two answers and a presence
        notice) or ``typing`` (a notice to the others while its budget lasts, which refills
        with time, so its answers depend on timing): not hostile frames, so they are left out."""
        try:
            parsed = parse_frame(frame, max_chars=self.max_chars)
        except ClientError:
            return Expected(1, 0)
        if isinstance(parsed, Join | Typing):
            return None
        if isinstance(parsed, SendMessage):
            # A clientId already used in the room is answered to the sender alone (idempotent).
            if parsed.client_id is not None and parsed.client_id in self.client_ids:
                return Expected(1, 0)
            if parsed.client_id is not None:
                self.client_ids.add(parsed.client_id)
            return Expected(1, 1)
        # history, members, ping, changes: one frame to the sender; an edit, a deletion or a
        # reaction of a message this client did not send: not_found (or its own error).
        return Expected(1, 0)


@dataclass
class Tally:
    """What a run of hostile frames brought (docs/reliability.md, scenario 1)."""

    frames: int = 0
    expected_answers: int = 0
    answers: int = 0
    server_errors: int = 0
    expected_broadcasts: int = 0
    observed: int = 0
    observed_kinds: Counter[str] = field(default_factory=Counter)

    @property
    def unanswered(self) -> int:
        """Answers that never came."""
        return max(0, self.expected_answers - self.answers)

    @property
    def extra_answers(self) -> int:
        """Answers beyond one per frame."""
        return max(0, self.answers - self.expected_answers)

    @property
    def seen_by_others(self) -> int:
        """Frames the rest of the room received that no valid message explains."""
        return max(0, self.observed - self.expected_broadcasts)

    def add(self, other: Tally) -> None:
        """Fold another tally into this one."""
        for name in ("frames", "expected_answers", "answers", "server_errors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.expected_broadcasts += other.expected_broadcasts
        self.observed += other.observed
        self.observed_kinds += other.observed_kinds


def is_server_error(raw: str | bytes) -> bool:
    """Whether a frame reports a failure on the server side, not a fault of the client."""
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        return True  # the server only ever sends JSON
    if not isinstance(frame, dict):
        return True
    if frame.get("message") in GATEWAY_FAILURES:
        return True
    return frame.get("type") == "error" and frame.get("code") == str(ErrorCode.INTERNAL_ERROR)


class _Counter:
    """Counts the frames one client receives, in the background."""

    def __init__(self, ws: ClientConnection) -> None:
        self.count = 0
        self.server_errors = 0
        self.kinds: Counter[str] = Counter()
        self.closed = False
        self._ws = ws
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        # A close without a close frame ends the count too.
        with contextlib.suppress(ConnectionClosed):
            async for raw in self._ws:
                self.count += 1
                self.server_errors += is_server_error(raw)
                self.kinds[_kind(raw)] += 1
        self.closed = True

    async def until(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while self.count < count and not self.closed and time.monotonic() < deadline:
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def _kind(raw: str | bytes) -> str:
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        return "not json"
    return str(frame.get("type") or frame.get("message")) if isinstance(frame, dict) else "?"


def client(url: str) -> connect:
    """A WebSocket client as the tests use it: no proxy, no compression, generous sizes."""
    return connect(url, proxy=None, compression=None, open_timeout=20, max_size=None)


async def exchange(
    ws_url: str,
    room: str,
    frames: Iterable[str],
    *,
    batch: int = 25,
    answer_timeout_s: float = 30.0,
    quiet_s: float = 0.5,
) -> Tally:
    """Send ``frames`` (valid joins are skipped) from one client in ``room``, ``batch`` at a
    time, with an observer in the room; count the answers and what the observer saw."""
    oracle = Oracle()
    tally = Tally()
    async with (
        client(f"{ws_url}?name=observer&room={room}") as observer_ws,
        client(f"{ws_url}?name=sender&room={room}") as sender_ws,
    ):
        sender, observer = _Counter(sender_ws), _Counter(observer_ws)
        try:
            pending: list[str] = []
            for frame in frames:
                expected = oracle.expected(frame)
                if expected is None:
                    continue
                tally.frames += 1
                tally.expected_answers += expected.to_sender
                tally.expected_broadcasts += expected.to_others
                pending.append(frame)
                if len(pending) == batch:
                    await _send(sender_ws, pending)
                    await sender.until(tally.expected_answers, answer_timeout_s)
                    pending = []
            await _send(sender_ws, pending)
            await sender.until(tally.expected_answers, answer_timeout_s)
            await observer.until(tally.expected_broadcasts, answer_timeout_s)
            await asyncio.sleep(quiet_s)
        finally:
            await sender.stop()
            await observer.stop()
    tally.answers, tally.observed = sender.count, observer.count
    tally.observed_kinds = observer.kinds
    tally.server_errors = sender.server_errors + observer.server_errors
    return tally


async def _send(ws: ClientConnection, frames: Sequence[str]) -> None:
    for frame in frames:
        await ws.send(frame)
