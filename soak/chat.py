"""A chat client as the page behaves, for the soak: it reads every frame in the background,
merges messages by ``id``, resends a ``sendmessage`` with the same ``clientId`` until it is
acknowledged, and catches up through ``history``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, Self

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from soak.hostile import client, is_server_error

# The smallest ULID: ``history`` after it reads a room from its first message.
FIRST_ID: Final = "0" * 26


@dataclass
class Member:
    """One chat connection and what it received."""

    name: str
    ws: ClientConnection
    received: list[dict[str, Any]] = field(default_factory=list)
    # The ids of the messages delivered live, in order (``received`` also holds catch-up's).
    live_ids: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    server_errors: int = 0
    _reader: asyncio.Task[None] | None = None
    _replies: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)

    @classmethod
    async def join(cls, ws_url: str, name: str, room: str) -> Self:
        """Connect to ``room`` as ``name`` and start reading."""
        ws = await client(f"{ws_url}?name={name}&room={room}")
        member = cls(name, ws)
        member._reader = asyncio.get_running_loop().create_task(member._read())
        return member

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                self.server_errors += is_server_error(raw)
                frame: dict[str, Any] = json.loads(raw)
                kind = frame.get("type")
                if kind == "message":
                    self.received.append(frame)
                    self.live_ids.append(str(frame["id"]))
                elif kind == "error" or "message" in frame:
                    self.errors.append(frame)
                if kind in {"history", "error", "pong", "members"} or "message" in frame:
                    await self._replies.put(frame)

    def acknowledged(self) -> set[str]:
        """The ``clientId``s whose message this member saw come back (the acknowledgement)."""
        return {str(m["clientId"]) for m in self.received if "clientId" in m}

    def shown(self) -> set[str]:
        """The message ids this member shows: what it received, merged by id."""
        return {str(m["id"]) for m in self.received}

    def duplicates(self) -> int:
        """Messages delivered live more than once (before merging by id, as a client does)."""
        return sum(n - 1 for n in Counter(self.live_ids).values())

    async def say(self, text: str, client_id: str | None = None) -> str:
        """Send a message; returns its ``clientId``."""
        client_id = client_id or uuid.uuid4().hex
        payload = {"action": "sendmessage", "text": text, "clientId": client_id}
        await self.ws.send(json.dumps(payload))
        return client_id

    async def catch_up(self, timeout_s: float = 20.0) -> int:
        """Read the room's history from the start, page by page, merging by id; returns how
        many messages it added that live delivery had missed."""
        before = self.shown()
        cursor = FIRST_ID
        while True:
            page = await self._history(cursor, timeout_s)
            messages = page.get("messages", [])
            for message in messages:
                self.received.append({"type": "message", **message})
            if not page.get("more") or not messages:
                break
            cursor = str(messages[-1]["id"])
        return len(self.shown() - before)

    async def _history(self, cursor: str, timeout_s: float) -> dict[str, Any]:
        payload = {"action": "history", "after": cursor, "limit": 100}
        for _ in range(5):  # a failed read is read again, as the page does
            await self.ws.send(json.dumps(payload))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                reply = await asyncio.wait_for(self._replies.get(), timeout_s)
                if reply.get("type") == "history" and reply.get("after") == cursor:
                    return reply
                if reply.get("type") == "error" or "message" in reply:
                    break
            await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name}: no history page after {cursor}")

    async def close(self, *, drop: bool = False) -> None:
        """Close with a close frame, or (``drop``) vanish without one (TCP closed under it)."""
        if drop:
            self.ws.transport.abort()
        else:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)


async def resend_unacknowledged(
    member: Member, sent: dict[str, str], *, rounds: int = 5, wait_s: float = 3.0
) -> int:
    """Resend, with the same ``clientId``, every message of ``sent`` (clientId to text) not yet
    acknowledged, as the page does after an error or a reconnect; returns how many resends."""
    resends = 0
    for _ in range(rounds):
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline and set(sent) - member.acknowledged():
            await asyncio.sleep(0.05)
        missing = set(sent) - member.acknowledged()
        if not missing:
            break
        for client_id in sorted(missing):
            await member.say(sent[client_id], client_id)
            resends += 1
    return resends
