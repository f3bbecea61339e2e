"""The chat's handler, answering the ``awsome-chat`` subprotocol as the contract of issue #17
has the backend do, and taking the name from the authorizer: a stand-in until the backend's
``AUTH_MODE`` support is merged, for tests that prove the page's sign-in before it. Run with
``code_dir`` = the repository root (it puts ``backend/`` on the path, as the zip's root would).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "backend"))

from chat.handler import handler as chat_handler


def handler(event: dict[str, Any], context: Any) -> Any:
    """Run the chat; on ``$connect`` use the authorizer's name and answer the subprotocol."""
    request = event.get("requestContext") or {}
    authorizer = request.get("authorizer") or {}
    if request.get("routeKey") == "$connect" and authorizer.get("name"):
        query = dict(event.get("queryStringParameters") or {})
        query["name"] = authorizer["name"]
        event = {**event, "queryStringParameters": query}
    answer = chat_handler(event, context)
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if (
        request.get("routeKey") == "$connect"
        and "awsome-chat" in offered
        and isinstance(answer, dict)
    ):
        answer = {
            **answer,
            "headers": {**(answer.get("headers") or {}), "Sec-WebSocket-Protocol": "awsome-chat"},
        }
    return answer
