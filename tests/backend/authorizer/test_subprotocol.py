"""The token out of ``Sec-WebSocket-Protocol``: the one offered subprotocol that is not ours."""

from __future__ import annotations

import pytest
from authorizer.errors import TokenRejected
from authorizer.subprotocol import SUBPROTOCOL, offered, token_from_headers
from chat.events import SUBPROTOCOL as CHAT_SUBPROTOCOL


def test_the_chat_selects_the_subprotocol_the_authorizer_skips() -> None:
    """Neither package imports the other: this keeps their one shared word equal."""
    assert SUBPROTOCOL == CHAT_SUBPROTOCOL == "awsome-chat"


def test_offered_splits_the_header_whatever_its_case() -> None:
    """Header names compare case-insensitively; entries are trimmed, empty ones dropped."""
    assert offered({"sec-websocket-protocol": " awsome-chat ,x.y.z,"}) == ["awsome-chat", "x.y.z"]
    assert offered({"Sec-WebSocket-Protocol": "awsome-chat"}) == ["awsome-chat"]
    assert offered({"Origin": "https://chat.example.com"}) == []


def test_the_token_is_the_other_entry() -> None:
    """``awsome-chat, <jwt>`` gives the jwt."""
    assert token_from_headers({"Sec-WebSocket-Protocol": "awsome-chat, a.b.c"}) == "a.b.c"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no_token"),
        ({"Sec-WebSocket-Protocol": "awsome-chat"}, "no_token"),
        ({"Sec-WebSocket-Protocol": "awsome-chat, a.b.c, d.e.f"}, "several_tokens"),
    ],
)
def test_none_or_several_is_refused(headers: dict[str, str], reason: str) -> None:
    """No guessing which of two tokens to check."""
    with pytest.raises(TokenRejected) as raised:
        token_from_headers(headers)
    assert raised.value.reason == reason
