"""The fan-out delivers in parallel and isolates every recipient's failure."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from botocore.credentials import ReadOnlyCredentials
from chat.broadcast import broadcast
from chat.connections import Connection, ConnectionId
from chat.delivery import BroadcastStats, RetryPolicy
from chat.errors import (
    ConnectionGone,
    DeliveryFailed,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from chat.signed_sender import SignedHttpSender

from tests.backend.conftest import Logs
from tests.backend.fakes import MemoryStore, RecordingSender
from tests.backend.management_api_server import ManagementApiServer

PAYLOAD = b'{"type":"message"}'


def ids(*names: str) -> list[ConnectionId]:
    """Connection ids from plain strings."""
    return [ConnectionId(name) for name in names]


def run(
    sender: RecordingSender,
    recipients: list[ConnectionId],
    store: MemoryStore | None = None,
    **kwargs: object,
) -> BroadcastStats:
    """broadcast with no real sleeping and full jitter fixed at its maximum."""
    kwargs.setdefault("concurrency", 4)
    kwargs.setdefault("sleep", lambda _s: None)
    kwargs.setdefault("jitter", lambda: 1.0)
    return broadcast(PAYLOAD, recipients, sender, store or MemoryStore(), **kwargs)  # type: ignore[arg-type]


def test_everyone_receives() -> None:
    """Every recipient gets the payload exactly once."""
    sender = RecordingSender()
    stats = run(sender, ids("a", "b", "c", "d", "e"))
    assert stats == BroadcastStats(delivered=5)
    assert dict(sender.delivered) == {k: [PAYLOAD] for k in "abcde"}


def test_no_recipients() -> None:
    """An empty room sends nothing."""
    sender = RecordingSender()
    assert run(sender, []) == BroadcastStats()
    assert not sender.attempts


def test_lazy_recipients_are_consumed() -> None:
    """Recipients may be a generator (the store's paginated Query)."""
    sender = RecordingSender()
    stats = run(sender, (ConnectionId(f"c{i}") for i in range(10)))  # type: ignore[arg-type]
    assert stats.delivered == 10


def test_gone_recipient_is_pruned_and_the_rest_receive() -> None:
    """410 deletes that recipient's item; everyone else still gets the message."""
    store = MemoryStore()
    for name in "abc":
        store.add(name)
    sender = RecordingSender({"b": [ConnectionGone("b", "410")]})
    stats = run(sender, ids("a", "b", "c"), store)
    assert stats == BroadcastStats(delivered=2, pruned=1)
    assert store.deleted == ["b"]
    assert set(sender.delivered) == {"a", "c"}
    assert sender.attempts["b"] == 1  # a gone connection is not retried


def test_gone_recipient_still_handshaking_is_kept() -> None:
    """A 410 for a connection that connected moments ago (its handshake not finished yet)
    keeps its item: it misses this frame, and is neither pruned nor reported gone."""
    store = MemoryStore()
    store.add("a")
    store.put(Connection(ConnectionId("new"), "lobby", "newcomer", int(time.time() * 1000), 2**31))
    sender = RecordingSender({"new": [ConnectionGone("new", "410")]})
    stats = run(sender, ids("a", "new"), store)
    assert stats == BroadcastStats(delivered=1, failed=1)
    assert store.deleted == []
    assert "new" in store.items


def test_throttled_recipient_is_retried_and_receives() -> None:
    """429 and 5xx are retried; a later success counts as delivered."""
    sender = RecordingSender(
        {"a": [RetryableDeliveryError("a", "429"), RetryableDeliveryError("a", "500")]}
    )
    stats = run(sender, ids("a", "b"))
    assert stats == BroadcastStats(delivered=2, retried=2)
    assert sender.attempts["a"] == 3


def test_retries_are_bounded_with_growing_jittered_backoff() -> None:
    """A recipient that always fails is tried max_attempts times, backing off exponentially."""
    sleeps: list[float] = []
    jitters = iter([0.5, 1.0, 0.25])
    sender = RecordingSender({"a": [RetryableDeliveryError("a", "503")] * 10})
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.1, max_delay_s=0.3)
    stats = run(
        sender,
        ids("a", "b"),
        policy=policy,
        sleep=sleeps.append,
        jitter=lambda: next(jitters),
    )
    assert sender.attempts["a"] == 4
    assert stats == BroadcastStats(delivered=1, retried=3, failed=1)
    # full jitter: jitter * min(cap, base * 2**(attempt-1)) -> 0.5*0.1, 1.0*0.2, 0.25*0.3 (capped)
    assert sleeps == pytest.approx([0.05, 0.2, 0.075])


