"""The connections table's item codec: a ``Connection`` as the item it is stored as, and
back; a room index entry as a ``RoomMember``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .connections import (
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    MODERATOR_ATTRIBUTE,
    MUTED_UNTIL_ATTRIBUTE,
    NAME_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    ROOM_ATTRIBUTE,
    ROOM_SHARD_ATTRIBUTE,
    SOURCE_ATTRIBUTE,
    TTL_ATTRIBUTE,
    Connection,
    ConnectionId,
    RoomMember,
)
from .items import number_attribute, optional_string_attribute, string_attribute
from .room_shards import room_shard


def connection_item(connection: Connection) -> dict[str, Any]:
    """The item ``connection`` is stored as (what it holds is added by ``chat.seats``)."""
    return {
        CONNECTION_ID_ATTRIBUTE: {"S": connection.connection_id},
        ROOM_ATTRIBUTE: {"S": connection.room},
        ROOM_SHARD_ATTRIBUTE: {"S": room_shard(connection.room, connection.connection_id)},
        NAME_ATTRIBUTE: {"S": connection.name},
        CONNECTED_AT_ATTRIBUTE: {"N": str(connection.connected_at_ms)},
        TTL_ATTRIBUTE: {"N": str(connection.expires_at_s)},
        OWNER_ATTRIBUTE: {"S": connection.owner},
        **moderation_attributes(connection),
    }


def moderation_attributes(connection: Connection) -> dict[str, Any]:
    """What a connection's item holds for moderation, only when set."""
    item: dict[str, Any] = {}
    if connection.moderator:
        item[MODERATOR_ATTRIBUTE] = {"BOOL": True}
    if connection.muted_until_s:
        item[MUTED_UNTIL_ATTRIBUTE] = {"N": str(connection.muted_until_s)}
    if connection.source:
        item[SOURCE_ATTRIBUTE] = {"S": connection.source}
    return item


def page_members(page: dict[str, Any], now_s: int) -> Iterator[RoomMember]:
    """The unexpired room members of a ``Query`` page of the room index."""
    for item in page.get("Items", []):
        if number_value(item, TTL_ATTRIBUTE) > now_s:  # belt and braces over the filter
            yield RoomMember(
                ConnectionId(string_value(item, CONNECTION_ID_ATTRIBUTE)),
                string_value(item, NAME_ATTRIBUTE),
                number_value(item, CONNECTED_AT_ATTRIBUTE),
                optional_string_attribute(item, OWNER_ATTRIBUTE),
            )


def string_value(item: dict[str, Any], name: str) -> str:
    return string_attribute(item, name, "connections")


def number_value(item: dict[str, Any], name: str) -> int:
    return number_attribute(item, name, "connections")


def connection_from_item(item: dict[str, Any]) -> Connection:
    """The ``Connection`` a stored item holds (``StoreError`` for a malformed one)."""
    return Connection(
        connection_id=ConnectionId(string_value(item, CONNECTION_ID_ATTRIBUTE)),
        room=string_value(item, ROOM_ATTRIBUTE),
        name=string_value(item, NAME_ATTRIBUTE),
        connected_at_ms=number_value(item, CONNECTED_AT_ATTRIBUTE),
        expires_at_s=number_value(item, TTL_ATTRIBUTE),
        owner=optional_string_attribute(item, OWNER_ATTRIBUTE),
        moderator=item.get(MODERATOR_ATTRIBUTE, {}).get("BOOL") is True,
        muted_until_s=number_value(item, MUTED_UNTIL_ATTRIBUTE)
        if MUTED_UNTIL_ATTRIBUTE in item
        else 0,
        source=optional_string_attribute(item, SOURCE_ATTRIBUTE),
    )
