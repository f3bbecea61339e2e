"""``python -m bench.clients_process WS_URL COUNT``: many real WebSocket clients, one process.

Opens ``COUNT`` connections to the local stack (each a real ``$connect`` through the Lambda),
reads every frame they receive and counts them. Commands: ``received`` (frames so far).
Closing stdin closes the process; stop the stack first so no ``$disconnect`` storm follows.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.children import serve

_HANDSHAKES_IN_FLIGHT = 32
_PROGRESS_EVERY = 500


class Clients:
    """``count`` WebSocket clients on an event loop in a background thread."""

    def __init__(self, ws_url: str, count: int, room: str) -> None:
        self.ws_url = ws_url
        self.count = count
        self.room = room
        self.received = 0
        self.opened = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def open(self) -> float:
        """Open every connection; return the seconds it took."""
        started = time.perf_counter()
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result()
        return time.perf_counter() - started

    async def _open(self) -> None:
        started = time.perf_counter()
        session = self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate = asyncio.Semaphore(_HANDSHAKES_IN_FLIGHT)

        async def one(index: int) -> None:
            async with gate:
                ws = await session.ws_connect(
                    self.ws_url, params={"room": self.room, "name": f"bench-{index}"}
                )
            self.opened += 1
            if self.opened % _PROGRESS_EVERY == 0:  # in the log a start timeout quotes
                seconds = time.perf_counter() - started
                print(f"opened {self.opened} of {self.count} in {seconds:.0f} s", file=sys.stderr)
            self._tasks.append(asyncio.get_running_loop().create_task(self._read(ws)))

        await asyncio.gather(*(one(index) for index in range(self.count)))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type is aiohttp.WSMsgType.TEXT:
                self.received += 1

    def close(self) -> None:
        """Close every connection and the loop."""

        async def close() -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._session is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._session.close(), 10)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()


def main(argv: Sequence[str] | None = None) -> None:
    """Open the clients and answer commands until stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ws_url")
    parser.add_argument("count", type=int)
    parser.add_argument("--room", default="bench")
    args = parser.parse_args(argv)
    # The clients stand for browsers on other machines: they yield the CPU to the broadcaster.
    os.nice(10)
    clients = Clients(args.ws_url, args.count, args.room)
    try:
        seconds = clients.open()
    except Exception as error:
        sys.stdout.write(json.dumps({"error": f"opening clients: {error!r}"}) + "\n")
        sys.stdout.flush()
        raise

    def received(_request: dict[str, Any]) -> dict[str, Any]:
        return {"received": clients.received}

    try:
        serve({"opened": clients.opened, "seconds": round(seconds, 3)}, {"received": received})
    finally:
        clients.close()


if __name__ == "__main__":
    main()
