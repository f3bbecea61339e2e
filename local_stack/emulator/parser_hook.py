"""The hook that puts API Gateway's frame screen (``websocket_frames.FrameScreen``) in front of
aiohttp's WebSocket parser: ``GatewayWebSocket`` is aiohttp's server socket with its parser
wrapped in ``ScreenedParser``, which feeds the parser only what the screen lets through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from local_stack.emulator.websocket_frames import FrameScreen


class ScreenedParser:
    """Feeds aiohttp's WebSocket parser only what ``FrameScreen`` lets through."""

    def __init__(self, parser: Any, screen: FrameScreen, refused: Callable[[], object]) -> None:
        self._parser = parser
        self._screen = screen
        self._refused = refused
        self._reported = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        passed = self._screen.feed(bytes(data))
        if self._screen.violation is not None and not self._reported:
            self._reported = True
            asyncio.get_running_loop().call_soon(self._refused)
        if not passed:
            return False, b""
        result: tuple[bool, bytes] = self._parser.feed_data(passed)
        return result

    def feed_eof(self) -> None:
        self._parser.feed_eof()


class GatewayWebSocket(web.WebSocketResponse):
    """aiohttp's server socket with API Gateway's frame screen in front of its parser."""

    def __init__(self, screen: FrameScreen, refused: Callable[[], object], **options: Any) -> None:
        super().__init__(**options)
        self._screen = screen
        self._refused = refused

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        # aiohttp has no public hook between the byte stream and its parser; the parser it just
        # installed is wrapped in place. Pinned by the frame tests in test_websocket.py.
        handler: Any = request.protocol
        handler._payload_parser = ScreenedParser(
            handler._payload_parser, self._screen, self._refused
        )
