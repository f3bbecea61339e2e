"""Where the page puts its token: the ``Sec-WebSocket-Protocol`` request header.

Browsers cannot set headers on a WebSocket; the page opens
``new WebSocket(url, ["awsome-chat", idToken])``, so the header reads
``awsome-chat, <jwt>`` (a JWT's characters are all valid in a subprotocol token). The query
string is never used: URLs end up in access logs, browser history and proxies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .errors import TokenRejected

# The chat's subprotocol: the $connect response selects it (``chat.events.SUBPROTOCOL``; a
# test keeps the two equal, since neither package may import the other).
SUBPROTOCOL: Final = "awsome-chat"
HEADER: Final = "sec-websocket-protocol"


def offered(headers: Mapping[str, str]) -> list[str]:
    """The subprotocols a request offers, in order (header names compare case-insensitively)."""
    values = [value for name, value in headers.items() if name.lower() == HEADER]
    return [entry.strip() for value in values for entry in value.split(",") if entry.strip()]


def token_from_headers(headers: Mapping[str, str]) -> str:
    """The one offered subprotocol that is not ``awsome-chat``: the token.

    Raises ``TokenRejected``: ``no_token`` when there is none, ``several_tokens`` when there
    is more than one (which would leave us guessing which to check).
    """
    tokens = [entry for entry in offered(headers) if entry != SUBPROTOCOL]
    if not tokens:
        raise TokenRejected("no_token")
    if len(tokens) > 1:
        raise TokenRejected("several_tokens")
    return tokens[0]
