"""The messages table adapter on moto: idempotent writes, history reads, retention, failures."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from chat.errors import MessageNotStored
from chat.ids import encode_ulid
from chat.message_table import DynamoMessageStore
from chat.messages import Added, HistoryRead
from chat.stored import Direction, StoredMessage

from tests.backend.conftest import MESSAGES_TABLE

DAY_S = 24 * 3600
RETENTION_S = 7 * DAY_S
NOW_S = 1_795_610_096


def message(n: int, *, room: str = "lobby", sent_s: int = NOW_S - 1000) -> StoredMessage:
    """The ``n``-th message of a room, one millisecond apart, unexpired."""
    sent_ms = sent_s * 1000 + n
    return StoredMessage(
        message_id=encode_ulid(sent_ms, n),
        room=room,
        sender=f"user-{n % 3}",
        text=f"message {n}",
        sent_at_ms=sent_ms,
        expires_at_s=sent_ms // 1000 + RETENTION_S,
        changed_at_ms=sent_ms,
    )


@pytest.fixture
def store(dynamodb: Any) -> DynamoMessageStore:
    """The adapter on the moto messages table."""
    return DynamoMessageStore(dynamodb, MESSAGES_TABLE)


def ids(messages: tuple[StoredMessage, ...]) -> list[str]:
    """The ids of ``messages`` in the order given."""
    return [m.message_id for m in messages]


def read(
    store: DynamoMessageStore, direction: Direction, cursor: str | None, limit: int
) -> HistoryRead:
    """A history read at ``NOW_S`` with the default retention."""
    return store.read("lobby", direction, cursor, limit, now_s=NOW_S, retention_s=RETENTION_S)


def test_add_stores_the_documented_item(store: DynamoMessageStore, dynamodb: Any) -> None:
    """A message item holds room, id, from, text, sentAt, the TTL attribute expiresAt, and its
    state: owner, rev 1 and changedAt (the changes index's range key)."""
    first = message(1)
    assert store.add(first, None, NOW_S).duplicate is False
    item = dynamodb.get_item(
        TableName=MESSAGES_TABLE, Key={"room": {"S": "lobby"}, "id": {"S": first.message_id}}
    )["Item"]
    assert item == {
        "room": {"S": "lobby"},
        "id": {"S": first.message_id},
        "from": {"S": first.sender},
        "text": {"S": "message 1"},
        "sentAt": {"N": str(first.sent_at_ms)},
        "expiresAt": {"N": str(first.expires_at_s)},
        "owner": {"S": ""},
        "rev": {"N": "1"},
        "changedAt": {"N": str(first.sent_at_ms)},
    }


def test_a_client_id_stores_once_and_returns_the_first_message(
    store: DynamoMessageStore, dynamodb: Any
) -> None:
    """The same clientId in the same room stores nothing more and answers the earlier message."""
    first, resend = message(1), message(2)
    assert store.add(first, "c-1", NOW_S) == Added(first)
    again = store.add(resend, "c-1", NOW_S)
    assert again.duplicate is True
    assert again.message == first
    stored = dynamodb.query(
        TableName=MESSAGES_TABLE,
        KeyConditionExpression="room = :r",
        ExpressionAttributeValues={":r": {"S": "lobby"}},
    )["Items"]
    assert [item["id"]["S"] for item in stored] == [first.message_id]


def test_a_client_id_is_per_room(store: DynamoMessageStore) -> None:
    """The same clientId in another room is another message."""
    store.add(message(1), "c-1", NOW_S)
    other = message(2, room="other")
    assert store.add(other, "c-1", NOW_S).duplicate is False


def test_an_expired_claim_no_longer_blocks_its_client_id(store: DynamoMessageStore) -> None:
    """Once a clientId's message is past retention (TTL deletes late), the id is free again."""
    old = message(1, sent_s=NOW_S - RETENTION_S - 10)
    store.add(old, "c-1", NOW_S - RETENTION_S - 10)
    fresh = message(2)
    assert store.add(fresh, "c-1", NOW_S).duplicate is False


def test_newest_page_and_paging_back_and_forward(store: DynamoMessageStore) -> None:
    """Latest is newest-first with ``more``; before/after page exactly around a cursor."""
    stored = [message(n) for n in range(10)]
    for m in stored:
        store.add(m, None, NOW_S)
    all_ids = [m.message_id for m in stored]

    latest = read(store, Direction.LATEST, None, 4)
    assert ids(latest.messages) == all_ids[:5:-1]
    assert latest.more is True

    before = read(store, Direction.BEFORE, all_ids[6], 4)
    assert ids(before.messages) == all_ids[5:1:-1]
    assert before.more is True
    assert read(store, Direction.BEFORE, all_ids[2], 4).more is False

    after = read(store, Direction.AFTER, all_ids[3], 4)
    assert ids(after.messages) == all_ids[4:8]
    assert after.more is True
    tail = read(store, Direction.AFTER, all_ids[7], 4)
    assert ids(tail.messages) == all_ids[8:]
    assert tail.more is False
    assert read(store, Direction.AFTER, all_ids[9], 4) == HistoryRead((), more=False)


def test_exactly_a_page_left_says_no_more(store: DynamoMessageStore) -> None:
    """``more`` is exact: with exactly ``limit`` messages left it is false."""
    for n in range(4):
        store.add(message(n), None, NOW_S)
    page = read(store, Direction.LATEST, None, 4)
    assert len(page.messages) == 4
    assert page.more is False


def test_a_cursor_need_not_be_a_stored_id(store: DynamoMessageStore) -> None:
    """Any ULID works as a cursor: catch-up from a message that has since expired."""
    stored = [message(n) for n in range(3)]
    for m in stored:
        store.add(m, None, NOW_S)
    cursor = encode_ulid(stored[1].sent_at_ms, 0)  # between message 0 and message 1
    assert ids(read(store, Direction.AFTER, cursor, 10).messages) == ids(tuple(stored[1:]))


def test_history_never_crosses_rooms(store: DynamoMessageStore) -> None:
    """A read of one room never returns another room's messages or the clientId claims."""
    store.add(message(1, room="other"), "c-1", NOW_S)
    store.add(message(2), "c-2", NOW_S)
    page = read(store, Direction.LATEST, None, 100)
    assert [m.room for m in page.messages] == ["lobby"]


def test_expired_messages_are_skipped_on_read(store: DynamoMessageStore) -> None:
    """moto's TTL never deletes: messages past retention are skipped by the read itself."""
    expired = [message(n, sent_s=NOW_S - RETENTION_S - 100) for n in range(5)]
    live = [message(n) for n in range(5, 8)]
    for m in (*expired, *live):
        store.add(m, None, NOW_S)
    latest = read(store, Direction.LATEST, None, 10)
    assert ids(latest.messages) == ids(tuple(reversed(live)))
    assert latest.more is False
    assert ids(read(store, Direction.AFTER, expired[0].message_id, 10).messages) == ids(tuple(live))
    assert read(store, Direction.BEFORE, live[0].message_id, 10).messages == ()


def test_an_item_written_with_a_shorter_ttl_is_filtered(store: DynamoMessageStore) -> None:
    """Within the key range, an item whose own expiresAt has passed is still skipped."""
    short = replace(message(1), expires_at_s=NOW_S - 1)
    kept = message(2)
    store.add(short, None, NOW_S)
    store.add(kept, None, NOW_S)
    assert ids(read(store, Direction.LATEST, None, 1).messages) == [kept.message_id]
    assert read(store, Direction.LATEST, None, 1).more is False


def test_read_cost_follows_the_page_not_the_room(store: DynamoMessageStore, dynamodb: Any) -> None:
    """A page of 5 reads 6 items (one look-ahead) whether the room holds 10 or 60 messages."""
    calls: list[dict[str, Any]] = []
    original = dynamodb.query

    def counting(**request: Any) -> Any:
        response = original(**request)
        calls.append(response)
        return response

    dynamodb.query = counting
    for n in range(60):
        store.add(message(n), None, NOW_S)
        if n in {9, 59}:
            calls.clear()
            read(store, Direction.LATEST, None, 5)
            assert [c["ScannedCount"] for c in calls] == [6]


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "InternalServerError"])
def test_a_refused_write_is_not_stored(dynamodb: Any, code: str) -> None:
    """Any DynamoDB error on the write raises MessageNotStored naming the AWS code only."""
    store = DynamoMessageStore(dynamodb, MESSAGES_TABLE)
    with Stubber(dynamodb) as stub:
        stub.add_client_error("transact_write_items", service_error_code=code)
        stub.add_client_error("put_item", service_error_code=code)
        with pytest.raises(MessageNotStored) as caught:
            store.add(message(1), "c-1", NOW_S)
        assert caught.value.reason == code
        with pytest.raises(MessageNotStored):
            store.add(message(2), None, NOW_S)


def test_an_unreachable_table_is_not_stored(dynamodb: Any) -> None:
    """A network failure on the write is MessageNotStored too, never a crash."""

    class Unreachable:
        def transact_write_items(self, **_: Any) -> Any:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    store = DynamoMessageStore(Unreachable(), MESSAGES_TABLE)
    with pytest.raises(MessageNotStored, match="EndpointConnectionError"):
        store.add(message(1), "c-1", NOW_S)
