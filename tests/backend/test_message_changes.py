"""The messages table's changes on moto: edit, delete, reaction toggles and the changes read."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError as BotoClientError
from chat.errors import ChangeRefused, ErrorCode, MessageNotStored
from chat.ids import encode_ulid
from chat.message_table import DynamoMessageStore
from chat.messages import CHANGES_INDEX, CHANGES_OVERLAP_MS
from chat.reactions import ReactionCaps, Toggle, plan_toggle
from chat.runtime import dynamodb_config
from chat.stored import ChangesCursor, Direction, StoredMessage

from tests.backend.conftest import MESSAGES_TABLE

NOW_S = 1_795_610_096
NOW_MS = NOW_S * 1000
RETENTION_S = 7 * 24 * 3600
CAPS = ReactionCaps(distinct=3, per_person=2, total=4)


def message(n: int, *, owner: str = "alice-owner", sent_ms: int | None = None) -> StoredMessage:
    """The ``n``-th message of the lobby, sent ``n`` ms after a minute ago, owned by ``owner``."""
    sent = sent_ms if sent_ms is not None else NOW_MS - 60_000 + n
    return StoredMessage(
        message_id=encode_ulid(sent, n),
        room="lobby",
        sender="alice",
        text=f"message {n}",
        sent_at_ms=sent,
        expires_at_s=sent // 1000 + RETENTION_S,
        owner=owner,
        changed_at_ms=sent,
    )


@pytest.fixture
def store(dynamodb: Any) -> DynamoMessageStore:
    """The adapter on the moto messages table."""
    return DynamoMessageStore(dynamodb, MESSAGES_TABLE)


def stored(store: DynamoMessageStore, *messages: StoredMessage) -> list[str]:
    """Add ``messages``; their ids."""
    for each in messages:
        store.add(each, None, NOW_S)
    return [each.message_id for each in messages]


def raw(dynamodb: Any, message_id: str) -> dict[str, Any]:
    """The message's item as the table holds it."""
    item: dict[str, Any] = dynamodb.get_item(
        TableName=MESSAGES_TABLE, Key={"room": {"S": "lobby"}, "id": {"S": message_id}}
    )["Item"]
    return item


def refusal(call: Any) -> ErrorCode:
    """The code of the ``ChangeRefused`` ``call`` raises."""
    with pytest.raises(ChangeRefused) as refused:
        call()
    return refused.value.code


def test_the_owner_edits_and_the_state_moves_on(store: DynamoMessageStore) -> None:
    """An edit replaces the text, stamps editedAt and changedAt, and raises rev by one."""
    [mid] = stored(store, message(1))
    edited = store.edit("lobby", mid, "alice-owner", "fixed", NOW_MS)
    assert (edited.text, edited.rev, edited.edited_at_ms, edited.changed_at_ms) == (
        "fixed",
        2,
        NOW_MS,
        NOW_MS,
    )
    assert store.edit("lobby", mid, "alice-owner", "again", NOW_MS + 5).rev == 3


def test_only_the_owner_may_edit_or_delete(store: DynamoMessageStore, dynamodb: Any) -> None:
    """Another owner gets not_yours, and the item is untouched."""
    [mid] = stored(store, message(1))
    before = raw(dynamodb, mid)
    assert refusal(lambda: store.edit("lobby", mid, "mallory", "mine now", NOW_MS)) == (
        ErrorCode.NOT_YOURS
    )
    assert refusal(lambda: store.delete("lobby", mid, "mallory", NOW_MS)) == ErrorCode.NOT_YOURS
    assert raw(dynamodb, mid) == before


def test_a_message_sent_before_owners_existed_is_nobodys(
    store: DynamoMessageStore, dynamodb: Any
) -> None:
    """An item without owner (written before this change) cannot be edited by anyone."""
    [mid] = stored(store, message(1, owner=""))
    assert refusal(lambda: store.edit("lobby", mid, "", "x", NOW_MS)) == ErrorCode.NOT_YOURS
    dynamodb.update_item(
        TableName=MESSAGES_TABLE,
        Key={"room": {"S": "lobby"}, "id": {"S": mid}},
        UpdateExpression="REMOVE #owner, #rev, #changed",
        ExpressionAttributeNames={"#owner": "owner", "#rev": "rev", "#changed": "changedAt"},
    )
    assert refusal(lambda: store.edit("lobby", mid, "", "x", NOW_MS)) == ErrorCode.NOT_YOURS
    [legacy] = store.read(
        "lobby", Direction.LATEST, None, 5, now_s=NOW_S, retention_s=RETENTION_S
    ).messages
    assert (legacy.rev, legacy.changed_at_ms) == (1, legacy.sent_at_ms)


