"""Mutes, bans and the moderator role on the connections table.

Key design (docs/internals.md, "Moderation"), on items of the connections table that have no
``room`` (so the room index never holds them), each expiring by the table's TTL at the end of
the sanction (``expiresAt``; every check treats an expired item as absent, since TTL deletes
late and moto never does):

- ``ban#{room}#{who}`` and ``mute#{room}#{who}``, where ``who`` is ``n#{name key}`` (always),
  ``u#{user digest}`` (a signed-in member) or ``a#{source digest}`` (a member of an open chat):
  ``sanction_keys``. The first item of a sanction lists the others (``also``), so lifting it by
  name lifts them all.
- ``$connect`` checks them inside its admission transaction (``ConditionCheck``s,
  ``admission_checks``): a ban refuses the connection, a mute stamps ``mutedUntil`` on its item.
- A member's live connections carry ``mutedUntil`` themselves (``target``): a muted sender is
  refused from the item its admission reads anyway, with no read of its own.
- ``moderator`` (BOOL) on a connection's item: set at ``$connect`` from the authorizer's
  context, or by ``moderate`` (``make_moderator``); ``target`` refuses to touch a moderator.

Every DynamoDB call is a direct call on the injected low-level client, as in ``connections``.
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError as BotoClientError

from .connections import (
    CONNECTION_ID_ATTRIBUTE,
    MODERATOR_ATTRIBUTE,
    MUTED_UNTIL_ATTRIBUTE,
    TTL_ATTRIBUTE,
    ConnectionId,
)
from .errors import TargetIsModerator

BAN: Final = "ban"
MUTE: Final = "mute"
ALSO_ATTRIBUTE: Final = "also"
"""The keys of a sanction's other items (SS, on its first item)."""


def sanction_keys(
    kind: str, room: str, *, name_key: str, users: list[str], sources: list[str]
) -> list[str]:
    """The items of a ``kind`` (``BAN``, ``MUTE``) sanction in ``room``: by name key first,
    then by each signed-in user's digest and each source address's digest, once each."""
    keys = [f"{kind}#{room}#n#{name_key}"]
    keys += [f"{kind}#{room}#u#{user}" for user in sorted(set(users)) if user]
    keys += [f"{kind}#{room}#a#{source}" for source in sorted(set(sources)) if source]
    return keys


def admission_checks(table: str, keys: list[str], now_s: int) -> list[dict[str, Any]]:
    """One ``ConditionCheck`` per sanction item: it holds while the item is absent or expired;
    a failed one returns the item (its ``expiresAt`` is the sanction's end)."""
    return [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {CONNECTION_ID_ATTRIBUTE: {"S": key}},
                "ConditionExpression": "attribute_not_exists(#expires) OR #expires <= :now",
                "ExpressionAttributeNames": {"#expires": TTL_ATTRIBUTE},
                "ExpressionAttributeValues": {":now": {"N": str(now_s)}},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for key in keys
    ]


def make_moderator(client: Any, table: str, connection_id: ConnectionId) -> bool:
    """Mark a stored connection a moderator and lift its mute; False if it is not stored."""
    try:
        client.update_item(
            TableName=table,
            Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
            UpdateExpression="SET #moderator = :true REMOVE #muted",
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames={
                "#id": CONNECTION_ID_ATTRIBUTE,
                "#moderator": MODERATOR_ATTRIBUTE,
                "#muted": MUTED_UNTIL_ATTRIBUTE,
            },
            ExpressionAttributeValues={":true": {"BOOL": True}},
        )
    except BotoClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise
        return False
    return True


def target(
    client: Any, table: str, connection_id: ConnectionId, muted_until_s: int | None
) -> dict[str, Any] | None:
    """Set a member's ``mutedUntil`` (0 removes it; ``None`` leaves it as it is) unless the
    connection is a moderator: raise ``TargetIsModerator`` then. Returns the item as it was
    (``None``: not stored any more)."""
    names = {
        "#id": CONNECTION_ID_ATTRIBUTE,
        "#moderator": MODERATOR_ATTRIBUTE,
        "#muted": MUTED_UNTIL_ATTRIBUTE,
    }
    values: dict[str, Any] = {":true": {"BOOL": True}}
    if muted_until_s is None:
        update = "SET #muted = if_not_exists(#muted, :zero)"
        values[":zero"] = {"N": "0"}
    elif muted_until_s == 0:
        update = "REMOVE #muted"
    else:
        update = "SET #muted = :until"
        values[":until"] = {"N": str(muted_until_s)}
    try:
        response = client.update_item(
            TableName=table,
            Key={CONNECTION_ID_ATTRIBUTE: {"S": connection_id}},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(#id) AND NOT #moderator = :true",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except BotoClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise
        old = error.response.get("Item")
        if old and old.get(MODERATOR_ATTRIBUTE, {}).get("BOOL") is True:
            raise TargetIsModerator(connection_id) from None
        return None
    item: dict[str, Any] = response.get("Attributes") or {}
    return item or None


def sanction(
    client: Any, table: str, keys: list[str], until_s: int, record: dict[str, str]
) -> None:
    """Put every item of a sanction (``sanction_keys``), expiring at ``until_s``: one
    ``TransactWriteItems``, so a sanction is whole or absent."""
    items = []
    for index, key in enumerate(keys):
        item: dict[str, Any] = {
            CONNECTION_ID_ATTRIBUTE: {"S": key},
            TTL_ATTRIBUTE: {"N": str(until_s)},
            **{name: {"S": value} for name, value in record.items()},
        }
        if index == 0 and len(keys) > 1:
            item[ALSO_ATTRIBUTE] = {"SS": keys[1:]}
        items.append({"Put": {"TableName": table, "Item": item}})
    client.transact_write_items(TransactItems=items)


def lift(client: Any, table: str, key: str, also: list[str]) -> None:
    """Delete a sanction's first item ``key`` (returning it, for the others it lists), then
    those others and ``also`` in one ``TransactWriteItems``; deleting an absent item is fine."""
    response = client.delete_item(
        TableName=table, Key={CONNECTION_ID_ATTRIBUTE: {"S": key}}, ReturnValues="ALL_OLD"
    )
    old = response.get("Attributes") or {}
    rest = sorted((set(old.get(ALSO_ATTRIBUTE, {}).get("SS", [])) | set(also)) - {key})
    if rest:
        client.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": table, "Key": {CONNECTION_ID_ATTRIBUTE: {"S": other}}}}
                for other in rest
            ]
        )


_CONDITION_FAILED: Final = "ConditionalCheckFailedException"


def _code(error: BotoClientError) -> str:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
