"""Every client socket's state (connecting -> open -> closed), activity, and the idle and
maximum-duration deadlines. ``SocketRegistry.close()`` reports a connection exactly once, which
is what makes ``$disconnect`` fire exactly once whichever side closes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from local_stack.emulator.core.close_reasons import IDLE_TIMEOUT, MAX_DURATION, CloseReason
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.quotas import IDLE_TIMEOUT_S, MAX_CONNECTION_S
from local_stack.emulator.core.sources import Clock, ConnectionId, IdSource


class SocketState(Enum):
    """Where a connection is in its life."""

    CONNECTING = "connecting"  # $connect is running; @connections answers 410
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class ClientSocket:
    """One client socket as API Gateway sees it."""

    connection_id: ConnectionId
    connected_at: float
    source_ip: str
    user_agent: str | None
    domain_name: str
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    state: SocketState = SocketState.CONNECTING
    last_active_at: float = 0.0
    closed_by: CloseReason | None = None
    authorizer: Mapping[str, Any] | None = None
    """What an authorizer allowed the connection with (``requestContext.authorizer`` of every
    event of it); None when the API has no authorizer."""

    @property
    def connected_at_ms(self) -> int:
        """``requestContext.connectedAt``: fixed at connect, epoch milliseconds."""
        return int(self.connected_at * 1000)


class SocketRegistry:
    """All connections the emulator knows, with their state and deadlines."""

    def __init__(
        self,
        *,
        clock: Clock,
        new_id: IdSource,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_connection_s: float = MAX_CONNECTION_S,
    ) -> None:
        if idle_timeout_s <= 0 or max_connection_s <= 0:
            raise EmulatorConfigError(
                "idle_timeout_s and max_connection_s must be positive numbers of seconds"
            )
        self._clock = clock
        self._new_id = new_id
        self.idle_timeout_s = idle_timeout_s
        self.max_connection_s = max_connection_s
        self._sockets: dict[ConnectionId, ClientSocket] = {}

    def begin(
        self,
        *,
        source_ip: str,
        user_agent: str | None,
        domain_name: str,
        headers: Iterable[tuple[str, str]] = (),
        query: Iterable[tuple[str, str]] = (),
    ) -> ClientSocket:
        """Register a handshake that is waiting for ``$connect``; returns it in CONNECTING."""
        connection_id = ConnectionId(self._new_id())
        while connection_id in self._sockets:  # astronomically unlikely, but cheap
            connection_id = ConnectionId(self._new_id())
        now = self._clock()
        connection = ClientSocket(
            connection_id=connection_id,
            connected_at=now,
            source_ip=source_ip,
            user_agent=user_agent,
            domain_name=domain_name,
            headers=tuple(headers),
            query=tuple(query),
            last_active_at=now,
        )
        self._sockets[connection_id] = connection
        return connection

    def accept(self, connection_id: ConnectionId) -> ClientSocket:
        """``$connect`` said yes and the socket is upgraded: the connection is OPEN."""
        connection = self._sockets[connection_id]
        if connection.state is not SocketState.CONNECTING:
            raise ValueError(f"connection {connection_id} is {connection.state.value}")
        connection.state = SocketState.OPEN
        connection.last_active_at = self._clock()
        return connection

    def refuse(self, connection_id: ConnectionId) -> None:
        """``$connect`` said no: forget the handshake (no ``$disconnect`` for it)."""
        connection = self._sockets.pop(connection_id, None)
        if connection is not None:
            connection.state = SocketState.CLOSED

    def touch(self, connection_id: ConnectionId) -> None:
        """A message went either way: the idle timer (and ``lastActiveAt``) starts over.

        The one place that decides what counts as activity. Both directions count: AWS's quota
        table says only "idle", and published runs show server posts alone keeping a connection
        open until the 2-hour limit (hotsock.io, "Keep Alive": a post every 9.5 minutes, then
        the forced disconnect at two hours). Pings are not messages and do not count.
        """
        connection = self._sockets.get(connection_id)
        if connection is not None and connection.state is SocketState.OPEN:
            connection.last_active_at = self._clock()

    def get(self, connection_id: str) -> ClientSocket | None:
        """The connection with that id in any live state, or None if unknown or closed."""
        return self._sockets.get(ConnectionId(connection_id))

    def open_connection(self, connection_id: str) -> ClientSocket | None:
        """The connection if it is OPEN (what ``@connections`` may talk to), else None."""
        connection = self._sockets.get(ConnectionId(connection_id))
        if connection is None or connection.state is not SocketState.OPEN:
            return None
        return connection

    def open_ids(self) -> list[ConnectionId]:
        """The ids of every OPEN connection."""
        return [c.connection_id for c in self._sockets.values() if c.state is SocketState.OPEN]

    def close(self, connection_id: ConnectionId, why: CloseReason) -> ClientSocket | None:
        """Close a connection; returns it the first time only, and only if it was OPEN.

        Whoever closes first (the client, ``DELETE @connections``, a timeout) records the
        reason; later calls return None, so ``$disconnect`` fires exactly once.
        """
        connection = self._sockets.get(connection_id)
        if connection is None:
            return None
        del self._sockets[connection_id]
        was_open = connection.state is SocketState.OPEN
        connection.state = SocketState.CLOSED
        connection.closed_by = why
        return connection if was_open else None

    def expired(self) -> list[tuple[ConnectionId, CloseReason]]:
        """OPEN connections past the idle timeout or the maximum duration, with the reason."""
        now = self._clock()
        due: list[tuple[ConnectionId, CloseReason]] = []
        for connection in self._sockets.values():
            if connection.state is not SocketState.OPEN:
                continue
            if now - connection.connected_at >= self.max_connection_s:
                due.append((connection.connection_id, MAX_DURATION))
            elif now - connection.last_active_at >= self.idle_timeout_s:
                due.append((connection.connection_id, IDLE_TIMEOUT))
        return due

    def __len__(self) -> int:
        return len(self._sockets)