def test_unknown_expired_and_other_rooms_messages_are_not_found(
    store: DynamoMessageStore,
) -> None:
    """No such id, an expired message, and a message of another room: not_found; nothing is
    created by the attempt."""
    [mid] = stored(store, message(1))
    unknown = encode_ulid(NOW_MS, 99)
    assert refusal(lambda: store.edit("lobby", unknown, "alice-owner", "x", NOW_MS)) == (
        ErrorCode.NOT_FOUND
    )
    assert refusal(lambda: store.edit("elsewhere", mid, "alice-owner", "x", NOW_MS)) == (
        ErrorCode.NOT_FOUND
    )
    late = NOW_MS + (RETENTION_S + 10) * 1000
    assert refusal(lambda: store.edit("lobby", mid, "alice-owner", "x", late)) == (
        ErrorCode.NOT_FOUND
    )
    assert refusal(lambda: store.react("lobby", unknown, "r1", "👍", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.NOT_FOUND
    )
    read = store.read("lobby", Direction.LATEST, None, 5, now_s=NOW_S, retention_s=RETENTION_S)
    assert [m.message_id for m in read.messages] == [mid]


def test_delete_removes_text_and_reactions_from_the_item(
    store: DynamoMessageStore, dynamodb: Any
) -> None:
    """The tombstone item holds no text, no reaction attribute; deleting again is idempotent
    (again=True, nothing changes); a tombstone cannot be edited or reacted to."""
    [mid] = stored(store, message(1))
    store.edit("lobby", mid, "alice-owner", "secret", NOW_MS)
    store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)
    store.react("lobby", mid, "r2", "🎉", caps=CAPS, now_ms=NOW_MS)
    deleted = store.delete("lobby", mid, "alice-owner", NOW_MS + 1)
    assert (deleted.again, deleted.message.deleted, deleted.message.text) == (False, True, "")
    assert deleted.message.rev == 5
    item = raw(dynamodb, mid)
    assert set(item) == {
        "room",
        "id",
        "from",
        "sentAt",
        "expiresAt",
        "owner",
        "rev",
        "changedAt",
        "deleted",
        "deletedBy",
    }
    assert "secret" not in repr(item)
    again = store.delete("lobby", mid, "alice-owner", NOW_MS + 2)
    assert again.again is True
    assert again.message == deleted.message
    assert refusal(lambda: store.edit("lobby", mid, "alice-owner", "back", NOW_MS)) == (
        ErrorCode.MESSAGE_DELETED
    )
    assert refusal(lambda: store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.MESSAGE_DELETED
    )


def test_a_reaction_toggles_and_counts(store: DynamoMessageStore, dynamodb: Any) -> None:
    """On, a second person, off again: counts per emoji in first-reacted order, rev +1 each
    time, and the emptied emoji leaves no attribute behind."""
    [mid] = stored(store, message(1))
    first = store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)
    assert first.on is True
    store.react("lobby", mid, "r2", "🎉", caps=CAPS, now_ms=NOW_MS + 1)
    both = store.react("lobby", mid, "r2", "👍", caps=CAPS, now_ms=NOW_MS + 2)
    assert [(r.emoji, sorted(r.reactors)) for r in both.message.reactions] == [
        ("👍", ["r1", "r2"]),
        ("🎉", ["r2"]),
    ]
    assert both.message.rev == 4
    off = store.react("lobby", mid, "r2", "🎉", caps=CAPS, now_ms=NOW_MS + 3)
    assert off.on is False
    assert [r.emoji for r in off.message.reactions] == ["👍"]
    item = raw(dynamodb, mid)
    assert not any("🎉" in name for name in item)
    assert (item["rt"]["N"], item["rd"]["N"]) == ("2", "1")
    off = store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS + 4)
    assert [(r.emoji, sorted(r.reactors)) for r in off.message.reactions] == [("👍", ["r2"])]