def test_forbidden_is_a_configuration_error_not_a_prune(logs: Logs) -> None:
    """403 is counted and logged once as a configuration error; the item is kept."""
    store = MemoryStore()
    sender = RecordingSender({n: [DeliveryForbidden(n, "403")] for n in "abc"})
    stats = run(sender, ids("a", "b", "c"), store)
    assert stats == BroadcastStats(failed=3, forbidden=3)
    assert store.deleted == []
    assert all(count == 1 for count in sender.attempts.values())
    errors = [r for r in logs.records if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "configuration error" in errors[0]["message"]
    assert errors[0]["forbidden"] == 3


def test_payload_too_large_is_counted_for_the_caller() -> None:
    """413 is counted so the sender can be told; it is neither retried nor pruned."""
    sender = RecordingSender({"a": [PayloadTooLarge("a", "413")]})
    stats = run(sender, ids("a", "b"))
    assert stats == BroadcastStats(delivered=1, failed=1, too_large=1)
    assert sender.attempts["a"] == 1


def test_unexpected_errors_are_isolated(logs: Logs) -> None:
    """A recipient whose post raises anything at all does not stop the others."""
    sender = RecordingSender(
        {"a": [ValueError("bug")], "b": [DeliveryFailed("b", "400 BadRequestException")]}
    )
    stats = run(sender, ids("a", "b", "c", "d"))
    assert stats == BroadcastStats(delivered=2, failed=2)
    warning = next(r for r in logs.records if r["message"] == "deliveries failed")
    assert warning["errors"] == {"ValueError": 1, "DeliveryFailed": 1}
    assert "bug" not in "".join(logs.lines)  # class names only, never error text


def test_a_failing_prune_does_not_stop_the_broadcast() -> None:
    """If deleting a gone item fails, that recipient counts as failed and the rest receive."""
    store = MemoryStore(fail_delete=True)
    sender = RecordingSender({"a": [ConnectionGone("a", "410")]})
    stats = run(sender, ids("a", "b", "c"), store)
    assert stats == BroadcastStats(delivered=2, failed=1)


def test_parallelism_is_bounded_by_concurrency() -> None:
    """Posts run in parallel, but never more than `concurrency` at once."""
    sender = RecordingSender(delay_s=0.02)
    stats = run(sender, ids(*(f"c{i}" for i in range(24))), concurrency=4)
    assert stats.delivered == 24
    assert 2 <= sender.max_in_flight <= 4


def test_concurrency_one_is_sequential() -> None:
    """With concurrency 1 there is never more than one post in flight."""
    sender = RecordingSender(delay_s=0.005)
    stats = run(sender, ids("a", "b", "c", "d"), concurrency=1)
    assert stats.delivered == 4
    assert sender.max_in_flight == 1


def test_nothing_starts_when_the_invocation_is_out_of_time(logs: Logs) -> None:
    """Below the reserve no post is attempted; the recipients count as failed."""
    sender = RecordingSender()
    stats = run(sender, ids("a", "b", "c"), remaining_ms=lambda: 900)
    assert stats == BroadcastStats(failed=3)
    assert not sender.attempts
    assert any("running out of time" in r["message"] for r in logs.records)


def test_no_backoff_runs_past_the_deadline() -> None:
    """A retry whose backoff would cross the reserve is abandoned instead of slept."""
    sleeps: list[float] = []
    sender = RecordingSender({"a": [RetryableDeliveryError("a", "429")] * 3})
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=1.0, reserve_ms=1000)
    stats = run(sender, ids("a"), policy=policy, remaining_ms=lambda: 1200, sleep=sleeps.append)
    assert sender.attempts["a"] == 1
    assert sleeps == []
    assert stats == BroadcastStats(failed=1)


def test_a_stuck_post_does_not_hold_the_invocation() -> None:
    """The broadcast stops waiting shortly before the deadline; the stuck post counts failed."""
    release = threading.Event()

    class Stuck(RecordingSender):
        def post(self, connection_id: ConnectionId, data: bytes) -> None:
            if connection_id == "stuck":
                release.wait(10)
            super().post(connection_id, data)

    sender = Stuck()
    end = time.monotonic() + 0.6
    policy = RetryPolicy(reserve_ms=100)
    started = time.monotonic()
    try:
        stats = run(
            sender,
            ids("stuck", "a", "b"),
            policy=policy,
            remaining_ms=lambda: int((end - time.monotonic()) * 1000),
        )
    finally:
        release.set()
    assert time.monotonic() - started < 2.0  # the stuck post alone would hold it 10 s
    assert stats == BroadcastStats(delivered=2, failed=1)


def test_the_room_is_read_before_the_first_post_on_a_flight(
    management_api: ManagementApiServer,
) -> None:
    """With the one-thread sender too, nothing is posted before the second recipient has been
    read (the store's Query runs then): the sender's own copy never arrives before its room
    was read."""
    events: list[str] = []
    sender = SignedHttpSender(
        management_api.endpoint,
        lambda: ReadOnlyCredentials("AKID", "secret", None),
        "eu-west-1",
        pool_size=2,
    )

    def recipients() -> Iterator[ConnectionId]:
        yield ConnectionId("me")
        events.append(f"query after {sender.opened} posts started")  # a post opens a link
        yield from ids("a", "b")

    stats = broadcast(PAYLOAD, recipients(), sender, MemoryStore(), concurrency=4)
    assert stats.delivered == 3
    assert events == ["query after 0 posts started"]
