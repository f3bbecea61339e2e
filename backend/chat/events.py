"""Reading an API Gateway WebSocket event ("Setting up a WebSocket API integration request":
the Lambda proxy event of ``$connect``, ``$disconnect`` and message routes) into a typed value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .connections import ConnectionId
from .errors import ConfigurationError, InvalidEvent

CONNECT = "$connect"
DISCONNECT = "$disconnect"
DEFAULT = "$default"
# The chat's WebSocket subprotocol. A page that signs in offers it with its token
# (``Sec-WebSocket-Protocol: awsome-chat, <jwt>``, docs/protocol.md "Signing in"), and a
# browser fails the handshake unless the $connect response selects one of those it offered.
SUBPROTOCOL: Final = "awsome-chat"
SUBPROTOCOL_HEADER: Final = "Sec-WebSocket-Protocol"
# The keys of the authorizer's context that the chat reads (``authorizer.policy`` writes them).
AUTHORIZER_USER_ID: Final = "userId"
AUTHORIZER_NAME: Final = "name"
AUTHORIZER_MODERATOR: Final = "moderator"
"""``"true"`` when the token puts its user in the moderators' group or claim."""


@dataclass(frozen=True, slots=True)
class Request:
    """What the use cases need from one event. Header names are lower-cased."""

    route_key: str
    connection_id: ConnectionId
    domain_name: str | None = None
    stage: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    is_base64: bool = False
    source_ip: str | None = None
    # ``requestContext.authorizer``: what the $connect authorizer vouched for (its string
    # values), on every event of a connection it allowed; empty without an authorizer.
    authorizer: Mapping[str, str] = field(default_factory=dict)

    @property
    def subprotocols(self) -> list[str]:
        """The subprotocols the client offered (``Sec-WebSocket-Protocol``), in order."""
        raw = self.headers.get(SUBPROTOCOL_HEADER.lower(), "")
        return [entry.strip() for entry in raw.split(",") if entry.strip()]

    @property
    def is_message(self) -> bool:
        """Whether a client frame caused this event (so the client can be answered)."""
        return self.route_key not in {CONNECT, DISCONNECT}

    @property
    def origin(self) -> str | None:
        """The ``Origin`` header, if the client sent one (browsers always do)."""
        return self.headers.get("origin")

    def endpoint(self, configured: str | None) -> str:
        """The ``@connections`` base URL: configured, else ``https://{domainName}/{stage}``."""
        if configured:
            return configured
        if not self.domain_name or not self.stage:
            raise ConfigurationError(
                "set CONNECTIONS_ENDPOINT: the event has no domainName/stage to derive it from"
            )
        return f"https://{self.domain_name}/{self.stage}"


def _strings(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}


def parse_event(event: Any) -> Request:
    """Read ``event``; raise ``InvalidEvent`` if it is not an API Gateway WebSocket event."""
    if not isinstance(event, dict):
        raise InvalidEvent("the event is not a JSON object")
    context = event.get("requestContext")
    if not isinstance(context, dict):
        raise InvalidEvent("the event has no requestContext")
    route_key = context.get("routeKey")
    connection_id = context.get("connectionId")
    if not isinstance(route_key, str) or not route_key:
        raise InvalidEvent("the event has no requestContext.routeKey")
    if not isinstance(connection_id, str) or not connection_id:
        raise InvalidEvent("the event has no requestContext.connectionId")
    domain_name = context.get("domainName")
    stage = context.get("stage")
    body = event.get("body")
    return Request(
        route_key=route_key,
        connection_id=ConnectionId(connection_id),
        domain_name=domain_name if isinstance(domain_name, str) else None,
        stage=stage if isinstance(stage, str) else None,
        query=_strings(event.get("queryStringParameters")),
        headers={k.lower(): v for k, v in _strings(event.get("headers")).items()},
        body=body if isinstance(body, str) else None,
        is_base64=event.get("isBase64Encoded") is True,
        source_ip=_source_ip(context),
        authorizer=_strings(context.get("authorizer")),
    )


def _source_ip(context: dict[str, Any]) -> str | None:
    identity = context.get("identity")
    value = identity.get("sourceIp") if isinstance(identity, dict) else None
    return value if isinstance(value, str) and value else None