def test_reaction_caps_hold(store: DynamoMessageStore) -> None:
    """Per person (2), distinct emoji (3) and in all (4); taking one off always works."""
    [mid] = stored(store, message(1))
    react = store.react
    react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)
    react("lobby", mid, "r1", "🎉", caps=CAPS, now_ms=NOW_MS)
    assert refusal(lambda: react("lobby", mid, "r1", "😂", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.TOO_MANY_REACTIONS
    )
    react("lobby", mid, "r2", "😂", caps=CAPS, now_ms=NOW_MS)
    assert refusal(lambda: react("lobby", mid, "r2", "🚀", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.TOO_MANY_REACTIONS
    )
    react("lobby", mid, "r2", "👍", caps=CAPS, now_ms=NOW_MS)
    assert refusal(lambda: react("lobby", mid, "r3", "👍", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.TOO_MANY_REACTIONS
    )
    assert react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS).on is False
    assert react("lobby", mid, "r3", "👍", caps=CAPS, now_ms=NOW_MS).on is True


def test_plan_toggle_reads_the_item_as_it_is() -> None:
    """The write chosen from a returned item: off when one is among the reactors, the cap's
    refusal when a cap is reached, a new emoji's write when the emoji is not shown yet."""
    base: dict[str, Any] = {"from": {"S": "a"}, "expiresAt": {"N": str(NOW_S + 10)}}
    mine = {**base, "r:👍": {"SS": ["me"]}, "rt": {"N": "1"}, "rd": {"N": "1"}}
    assert plan_toggle(mine, "me", "👍", CAPS, NOW_S) is Toggle.REMOVE_LAST
    shared = {**mine, "r:👍": {"SS": ["me", "you"]}}
    assert plan_toggle(shared, "me", "👍", CAPS, NOW_S) is Toggle.REMOVE_ONE
    assert plan_toggle(mine, "you", "👍", CAPS, NOW_S) is Toggle.ADD_EXISTING
    assert plan_toggle(mine, "you", "🎉", CAPS, NOW_S) is Toggle.ADD_NEW
    full = {**mine, "rd": {"N": "3"}}
    assert plan_toggle(full, "you", "🎉", CAPS, NOW_S) is ErrorCode.TOO_MANY_REACTIONS
    assert plan_toggle(None, "you", "🎉", CAPS, NOW_S) is ErrorCode.NOT_FOUND
    gone = {**base, "deleted": {"BOOL": True}}
    assert plan_toggle(gone, "you", "🎉", CAPS, NOW_S) is ErrorCode.MESSAGE_DELETED


def test_changes_return_each_message_as_it_is_in_change_order(
    store: DynamoMessageStore,
) -> None:
    """Sent, edited and deleted messages since a moment, oldest change first, each once."""
    ids = stored(store, *(message(n) for n in range(1, 5)))
    store.edit("lobby", ids[0], "alice-owner", "fixed", NOW_MS)
    store.delete("lobby", ids[1], "alice-owner", NOW_MS + 1)
    since = NOW_MS - 60_000 + 3  # message 3's changedAt: 3, 4, then the edit and the delete
    read = store.changes("lobby", since, None, 10, now_s=NOW_S, retention_s=RETENTION_S)
    assert [m.message_id for m in read.messages] == [ids[2], ids[3], ids[0], ids[1]]
    assert (read.messages[2].text, read.messages[3].deleted) == ("fixed", True)
    assert read.more is False


def test_changes_page_through_ties_exactly_once(store: DynamoMessageStore) -> None:
    """Many messages sharing one changedAt, read two at a time with the cursor: every message
    once, none lost where a page cuts a tie."""
    same = NOW_MS - 1000
    ids = stored(store, *(message(n, sent_ms=same) for n in range(1, 8)))
    seen: list[str] = []
    cursor: ChangesCursor | None = None
    for _ in range(10):
        read = store.changes("lobby", 0, cursor, 2, now_s=NOW_S, retention_s=RETENTION_S)
        seen += [m.message_id for m in read.messages]
        if not read.more:
            break
        last = read.messages[-1]
        cursor = ChangesCursor(last.changed_at_ms, last.message_id)
    assert seen == sorted(ids)


def test_changes_skip_what_is_past_retention(store: DynamoMessageStore) -> None:
    """A message older than the retention is never returned, whatever ``since`` says."""
    old_ms = (NOW_S - RETENTION_S - 100) * 1000
    old = StoredMessage(
        encode_ulid(old_ms, 1), "lobby", "a", "old", old_ms, NOW_S + 100, changed_at_ms=old_ms
    )
    [fresh] = stored(store, old, message(2))[1:]
    read = store.changes("lobby", 0, None, 10, now_s=NOW_S, retention_s=RETENTION_S)
    assert [m.message_id for m in read.messages] == [fresh]


def test_the_changes_read_is_one_query_of_the_index(dynamodb: Any) -> None:
    """A page is one Query on changes-index (no Scan, no table read)."""
    calls: list[tuple[str, dict[str, Any]]] = []

    class Recording:
        def __getattr__(self, name: str) -> Any:
            method = getattr(dynamodb, name)

            def call(**kwargs: Any) -> Any:
                calls.append((name, kwargs))
                return method(**kwargs)

            return call

    store = DynamoMessageStore(Recording(), MESSAGES_TABLE)
    stored(store, message(1), message(2))
    calls.clear()
    store.changes("lobby", 0, None, 50, now_s=NOW_S, retention_s=RETENTION_S)
    assert [(name, kwargs.get("IndexName")) for name, kwargs in calls] == [("query", CHANGES_INDEX)]


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError"]
)
def test_a_throttled_change_is_not_stored(dynamodb: Any, code: str) -> None:
    """Throttling or a server error on a change is MessageNotStored (retryable), never a
    refusal and never AWS text for the client."""

    class Throttled:
        def __getattr__(self, name: str) -> Any:
            if name == "update_item":

                def refuse(**_: Any) -> Any:
                    raise BotoClientError({"Error": {"Code": code, "Message": "slow"}}, name)

                return refuse
            return getattr(dynamodb, name)

    store = DynamoMessageStore(Throttled(), MESSAGES_TABLE)
    [mid] = stored(store, message(1))
    for change in (
        lambda: store.edit("lobby", mid, "alice-owner", "x", NOW_MS),
        lambda: store.delete("lobby", mid, "alice-owner", NOW_MS),
        lambda: store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS),
    ):
        with pytest.raises(MessageNotStored) as failed:
            change()
        assert failed.value.reason == code


def test_a_delete_whose_cleanup_failed_is_finished_by_the_next(dynamodb: Any) -> None:
    """The tombstone's PutItem throttled: not_stored (text already gone); deleting again
    finishes it, and the item holds no reaction any more."""
    failures = {"put_item": 1}

    class Flaky:
        def __getattr__(self, name: str) -> Any:
            method = getattr(dynamodb, name)
            if failures.get(name, 0) == 0:
                return method

            def fail(**_: Any) -> Any:
                failures[name] -= 1
                raise BotoClientError({"Error": {"Code": "ThrottlingException"}}, name)

            return fail

    store = DynamoMessageStore(Flaky(), MESSAGES_TABLE)
    failures["put_item"] = 0
    [mid] = stored(store, message(1))
    store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)
    failures["put_item"] = 1
    with pytest.raises(MessageNotStored):
        store.delete("lobby", mid, "alice-owner", NOW_MS)
    assert "text" not in raw(dynamodb, mid)
    assert "r:👍" in raw(dynamodb, mid)
    again = store.delete("lobby", mid, "alice-owner", NOW_MS + 1)
    assert again.again is True
    assert not [name for name in raw(dynamodb, mid) if name.startswith(("r:", "o:", "p:"))]


def test_the_overlap_covers_the_longest_write() -> None:
    """CHANGES_OVERLAP_MS exceeds the longest a stamped write can take to land: every attempt
    the client's retry config allows, each at its connect and read timeouts, plus the standard
    mode's backoff (at most 2 ** attempt s, capped at 20 s), with 10 s left for the index."""
    config = dynamodb_config(1)
    attempts = config.retries["max_attempts"]
    per_attempt_s = config.connect_timeout + config.read_timeout
    backoff_s = sum(min(20, 2**n) for n in range(attempts - 1))
    longest_ms = (attempts * per_attempt_s + backoff_s) * 1000
    assert longest_ms + 10_000 <= CHANGES_OVERLAP_MS


def test_a_cap_reached_between_the_plan_and_the_write_is_refused(
    store: DynamoMessageStore, dynamodb: Any
) -> None:
    """Two emoji shown (distinct cap 3); while a toggle is between its plan (add a new emoji)
    and its write, someone else adds the third: the write's condition refuses it and the new
    plan answers too_many_reactions, so the cap holds (moto's own writes are not atomic across
    threads, so the race is staged here rather than left to threads)."""
    [mid] = stored(store, message(1))
    store.react("lobby", mid, "r1", "👍", caps=CAPS, now_ms=NOW_MS)
    store.react("lobby", mid, "r2", "🎉", caps=CAPS, now_ms=NOW_MS + 1)
    writes = {"count": 0}

    class Racing:
        def __getattr__(self, name: str) -> Any:
            method = getattr(dynamodb, name)
            if name != "update_item":
                return method

            def update_item(**request: Any) -> Any:
                writes["count"] += 1
                if writes["count"] == 2:  # the planned write: someone else is quicker
                    store.react("lobby", mid, "r3", "😂", caps=CAPS, now_ms=NOW_MS + 2)
                return method(**request)

            return update_item

    racing = DynamoMessageStore(Racing(), MESSAGES_TABLE)
    assert refusal(lambda: racing.react("lobby", mid, "r4", "🚀", caps=CAPS, now_ms=NOW_MS)) == (
        ErrorCode.TOO_MANY_REACTIONS
    )
    assert writes["count"] == 2  # the guess, then the planned write the condition refused
    read = store.read("lobby", Direction.LATEST, None, 1, now_s=NOW_S, retention_s=RETENTION_S)
    assert [r.emoji for r in read.messages[0].reactions] == ["👍", "🎉", "😂"]
